/**
 * A small stand-in for `ava`, so that test files (test/cuda.test.ts) run inside the device kit's
 * one-file bundle, where there is no node_modules and no ava worker machinery. The kit's bundler
 * (benchmarks/device/bundle.mjs) resolves `import test from 'ava'` to this file.
 *
 * Covered: test / test.serial / .skip / .only / .todo / .failing, before/after(.always) and
 * beforeEach/afterEach hooks, macros' extra arguments, and the assertions pass, fail, assert,
 * truthy, falsy, true, false, is, not, deepEqual, notDeepEqual, like, regex, notRegex, throws,
 * throwsAsync, notThrows, notThrowsAsync, log, plan, timeout, teardown. A failed assertion
 * throws (the test stops there), as in current ava. Tests run one at a time in declaration
 * order, serial ones first (one GPU: no two tests time it at once).
 */
import { isDeepStrictEqual, inspect } from 'util';

type Impl = (t: Assertions, ...args: unknown[]) => unknown;
interface Entry { title: string; fn?: Impl; args: unknown[]; serial: boolean; skip: boolean; only: boolean; todo: boolean; failing: boolean }
interface Hook { fn: Impl; always: boolean }

const entries: Entry[] = [];
const hooks = { before: [] as Hook[], after: [] as Hook[], beforeEach: [] as Hook[], afterEach: [] as Hook[] };

class AssertionFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssertionFailure';
  }
}

const show = (v: unknown) => inspect(v, { depth: 4, breakLength: Infinity, maxStringLength: 400 });

/** What ava's `throws` / `throwsAsync` accept as their expectation. */
interface Expectation {
  code?: unknown;
  message?: string | RegExp | ((m: string) => boolean);
  name?: string;
  instanceOf?: new (...a: never[]) => unknown;
  is?: unknown;
  any?: boolean;
}

/** The `t` of one test. */
export class Assertions {
  readonly logs: string[] = [];
  readonly teardowns: (() => unknown)[] = [];
  assertions = 0;
  planned?: number;
  context: Record<string, unknown> = {};
  constructor(readonly title: string) {}

  private ok(cond: boolean, what: string, message?: string): boolean {
    this.assertions++;
    if (!cond) throw new AssertionFailure(message ? `${message} (${what})` : what);
    return true;
  }

  pass(_message?: string): boolean { return this.ok(true, 'pass'); }
  fail(message?: string): boolean { return this.ok(false, 't.fail()', message); }
  assert(v: unknown, message?: string): boolean { return this.ok(!!v, `t.assert(${show(v)})`, message); }
  truthy(v: unknown, message?: string): boolean { return this.ok(!!v, `expected truthy, got ${show(v)}`, message); }
  falsy(v: unknown, message?: string): boolean { return this.ok(!v, `expected falsy, got ${show(v)}`, message); }
  true(v: unknown, message?: string): boolean { return this.ok(v === true, `expected true, got ${show(v)}`, message); }
  false(v: unknown, message?: string): boolean { return this.ok(v === false, `expected false, got ${show(v)}`, message); }
  is(a: unknown, b: unknown, message?: string): boolean { return this.ok(Object.is(a, b), `expected ${show(b)}, got ${show(a)}`, message); }
  not(a: unknown, b: unknown, message?: string): boolean { return this.ok(!Object.is(a, b), `expected a value other than ${show(b)}`, message); }
  deepEqual(a: unknown, b: unknown, message?: string): boolean { return this.ok(isDeepStrictEqual(a, b), `expected ${show(b)}, got ${show(a)}`, message); }
  notDeepEqual(a: unknown, b: unknown, message?: string): boolean { return this.ok(!isDeepStrictEqual(a, b), `expected a value other than ${show(b)}`, message); }
  like(a: unknown, selector: unknown, message?: string): boolean { return this.ok(likeMatch(a, selector), `${show(a)} is not like ${show(selector)}`, message); }
  regex(s: string, re: RegExp, message?: string): boolean { return this.ok(re.test(s), `${show(s)} does not match ${re}`, message); }
  notRegex(s: string, re: RegExp, message?: string): boolean { return this.ok(!re.test(s), `${show(s)} matches ${re}`, message); }

  throws(fn: () => unknown, exp?: Expectation, message?: string): Error | undefined {
    let err: unknown;
    let threw = false;
    try { fn(); } catch (e) { threw = true; err = e; }
    this.ok(threw, 'function did not throw', message);
    this.checkError(err, exp, message);
    return err as Error;
  }

  async throwsAsync(thrower: Promise<unknown> | (() => Promise<unknown>), exp?: Expectation, message?: string): Promise<Error | undefined> {
    let err: unknown;
    let threw = false;
    try { await (typeof thrower === 'function' ? thrower() : thrower); } catch (e) { threw = true; err = e; }
    this.ok(threw, 'promise did not reject', message);
    this.checkError(err, exp, message);
    return err as Error;
  }

  notThrows(fn: () => unknown, message?: string): void {
    try { fn(); } catch (e) { this.ok(false, `threw ${show(e)}`, message); }
    this.assertions++;
  }

  async notThrowsAsync(p: Promise<unknown> | (() => Promise<unknown>), message?: string): Promise<void> {
    try { await (typeof p === 'function' ? p() : p); } catch (e) { this.ok(false, `rejected with ${show(e)}`, message); }
    this.assertions++;
  }

  log(...values: unknown[]): void { this.logs.push(values.map((v) => (typeof v === 'string' ? v : show(v))).join(' ')); }
  plan(n: number): void { this.planned = n; }
  timeout(_ms: number): void { /* the kit stage's own limit applies */ }
  teardown(fn: () => unknown): void { this.teardowns.push(fn); }

  private checkError(err: unknown, exp: Expectation | undefined, message?: string): void {
    if (!exp || exp.any) return;
    const e = err as { code?: unknown; message?: string; name?: string };
    if ('is' in exp) this.ok(err === exp.is, `thrown value is not the expected one`, message);
    if (exp.instanceOf) this.ok(err instanceof exp.instanceOf, `${show(err)} is not an instance of ${exp.instanceOf.name}`, message);
    if (exp.name !== undefined) this.ok(e?.name === exp.name, `error name ${show(e?.name)}, expected ${show(exp.name)}`, message);
    if (exp.code !== undefined) this.ok(e?.code === exp.code, `error code ${show(e?.code)}, expected ${show(exp.code)} (${e?.message ?? show(err)})`, message);
    const m = exp.message;
    if (m !== undefined) {
      const text = String(e?.message ?? '');
      const hit = typeof m === 'string' ? text === m : m instanceof RegExp ? m.test(text) : m(text);
      this.ok(hit, `error message ${show(text)} does not match ${String(m)}`, message);
    }
  }
}

function likeMatch(a: unknown, sel: unknown): boolean {
  if (sel === null || typeof sel !== 'object') return isDeepStrictEqual(a, sel);
  if (a === null || typeof a !== 'object') return false;
  return Object.entries(sel as Record<string, unknown>).every(([k, v]) => likeMatch((a as Record<string, unknown>)[k], v));
}

function register(opts: Partial<Entry>) {
  return (title: string, fn?: Impl, ...args: unknown[]) => {
    entries.push({ title, fn, args, serial: false, skip: false, only: false, todo: false, failing: false, ...opts });
  };
}

type Register = ReturnType<typeof register>;
type TestFn = Register & {
  serial: Register & { skip: Register; only: Register; failing: Register; todo: (title: string) => void };
  skip: Register; only: Register; failing: Register; todo: (title: string) => void;
  before: HookFn; after: HookFn & { always: HookFn }; beforeEach: HookFn; afterEach: HookFn & { always: HookFn };
  macro: <F>(f: F) => F;
};
type HookFn = (titleOrFn: string | Impl, fn?: Impl) => void;

const hook = (list: Hook[], always = false): HookFn => (a, b) => { list.push({ fn: (typeof a === 'function' ? a : b)!, always }); };

const test = register({}) as TestFn;
test.serial = Object.assign(register({ serial: true }), {
  skip: register({ serial: true, skip: true }),
  only: register({ serial: true, only: true }),
  failing: register({ serial: true, failing: true }),
  todo: (title: string) => register({ serial: true, todo: true })(title),
});
test.skip = register({ skip: true });
test.only = register({ only: true });
test.failing = register({ failing: true });
test.todo = (title: string) => register({ todo: true })(title);
test.before = hook(hooks.before);
test.after = Object.assign(hook(hooks.after), { always: hook(hooks.after, true) });
test.beforeEach = hook(hooks.beforeEach);
test.afterEach = Object.assign(hook(hooks.afterEach), { always: hook(hooks.afterEach, true) });
test.macro = <F>(f: F) => f;

export default test;

/** One test's outcome, as the kit's JSON records it. */
export interface TestOutcome { title: string; status: 'passed' | 'failed' | 'skipped' | 'todo'; ms: number; error?: string; logs?: string[] }

/** Tests registered so far (by the test files required since the last reset). */
export function registeredCount(): number {
  return entries.length;
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms); });
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

const message = (e: unknown) => (e instanceof AssertionFailure ? e.message : e instanceof Error ? `${(e as { code?: string }).code ? `[${(e as { code?: string }).code}] ` : ''}${e.stack ?? e.message}` : show(e));

/**
 * Run what the required test files registered; prints one line per test (✔ / ✘ / -) and a
 * closing "N passed, N failed, N skipped" line. `write` gets every line.
 */
export async function runRegistered(opts: { timeoutMs?: number; write?: (line: string) => void } = {}): Promise<TestOutcome[]> {
  const write = opts.write ?? ((l: string) => process.stdout.write(l + '\n'));
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const anyOnly = entries.some((e) => e.only);
  const ordered = [...entries.filter((e) => e.serial), ...entries.filter((e) => !e.serial)];
  const out: TestOutcome[] = [];
  const runHooks = async (list: Hook[], t: Assertions, onlyAlways = false) => {
    for (const h of list) if (!onlyAlways || h.always) await h.fn(t);
  };
  // A rejection nobody awaited, or an exception thrown from a callback, fails the test running
  // then (ava reports those too) instead of ending the process.
  let stray: string | undefined;
  const onStray = (e: unknown) => { stray ??= `uncaught: ${message(e)}`; };
  process.on('unhandledRejection', onStray);
  process.on('uncaughtException', onStray);
  const shared = new Assertions('hooks');
  let beforeError: string | undefined;
  try {
    await runHooks(hooks.before, shared);
  } catch (e) {
    beforeError = `before hook failed: ${message(e)}`;
  }
  for (const e of ordered) {
    if (e.todo) { out.push({ title: e.title, status: 'todo', ms: 0 }); write(`  - ${e.title} (todo)`); continue; }
    if (e.skip || (anyOnly && !e.only) || !e.fn) { out.push({ title: e.title, status: 'skipped', ms: 0 }); write(`  - ${e.title} (skipped)`); continue; }
    const t = new Assertions(e.title);
    t.context = { ...shared.context };
    const t0 = process.hrtime.bigint();
    let error: string | undefined = beforeError;
    if (!error) {
      try {
        await runHooks(hooks.beforeEach, t);
        await withTimeout(Promise.resolve().then(() => e.fn!(t, ...e.args)), timeoutMs, 'test');
        if (t.planned !== undefined && t.planned !== t.assertions) throw new AssertionFailure(`planned ${t.planned} assertions, got ${t.assertions}`);
        if (t.assertions === 0) throw new AssertionFailure('test finished without running any assertions');
        await runHooks(hooks.afterEach, t);
      } catch (err) {
        error = message(err);
        try { await runHooks(hooks.afterEach, t, true); } catch { /* reported above */ }
      }
      for (const td of t.teardowns.reverse()) {
        try { await td(); } catch (err) { error ??= `teardown failed: ${message(err)}`; }
      }
    }
    if (stray) { error ??= stray; stray = undefined; }
    if (e.failing) error = error ? undefined : 'test was expected to fail (test.failing) but passed';
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const o: TestOutcome = { title: e.title, status: error ? 'failed' : 'passed', ms: Math.round(ms), ...(error ? { error } : {}), ...(t.logs.length ? { logs: t.logs } : {}) };
    out.push(o);
    write(error ? `  ✘ ${e.title} (${o.ms} ms)\n      ${error.split('\n').slice(0, 6).join('\n      ')}` : `  ✔ ${e.title} (${o.ms} ms)`);
    for (const l of t.logs) write(`      ℹ ${l}`);
  }
  try {
    await runHooks(hooks.after, shared, !!beforeError);
  } catch (e) {
    out.push({ title: 'after hooks', status: 'failed', ms: 0, error: message(e) });
    write(`  ✘ after hooks: ${message(e)}`);
  }
  process.off('unhandledRejection', onStray);
  process.off('uncaughtException', onStray);
  const n = (s: TestOutcome['status']) => out.filter((o) => o.status === s).length;
  write(`${n('passed')} passed, ${n('failed')} failed, ${n('skipped') + n('todo')} skipped`);
  return out;
}
