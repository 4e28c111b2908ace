import { ZennasError } from '../errors';

/**
 * Human-readable units for CLI flags: counts (`1M`, `400M`, `1.5e6`, `2G`) and durations
 * (`0.5ms`, `500us`, `1s`). Every failure is a ZennasError('E_OPTION') naming the flag.
 */

const COUNT_SUFFIX: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, B: 1e9, T: 1e12 };
const DURATION_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1e3, sec: 1e3, min: 60e3 };

/** Largest count accepted (params/FLOPs beyond 10^15 are certainly a typo). */
export const MAX_COUNT = 1e15;
/** Largest duration accepted, in ms (one day). */
export const MAX_DURATION_MS = 86_400_000;

const NUMBER = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-zµ]*)$/;

function optionError(flag: string | undefined, message: string): ZennasError {
  return new ZennasError('E_OPTION', flag ? `${flag}: ${message}` : message);
}

/**
 * Parse a non-negative count with an optional SI suffix: `1M` → 1e6, `400M`, `1.5k`, `2G`/`2B`,
 * `1e6`, `1_000_000`. `m` is rejected (milli or mega?) with a hint. The value must be whole: `1.5`
 * or `1.0000005M` is an error, while the float rounding of a suffix product (`1.1M`) is not.
 */
export function parseCount(text: string, flag?: string, opts: { min?: number; max?: number } = {}): number {
  const raw = String(text).trim().replace(/[_,]/g, '');
  const m = NUMBER.exec(raw);
  if (!m) throw optionError(flag, `expected a count such as 1M, 400M, 1.5e6 or 250k, got '${text}'`);
  const suffix = m[2]!;
  const mult = COUNT_SUFFIX[suffix];
  if (mult === undefined) {
    const hint = suffix === 'm' ? " ('m' is ambiguous: use M for millions)" : ' (known suffixes: k, M, G/B, T)';
    throw optionError(flag, `unknown unit '${suffix}' in '${text}'${hint}`);
  }
  const value = Number(m[1]) * mult;
  const min = opts.min ?? 0;
  const max = opts.max ?? MAX_COUNT;
  if (!Number.isFinite(value)) throw optionError(flag, `'${text}' is not a finite number`);
  if (value < 0) throw optionError(flag, `must not be negative, got '${text}'`);
  if (value < min) throw optionError(flag, `must be at least ${formatCount(min)}, got '${text}'`);
  if (value > max) throw optionError(flag, `'${text}' is absurdly large (limit ${formatCount(max)})`);
  // Counts are whole; tolerate only the float rounding of the suffix product (1.1M = 1100000.0000000002).
  const whole = Math.round(value);
  if (Math.abs(value - whole) > 4 * Number.EPSILON * Math.max(1, value)) throw optionError(flag, `must be a whole count, got '${text}' (= ${value})`);
  return whole;
}

/**
 * Parse a positive duration and return milliseconds: `0.5ms` → 0.5, `500us`/`500µs` → 0.5,
 * `1s` → 1000, `2min`. A bare number is taken as milliseconds.
 */
export function parseDuration(text: string, flag?: string, opts: { maxMs?: number } = {}): number {
  const raw = String(text).trim();
  const m = NUMBER.exec(raw);
  if (!m) throw optionError(flag, `expected a duration such as 0.5ms, 500us or 2s, got '${text}'`);
  const unit = m[2]! === '' ? 'ms' : m[2]!;
  const mult = DURATION_MS[unit];
  if (mult === undefined) throw optionError(flag, `unknown unit '${unit}' in '${text}' (known units: ns, us, µs, ms, s, min)`);
  const value = Number(m[1]) * mult;
  const max = opts.maxMs ?? MAX_DURATION_MS;
  if (!Number.isFinite(value)) throw optionError(flag, `'${text}' is not a finite number`);
  if (value <= 0) throw optionError(flag, `must be positive, got '${text}'`);
  if (value > max) throw optionError(flag, `'${text}' is absurdly long (limit ${formatDuration(max)})`);
  return value;
}

/** Short human form of a count: 1234567 → `1.23M`, 950 → `950`. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  // Pick the unit from the value rounded to 3 significant digits: 999,999 is `1M`, not `1000k`.
  const r = Number(n.toPrecision(3));
  const a = Math.abs(r);
  const fmt = (x: number, s: string) => `${Number(x.toPrecision(3))}${s}`;
  if (a >= 1e12) return fmt(n / 1e12, 'T');
  if (a >= 1e9) return fmt(n / 1e9, 'G');
  if (a >= 1e6) return fmt(n / 1e6, 'M');
  if (a >= 1e3) return fmt(n / 1e3, 'k');
  return String(r);
}

/** Short human form of a duration given in ms: 0.5 → `0.5ms`, 1500 → `1.5s`, 0.02 → `20us`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const p = (x: number) => Number(x.toPrecision(3));
  // Pick the unit from the rounded value: 59,999 ms is `1min`, not `60s`; 0.9999 ms is `1ms`.
  const r = p(ms);
  if (r >= 60e3) return `${p(ms / 60e3)}min`;
  if (r >= 1e3) return `${p(ms / 1e3)}s`;
  if (r >= 1) return `${p(ms)}ms`;
  return `${p(ms * 1e3)}us`;
}
