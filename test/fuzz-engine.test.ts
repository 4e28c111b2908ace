/**
 * Standing fuzz suite, the engine boundary (fixed seed here; `npm run fuzz` for the long mode with
 * a random seed): options of every kind (wrong types, NaN, ±Infinity, huge, negative, getters that
 * throw, objects that are not plain) on every engine call, random valid graphs over every op, and
 * tampered descriptors (in a child process with a small memory budget). Asserted: never a crash,
 * only a ZennasError with a documented code, and for valid inputs a finite result or an explicit
 * `degenerate` flag. Plus the regressions of issue 20 §14 (getters, [], partial bnStatistics
 * options, Engine without `new`).
 */
import test, { ExecutionContext } from 'ava';
import fc from 'fast-check';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Engine, ENGINE_PROXIES, resolveZenScoreOptions } from '../src/engine/engine';
import { ENGINE_OPTIONS, OptionSpec } from '../src/engine/options';
import { loadNative } from '../src/engine/native';
import { ZennasError, ZennasErrorCode } from '../src/errors';
import { desc, CONV, BN, RELU, GAP, LINEAR } from './helpers/slot-ops';
import { fuzzRuns, fuzzSeed, LONG } from './fuzz/config';
import { arbGraph, ALL_OPS } from './fuzz/graphs';
import { ENGINE_CODES, settle, violation } from './fuzz/check';

const SEED = fuzzSeed(20_250_314);

/** conv-BN-ReLU ×2 (feature map out) and the same with GAP + LINEAR(8→10) logits out. */
const FEATURES = desc([[CONV, 0, 1, 0, 3, 8, 3, 1], [BN, 1, 1, 0, 8, 8, 0, 0], [RELU, 1, 1, 0, 8, 8, 0, 0], [CONV, 1, 2, 0, 8, 8, 3, 1], [BN, 2, 2, 0, 8, 8, 0, 0], [RELU, 2, 2, 0, 8, 8, 0, 0]], { output: 2 });
const LOGITS = desc([[CONV, 0, 1, 0, 3, 8, 3, 1], [BN, 1, 1, 0, 8, 8, 0, 0], [RELU, 1, 1, 0, 8, 8, 0, 0], [GAP, 1, 2, 0, 8, 8, 0, 0], [LINEAR, 2, 3, 0, 8, 10, 0, 0]], { output: 3 });

let engine: Engine;
test.before(() => { engine = new Engine({ threads: 1 }); });
test.after.always(() => engine?.close());

const boom = (k: string) => Object.defineProperty({}, k, { enumerable: true, get() { throw new Error(`boom ${k}`); } });

async function rejects(t: ExecutionContext, f: () => Promise<unknown>, code: ZennasErrorCode, re: RegExp): Promise<void> {
  const e = await t.throwsAsync(f());
  t.true(e instanceof ZennasError, `${e?.constructor.name}: ${e?.message}`);
  t.is((e as ZennasError).code, code, e!.message);
  t.regex(e!.message, re);
}

// ---------------------------------------------------------------- regressions (issue 20 §14)

test('an option getter that throws is E_OPTION naming it, on every call (read once)', async (t) => {
  await rejects(t, () => engine.zenScore(FEATURES, boom('batchSize') as never), 'E_OPTION', /^zenScore: options\.batchSize must be readable, got reading it threw \(boom batchSize\)/);
  for (const p of Object.keys(ENGINE_PROXIES)) {
    await rejects(t, () => engine.run(p as 'zen', FEATURES, boom('seed') as never), 'E_OPTION', new RegExp(`^${p}: options\\.seed must be readable`));
  }
  await rejects(t, () => engine.run('zen', FEATURES, boom('signal') as never), 'E_OPTION', /options\.signal must be readable/);
  await rejects(t, () => engine.latency(FEATURES, boom('warmup') as never), 'E_OPTION', /^latency: options\.warmup must be readable/);
  await rejects(t, () => engine.bnStatistics(FEATURES, boom('resolution') as never), 'E_OPTION', /^bnStatistics: options\.resolution must be readable/);
  const keys = new Proxy({}, { ownKeys() { throw new Error('no keys'); } });
  await rejects(t, () => engine.zenScore(FEATURES, keys as never), 'E_OPTION', /keys can be listed, got listing them threw \(no keys\)/);
  const e = t.throws(() => new Engine(boom('threads') as never));
  t.true(e instanceof ZennasError && e.code === 'E_OPTION', e?.message);
  t.regex(e!.message, /^Engine: options\.threads must be readable/);
  // Each getter runs once: a value that changes between reads cannot pass the check and then differ.
  let reads = 0;
  const flaky = { get batchSize() { reads++; return reads === 1 ? 2 : 1e9; }, resolution: 4 };
  const r = await engine.zenScore(FEATURES, flaky);
  t.is(reads, 1);
  t.true(Number.isFinite(r.mean));
});

test('zenScore(d, []) and other non-objects are E_OPTION, not the defaults', async (t) => {
  for (const bad of [[], [4], null, 42, 'batchSize', () => ({})]) {
    await rejects(t, () => engine.zenScore(FEATURES, bad as never), 'E_OPTION', /zenScore options must be an object, got (an array|null|42|'batchSize'|function)/);
    await rejects(t, () => engine.run('gradients', FEATURES, bad as never), 'E_OPTION', /options must be an object/);
    await rejects(t, () => engine.latency(FEATURES, bad as never), 'E_OPTION', /options must be an object/);
  }
  t.throws(() => resolveZenScoreOptions([] as never), { message: /zenScore options must be an object/ });
  t.deepEqual(resolveZenScoreOptions(undefined), resolveZenScoreOptions({}));
});

test('bnStatistics takes its options from the option table: batchSize and resolution required, unknown keys refused', async (t) => {
  await rejects(t, () => engine.bnStatistics(FEATURES, undefined as never), 'E_OPTION', /bnStatistics options are required/);
  await rejects(t, () => engine.bnStatistics(FEATURES, {} as never), 'E_OPTION', /bnStatistics option batchSize is required \(images per forward.*an integer in \[1, 4096\]\)/);
  await rejects(t, () => engine.bnStatistics(FEATURES, { batchSize: 4 } as never), 'E_OPTION', /bnStatistics option resolution is required/);
  await rejects(t, () => engine.bnStatistics(FEATURES, { batchSize: 4, resolution: undefined } as never), 'E_OPTION', /resolution is required/);
  await rejects(t, () => engine.bnStatistics(FEATURES, { batchSize: 4, resolution: 8, repeats: 3 } as never), 'E_OPTION', /unknown bnStatistics option 'repeats'; valid: batchSize, resolution, seed, bnEps/);
  await rejects(t, () => engine.bnStatistics(FEATURES, { batchsize: 4, resolution: 8 } as never), 'E_OPTION', /unknown bnStatistics option 'batchsize' \(did you mean 'batchSize'\?\)/);
  await rejects(t, () => engine.bnStatistics(FEATURES, { batchSize: 4, resolution: 8, seed: -1 }), 'E_OPTION', /seed must be an integer/);
  await rejects(t, () => engine.bnStatistics(FEATURES, { batchSize: 4, resolution: 8, bnEps: 0 }), 'E_OPTION', /bnEps must be a number in \(0, 1000000\]/);
  await rejects(t, () => engine.bnStatistics(FEATURES, [] as never), 'E_OPTION', /bnStatistics options must be an object, got an array/);
  // seed and bnEps default from the table (0, 1e-5) — and are used when given.
  const a = await engine.bnStatistics(FEATURES, { batchSize: 4, resolution: 8 });
  const b = await engine.bnStatistics(FEATURES, { batchSize: 4, resolution: 8, seed: 0, bnEps: ENGINE_OPTIONS.bnEps.default });
  const c = await engine.bnStatistics(FEATURES, { batchSize: 4, resolution: 8, seed: 1 });
  t.deepEqual(a, b);
  t.notDeepEqual(a, c);
  t.is(a.length, 2);
});

test('Engine without new is a TypeError (TS and native classes); an engine not made by the constructor is E_BACKEND or a TypeError, never a crash', async (t) => {
  t.throws(() => (Engine as unknown as (o: object) => Engine)({}), { instanceOf: TypeError, message: /new/ });
  const Native = loadNative().Engine as unknown as { (o: object): unknown; prototype: object };
  t.throws(() => Native({}), { instanceOf: TypeError, message: /new/ });
  const fake = Object.create(Engine.prototype) as Engine;
  await rejects(t, () => fake.zenScore(FEATURES, { batchSize: 2, resolution: 4 }), 'E_BACKEND', /not an engine made by new Engine/);
  await rejects(t, () => fake.run('gradients', FEATURES, { batchSize: 2, resolution: 4 }), 'E_BACKEND', /not an engine/);
  await rejects(t, () => fake.latency(FEATURES, { batchSize: 2, resolution: 4 }), 'E_BACKEND', /not an engine/);
  t.is(fake.threads, 0);
  const nativeFake = Object.create(Native.prototype) as { run(...a: unknown[]): unknown; close(): unknown; latency(...a: unknown[]): unknown };
  t.throws(() => nativeFake.run('zen', FEATURES, {}), { instanceOf: TypeError, message: /Illegal invocation/ });
  t.throws(() => nativeFake.latency(FEATURES, {}), { instanceOf: TypeError });
  t.throws(() => nativeFake.close(), { instanceOf: TypeError });
  t.throws(() => new Engine({ thread: 2 } as never), { message: /unknown Engine option 'thread' \(did you mean 'threads'\?\); valid: backend, threads/ });
  t.throws(() => new Engine(null as never), { message: /Engine options must be an object, got null/ });
});

// ---------------------------------------------------------------- options of every kind

type Call = 'zenScore' | 'latency' | 'bnStatistics' | keyof typeof ENGINE_PROXIES;
const CALLS: Call[] = ['zenScore', 'latency', 'bnStatistics', ...(Object.keys(ENGINE_PROXIES) as (keyof typeof ENGINE_PROXIES)[])];
const CALL_KEYS: Record<string, readonly string[]> = {
  zenScore: ENGINE_PROXIES.zen.keys, latency: ['batchSize', 'resolution', 'warmup', 'iterations', 'precision', 'engine'], bnStatistics: ['batchSize', 'resolution', 'seed', 'bnEps'],
  ...Object.fromEntries(Object.entries(ENGINE_PROXIES).map(([k, v]) => [k, k === 'gradients' ? [...v.keys, 'labels'] : v.keys])),
};

/** A valid value for a key, small enough that the call runs in milliseconds. */
function arbValid(key: string): fc.Arbitrary<unknown> {
  const small: Record<string, [number, number]> = { batchSize: [1, 5], resolution: [1, 10], repeats: [1, 3], firstRepeat: [0, 3], numBatches: [2, 3], warmup: [0, 2], iterations: [1, 3] };
  if (small[key]) return fc.integer({ min: small[key]![0], max: small[key]![1] });
  if (key === 'seed') return fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER));
  if (key === 'labels') return fc.array(fc.integer({ min: -1, max: 12 }), { maxLength: 6 }).map((a) => Int32Array.from(a));
  if (key === 'input') return fc.array(fc.float({ noNaN: false }), { maxLength: 40 }).map((a) => Float32Array.from(a));
  const table: Readonly<Record<string, OptionSpec>> = ENGINE_OPTIONS;
  const spec = table[key];
  if (!spec) return fc.constant(undefined);
  switch (spec.kind) {
    case 'int': return fc.integer({ min: spec.min, max: Math.min(spec.max, spec.min + 3) });
    case 'number': return fc.oneof(fc.constantFrom(spec.max, spec.default, spec.minExclusive ? spec.min + Number.EPSILON : spec.min), fc.double({ min: Math.max(spec.min, 1e-9), max: spec.max, noNaN: true }));
    case 'choice': return fc.constantFrom(...spec.values);
    case 'flag': return fc.boolean();
  }
}

/** Wrong values of every kind. */
const arbWrong: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, -1, -0, 0, 0.5, 1.5, 4097, 1e300, 2 ** 53, -(2 ** 31), Number.MIN_VALUE, '4', '', 'paper ', null, true, false, 10n),
  fc.constantFrom('array', 'object', 'function', 'symbol', 'int32', 'float64', 'date').map((k) => {
    switch (k) { case 'array': return [1]; case 'object': return { valueOf: () => 4 }; case 'function': return () => 4; case 'symbol': return Symbol('x'); case 'int32': return new Int32Array(2); case 'float64': return new Float64Array(2); default: return new Date(0); }
  }),
  fc.double(), fc.integer(), fc.string({ maxLength: 4 }),
);

/** Values arbValid produced (the 'clean' half of the calls keeps only these). */
const CLEAN = new Set<unknown>();

/** Options of one call: each key absent, valid, wrong or a throwing getter; sometimes unknown keys or a signal; sometimes not an object at all. */
function arbOptions(call: Call): fc.Arbitrary<unknown> {
  const keys = [...CALL_KEYS[call]!, 'batchSize', 'resolution'];
  const entries = fc.tuple(
    ...[...new Set(keys)].map((k) => fc.oneof(
      { weight: 3, arbitrary: fc.constant({ kind: 'absent' as const }) },
      { weight: 6, arbitrary: arbValid(k).map((v) => { CLEAN.add(v); return { kind: 'value' as const, v }; }) },
      { weight: 2, arbitrary: arbWrong.map((v) => ({ kind: 'value' as const, v })) },
      { weight: 1, arbitrary: fc.constant({ kind: 'getter' as const }) },
    ).map((x) => [k, x] as const)),
  );
  const extra = fc.oneof(
    { weight: 8, arbitrary: fc.constant([] as [string, unknown][]) },
    { weight: 1, arbitrary: fc.constantFrom('batchsize', 'Repeats', 'foo', 'signal', '__proto__', 'constructor').chain((k) => arbWrong.map((v) => [[k, v]] as [string, unknown][])) },
    { weight: 1, arbitrary: fc.constantFrom('none', 'aborted', 'timeout').map((s) => [['signal', s === 'none' ? new AbortController().signal : s === 'aborted' ? AbortSignal.abort() : AbortSignal.timeout(1)]] as [string, unknown][]) },
  );
  const obj = fc.tuple(entries, extra, fc.boolean()).map(([es, ex, clean]) => {
    const o: Record<string, unknown> = {};
    for (const [k, x] of es) {
      if (clean && x.kind !== 'absent' && !(x.kind === 'value' && CLEAN.has(x.v))) continue; // half the calls: valid values only
      if (x.kind === 'value') o[k] = x.v;
      else if (x.kind === 'getter') Object.defineProperty(o, k, { enumerable: true, get() { throw new RangeError(`getter ${k}`); } });
    }
    for (const [k, v] of ex) Object.defineProperty(o, k, { enumerable: true, value: v, writable: true });
    return o;
  });
  return fc.oneof(
    { weight: 12, arbitrary: obj },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, [], 7, 'x', () => ({}), Object.create(null), new Proxy({}, { ownKeys() { throw new Error('trap'); } })) },
  );
}

function invoke(call: Call, d: Int32Array, o: unknown): Promise<unknown> {
  if (call === 'zenScore') return engine.zenScore(d, o as never);
  if (call === 'latency') return engine.latency(d, o as never);
  if (call === 'bnStatistics') return engine.bnStatistics(d, o as never);
  return engine.run(call as 'zen', d, o as never);
}

/** Extra checks of a successful bnStatistics / latency. */
function resultViolation(call: Call, v: unknown): string | null {
  if (call === 'bnStatistics') {
    const stats = v as { op: number; mean: Float64Array; variance: Float64Array }[];
    return stats.every((s) => s.mean.length > 0 && s.mean.every(Number.isFinite) && s.variance.every((x) => Number.isFinite(x) && x >= 0)) ? null : 'bnStatistics not finite';
  }
  if (call === 'latency') {
    const l = v as { meanMs: number; samplesMs: number[] };
    return Number.isFinite(l.meanMs) && l.meanMs >= 0 && l.samplesMs.length > 0 ? null : 'latency not finite';
  }
  return null;
}

test('options of every kind on every call: a ZennasError with a documented code, or a finite / flagged result', async (t) => {
  const seen = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...CALLS).chain((call) => fc.tuple(fc.constant(call), arbOptions(call), fc.boolean())), async ([call, o, logits]) => {
      const out = await settle(() => invoke(call, logits ? LOGITS : FEATURES, o));
      if (out.sync) return t.fail(`${call}: threw synchronously: ${String(out.ok ? '' : out.error)}`) as never;
      const why = violation(out) ?? (out.ok ? resultViolation(call, out.value) : null);
      if (why) throw new Error(`${call}: ${why}`);
      const k = out.ok ? 'ok' : (out.error as ZennasError).code;
      seen.set(k, (seen.get(k) ?? 0) + 1);
    }),
    { seed: SEED, numRuns: fuzzRuns(600) },
  );
  // The generator reaches both sides of the boundary.
  t.true((seen.get('ok') ?? 0) >= fuzzRuns(600) / 20, JSON.stringify([...seen]));
  t.true((seen.get('E_OPTION') ?? 0) >= fuzzRuns(600) / 5, JSON.stringify([...seen]));
  t.log(JSON.stringify(Object.fromEntries(seen)));
});

test('Engine options of every kind: the constructor throws only a ZennasError (E_OPTION / E_BACKEND) or makes an engine', (t) => {
  fc.assert(
    fc.property(fc.oneof(arbOptions('zenScore'), fc.record({ backend: fc.oneof(fc.constantFrom('cpu', 'cuda', 'gpu'), arbWrong), threads: fc.oneof(fc.integer({ min: 1, max: 2 }), arbWrong) }, { requiredKeys: [] })), (o) => {
      try {
        new Engine(o as never).close();
      } catch (e) {
        if (!(e instanceof ZennasError) || !['E_OPTION', 'E_BACKEND'].includes(e.code)) throw e;
      }
    }),
    { seed: SEED, numRuns: fuzzRuns(200) },
  );
  t.pass();
});

// ---------------------------------------------------------------- random valid graphs

/** The options a proxy takes (its table keys decide), small. */
function smallOptions(proxy: keyof typeof ENGINE_PROXIES, base: { batchSize: number; resolution: number; seed: number }): Record<string, unknown> {
  const keys = ENGINE_PROXIES[proxy].keys;
  return { resolution: base.resolution, seed: base.seed, ...(keys.includes('batchSize') ? { batchSize: base.batchSize } : {}), ...(keys.includes('numBatches') ? { numBatches: 2 } : {}) };
}

const VALID_CODES = new Set(['E_OPTION', 'E_STRUCTURE']); // a proxy's own requirement (BN over one value, logits for cross-entropy)

test('random valid graphs over every op: every proxy gives a finite score or flags it degenerate; never E_DESCRIPTOR', async (t) => {
  const ops = new Set<number>();
  let ok = 0, all = 0;
  const proxies = Object.keys(ENGINE_PROXIES) as (keyof typeof ENGINE_PROXIES)[];
  await fc.assert(
    fc.asyncProperty(arbGraph(14), fc.integer({ min: 1, max: 5 }), fc.constantFrom(...proxies), fc.nat(), async (g, batchSize, proxy, seed) => {
      g.ops.forEach((o) => ops.add(o));
      const base = { batchSize, resolution: g.resolution, seed };
      const calls: [string, () => Promise<unknown>][] = [
        ['zenScore', () => engine.zenScore(g.d, { ...base, repeats: 2 })],
        [proxy, () => engine.run(proxy as 'zen', g.d, smallOptions(proxy, base) as never)],
        ['bnStatistics', () => engine.bnStatistics(g.d, base)],
      ];
      for (const [name, f] of calls) {
        const out = await settle(f);
        all++;
        const why = violation(out, VALID_CODES) ?? (out.ok ? resultViolation(name as Call, out.value) : null);
        if (why) throw new Error(`${name} (batch ${batchSize}, ${g.resolution}×${g.resolution}): ${why}`);
        if (out.ok) ok++;
      }
    }),
    { seed: SEED, numRuns: fuzzRuns(150) },
  );
  if (fuzzRuns(150) >= 100) t.deepEqual([...ops].sort((a, b) => a - b), [...ALL_OPS].sort((a, b) => a - b), 'every op was generated');
  t.true(ok >= all / 2, `${ok} of ${all} calls succeeded`);
});

// ---------------------------------------------------------------- tampered descriptors

test('tampered descriptors (word flips, truncations, extensions) through every call: no crash, only documented codes', (t) => {
  const caseFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-fuzz-')), 'case.json');
  const runs = fuzzRuns(400);
  const r = spawnSync(process.execPath, ['--import=tsx', path.join(__dirname, 'fuzz', 'tamper-child.ts'), String(SEED), String(runs)], {
    env: { ...process.env, ZENNAS_MEMORY_LIMIT: '64M', ZENNAS_FUZZ_CASE: caseFile }, encoding: 'utf8', timeout: LONG ? 3_600_000 : 150_000,
  });
  const last = fs.existsSync(caseFile) ? fs.readFileSync(caseFile, 'utf8') : '(none)';
  if (r.status !== 0 || r.signal) t.fail(`the child died (status ${r.status}, signal ${r.signal}) — seed ${SEED}; the case it was running: ${last}\n${r.stderr.slice(-2000)}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
  t.true(out.ok, `${out.message}`);
  t.log(JSON.stringify(out.codes));
  t.true((out.codes?.E_DESCRIPTOR ?? 0) > runs / 5, 'most tampers are caught by the validator');
  t.true(Object.keys(out.codes ?? {}).every((k) => k === 'ok' || ENGINE_CODES.has(k)));
});
