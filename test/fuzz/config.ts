/**
 * Seeds and sizes of the standing fuzz suites. In CI (and a plain `npx ava`) every suite uses its
 * fixed seed and default run count; `npm run fuzz` (scripts/fuzz.mjs) sets ZENNAS_FUZZ_SEED (random,
 * printed) and ZENNAS_FUZZ_RUNS (a larger count), and a failure is rerun with the printed seed.
 */

/** The suite's seed: ZENNAS_FUZZ_SEED when set, else `fixed`. */
export function fuzzSeed(fixed: number): number {
  const v = process.env.ZENNAS_FUZZ_SEED;
  if (v === undefined || v === '') return fixed;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`ZENNAS_FUZZ_SEED must be an integer, got '${v}'`);
  return n | 0; // fast-check seeds are 32-bit
}

/** A property's run count: `n` × (ZENNAS_FUZZ_RUNS / 100) when set (100 = the CI size), else `n`. */
export function fuzzRuns(n: number): number {
  const v = process.env.ZENNAS_FUZZ_RUNS;
  if (v === undefined || v === '') return n;
  const k = Number(v);
  if (!Number.isFinite(k) || k <= 0) throw new Error(`ZENNAS_FUZZ_RUNS must be a positive number, got '${v}'`);
  return Math.max(1, Math.round((n * k) / 100));
}

/** True in the long mode (npm run fuzz). */
export const LONG = process.env.ZENNAS_FUZZ_RUNS !== undefined && process.env.ZENNAS_FUZZ_RUNS !== '';
