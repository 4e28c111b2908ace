/**
 * Summary statistics shared by the library (one definition; the CLI and the search use these).
 * They match the native engine's: population std (divide by n), ci95 = 1.96·std/√n, and
 * quantiles with linear interpolation between closest ranks (numpy's default).
 */

/** Mean, population standard deviation and 95% half-interval (1.96·std/√n) of repeated scores. */
export function summarizeScores(scores: readonly number[]): { mean: number; std: number; ci95: number } {
  const n = scores.length;
  const mean = scores.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  return { mean, std, ci95: (1.96 * std) / Math.sqrt(n) };
}

/**
 * Quantile of values already sorted ascending, q in [0, 1]: linear interpolation between
 * closest ranks (numpy's default), as src/latency/stats.ts and the native backends define it.
 */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of no values');
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos), hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * Quantile with linear interpolation between closest ranks (numpy's default), q in [0, 1].
 * Sorts a copy first, so sorted and unsorted input give the same answer (exactly the
 * definition of src/latency/stats.ts `quantile`).
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError('quantile of no values');
  return quantileSorted([...values].sort((a, b) => a - b), q);
}
