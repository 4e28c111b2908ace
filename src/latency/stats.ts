/** Summary statistics of latency samples, defined as the native backends define them. */

/** Per mini-batch milliseconds over the timed iterations. */
export interface LatencySummary {
  meanMs: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  imagesPerSecond: number;
  samplesMs: number[];
}

/** Quantile with linear interpolation between closest ranks (numpy's default), q in [0, 1]. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError('quantile of no values');
  const s = [...values].sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos), hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** mean / median / p90 / min of per mini-batch samples and the images/s the mean implies. */
export function latencyStats(samplesMs: readonly number[], batchSize: number): LatencySummary {
  const meanMs = samplesMs.reduce((a, b) => a + b, 0) / samplesMs.length;
  return {
    meanMs,
    medianMs: quantile(samplesMs, 0.5),
    p90Ms: quantile(samplesMs, 0.9),
    minMs: samplesMs.reduce((a, b) => Math.min(a, b), Infinity), // no spread: 100k samples overflow the stack
    imagesPerSecond: meanMs > 0 ? (1000 * batchSize) / meanMs : 0,
    samplesMs: [...samplesMs],
  };
}
