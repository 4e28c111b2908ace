/**
 * A small schema checker for data the tool did not build itself (checkpoints, manifests, option
 * objects handed to the library): each check returns a validated plain copy, reading every field
 * once (a getter that throws or a Proxy becomes an error naming the field, and a getter cannot
 * hand out a different value on a later read), and rejects anything else with the field's path.
 *
 *   const point = object({ x: int(0, 10), y: optional(num()) });
 *   parse(point, JSON.parse(text), 'E_CHECKPOINT', 'checkpoint.json: ');
 *   // E_CHECKPOINT "checkpoint.json: x must be an integer in 0..10, got -5"
 */
import { ZennasError, ZennasErrorCode } from '../errors';
import { keyedError, opt } from './keyed-error';

/** A failed check: where (a dotted path) and what was expected. */
export class SchemaError extends Error {
  constructor(readonly path: string, readonly expected: string, readonly got: string) {
    super(`${path || 'the value'} must be ${expected}, got ${got}`);
    this.name = 'SchemaError';
  }
}

/** A check: the validated copy of `v`, or a SchemaError naming `path`. */
export type Check<T> = (v: unknown, path: string) => T;

/** A value as a message shows it. */
export function show(v: unknown): string {
  if (typeof v === 'string') return v.length > 40 ? `'${v.slice(0, 40)}…' (${v.length} characters)` : `'${v}'`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}

const fail = (path: string, expected: string, v: unknown): never => {
  throw new SchemaError(path, expected, show(v));
};
const at = (path: string, key: string | number) => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key);

/** An integer in [min, max]. */
export function int(min: number, max: number): Check<number> {
  return (v, p) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : fail(p, `an integer in ${min}..${max}`, v));
}

/** A finite number in [min, max] (default: any finite number). */
export function num(min = -Number.MAX_VALUE, max = Number.MAX_VALUE): Check<number> {
  const range = max === Number.MAX_VALUE ? (min === -Number.MAX_VALUE ? 'a finite number' : `a finite number ≥ ${min}`) : `a finite number in [${min}, ${max}]`;
  return (v, p) => (typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? v : fail(p, range, v));
}

/** A string of at most maxLength characters, matching `pattern` when given. */
export function str(maxLength: number, pattern?: RegExp, describe?: string): Check<string> {
  return (v, p) => {
    if (typeof v !== 'string' || v.length > maxLength) return fail(p, describe ?? `a string of at most ${maxLength} characters`, v);
    if (pattern && !pattern.test(v)) return fail(p, describe ?? `a string matching ${pattern}`, v);
    return v;
  };
}

/** true or false. */
export const bool: Check<boolean> = (v, p) => (typeof v === 'boolean' ? v : fail(p, 'true or false', v));

/** One of the given constants. */
export function literal<T extends string | number | boolean | null>(...values: T[]): Check<T> {
  return (v, p) => (values.includes(v as T) ? (v as T) : fail(p, values.length === 1 ? show(values[0]) : `one of ${values.map(show).join(', ')}`, v));
}

/** null, or what `check` accepts. */
export function nullable<T>(check: Check<T>): Check<T | null> {
  return (v, p) => (v === null ? null : check(v, p));
}

/** The first of `checks` that accepts the value; the error lists what each expects. */
export function oneOf<T>(...checks: Check<T>[]): Check<T> {
  return (v, p) => {
    const expected: string[] = [];
    for (const c of checks) {
      try {
        return c(v, p);
      } catch (e) {
        if (!(e instanceof SchemaError)) throw e;
        expected.push(e.expected);
      }
    }
    return fail(p, expected.join(' or '), v);
  };
}

/** Read one property, turning a throwing getter (or Proxy trap) into a SchemaError. */
function read(o: object, k: string, p: string): unknown {
  try {
    return (o as Record<string, unknown>)[k];
  } catch (e) {
    throw new SchemaError(p, 'readable', `reading it threw (${e instanceof Error ? e.message : String(e)})`);
  }
}

function keysOf(o: object, p: string): string[] {
  try {
    return Object.keys(o);
  } catch (e) {
    throw new SchemaError(p, 'an object whose keys can be listed', `listing them threw (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** An array of at most maxLength items, each checked (copied). */
export function array<T>(item: Check<T>, maxLength: number, minLength = 0): Check<T[]> {
  return (v, p) => {
    if (!Array.isArray(v)) return fail(p, 'an array', v);
    const n = v.length;
    if (n > maxLength || n < minLength) {
      return fail(p, minLength === maxLength ? `an array of exactly ${maxLength} items` : minLength > 0 ? `an array of ${minLength}..${maxLength} items` : `an array of at most ${maxLength} items`, v);
    }
    const out: T[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = item(read(v, String(i), at(p, i)), at(p, i));
    return out;
  };
}

/** A function. */
export const func: Check<(...args: never[]) => unknown> = (v, p) => (typeof v === 'function' ? (v as (...args: never[]) => unknown) : fail(p, 'a function', v));

/** Any object (not null, not an array), kept as it is (not copied): for objects with behaviour. */
export function instance<T extends object>(describe: string, ok: (o: object) => boolean = () => true): Check<T> {
  return (v, p) => (typeof v === 'object' && v !== null && !Array.isArray(v) && ok(v) ? (v as T) : fail(p, describe, v));
}

/** Marks an optional field of `object` (absent or undefined: left out of the copy). */
export interface Optional<T> {
  readonly optional: Check<T>;
}
export function optional<T>(check: Check<T>): Optional<T> {
  return { optional: check };
}

type Shape = Record<string, Check<unknown> | Optional<unknown>>;
type Out<S extends Shape> = { [K in keyof S as S[K] extends Optional<unknown> ? never : K]: S[K] extends Check<infer T> ? T : never } & {
  [K in keyof S as S[K] extends Optional<unknown> ? K : never]?: S[K] extends Optional<infer T> ? T : never;
};

/** A non-array object with exactly the fields of `shape` (unknown fields are errors unless `extra`). */
export function object<S extends Shape>(shape: S, opts: { extra?: boolean } = {}): Check<Out<S>> {
  return (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(p, 'an object', v);
    const out: Record<string, unknown> = {};
    for (const [k, c] of Object.entries(shape)) {
      const x = read(v, k, at(p, k));
      if (typeof c === 'function') out[k] = c(x, at(p, k));
      else if (x !== undefined) out[k] = c.optional(x, at(p, k));
    }
    if (!opts.extra) {
      for (const k of keysOf(v, p)) if (!Object.prototype.hasOwnProperty.call(shape, k)) throw new SchemaError(at(p, k), 'absent (not a known field)', show(read(v, k, at(p, k))));
    }
    return out as Out<S>;
  };
}

/** An object of at most maxKeys fields, each value checked. */
export function record<T>(value: Check<T>, maxKeys: number, key: Check<string> = str(100)): Check<Record<string, T>> {
  return (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(p, 'an object', v);
    const keys = keysOf(v, p);
    if (keys.length > maxKeys) return fail(p, `an object of at most ${maxKeys} fields`, `${keys.length} fields`);
    const out: Record<string, T> = {};
    for (const k of keys) {
      const x = read(v, k, at(p, k));
      if (x !== undefined) out[key(k, at(p, k))] = value(x, at(p, k)); // as JSON would store it
    }
    return out;
  };
}

/**
 * Run `check` on `v`; a SchemaError becomes a ZennasError(`code`) "`prefix`path must be …", or
 * with `keyed` a KeyedError whose path is an option key (front ends rename it, e.g. to a flag).
 */
export function parse<T>(check: Check<T>, v: unknown, code: ZennasErrorCode, opts: { prefix?: string; path?: string; keyed?: boolean } = {}): T {
  try {
    return check(v, opts.path ?? '');
  } catch (e) {
    if (!(e instanceof SchemaError)) throw e;
    if (opts.keyed && e.path) throw keyedError(code)`${opts.prefix ?? ''}${opt(e.path)} must be ${e.expected}, got ${e.got}`;
    throw new ZennasError(code, `${opts.prefix ?? ''}${e.message}`);
  }
}
