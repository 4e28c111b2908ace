/**
 * Rank correlations as the zero-shot NAS papers report them (scipy.stats definitions):
 * Kendall's τ-b (scipy.stats.kendalltau's default, ties in either variable corrected; O(n log n)
 * by Knight's merge-sort count) and Spearman's ρ (Pearson correlation of average ranks,
 * scipy.stats.spearmanr), with percentile bootstrap intervals over resampled rows.
 */
import { ZennasError } from '../errors';
import { Sfc32 } from '../rng/sfc32';
import { quantile } from '../util/stats';

function check(x: readonly number[], y: readonly number[]): void {
  if (x.length !== y.length) throw new ZennasError('E_OPTION', `rank correlation needs paired values, got ${x.length} and ${y.length}`);
  if (x.length < 2) throw new ZennasError('E_OPTION', `rank correlation needs at least 2 pairs, got ${x.length}`);
  for (const v of [...x, ...y]) if (!Number.isFinite(v)) throw new ZennasError('E_OPTION', `rank correlation needs finite values, got ${v}`);
}

/** Rounding can put a perfect correlation a few ulps outside [−1, 1]. */
function clamp1(v: number): number {
  return Math.max(-1, Math.min(1, v));
}

/** Pairs tied within runs of equal values: Σ t(t−1)/2 over runs of a sorted array. */
function tiedPairs(sorted: ArrayLike<number>): number {
  let s = 0, run = 1;
  for (let i = 1; i <= sorted.length; i++) {
    if (i < sorted.length && sorted[i] === sorted[i - 1]) run++;
    else { s += (run * (run - 1)) / 2; run = 1; }
  }
  return s;
}

/**
 * Kendall's τ-b = (n_c − n_d) / √((n0 − n_x)(n0 − n_y)); NaN when one variable is constant (as
 * scipy). Sort by (x, y), count x-ties and joint ties, then count discordant pairs as the swaps of
 * a stable merge sort of y.
 */
export function kendallTau(x: readonly number[], y: readonly number[]): number {
  check(x, y);
  const n = x.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a]! - x[b]! || y[a]! - y[b]!);
  const xs = idx.map((i) => x[i]!);
  let ys = Float64Array.from(idx, (i) => y[i]!);
  const n0 = (n * (n - 1)) / 2;
  const xtie = tiedPairs(xs);
  let ntie = 0, run = 1;
  for (let i = 1; i <= n; i++) {
    if (i < n && xs[i] === xs[i - 1] && ys[i] === ys[i - 1]) run++;
    else { ntie += (run * (run - 1)) / 2; run = 1; }
  }
  // Bottom-up merge sort of ys counting swaps (pairs i < j with ys[i] > ys[j]).
  let dis = 0;
  let buf = new Float64Array(n);
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n), hi = Math.min(lo + 2 * width, n);
      let i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        if (ys[j]! < ys[i]!) { dis += mid - i; buf[k++] = ys[j++]!; }
        else buf[k++] = ys[i++]!;
      }
      while (i < mid) buf[k++] = ys[i++]!;
      while (j < hi) buf[k++] = ys[j++]!;
    }
    [ys, buf] = [buf, ys];
  }
  const ytie = tiedPairs(ys);
  const denom = Math.sqrt(n0 - xtie) * Math.sqrt(n0 - ytie);
  if (denom === 0) return NaN;
  return clamp1((n0 - xtie - ytie + ntie - 2 * dis) / denom);
}

/** Average ranks (1-based, ties get the mean of their positions: scipy.stats.rankdata 'average'). */
export function averageRanks(v: readonly number[]): number[] {
  const idx = Array.from({ length: v.length }, (_, i) => i).sort((a, b) => v[a]! - v[b]!);
  const r = new Array<number>(v.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && v[idx[j + 1]!] === v[idx[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k]!] = avg;
    i = j + 1;
  }
  return r;
}

/** Pearson correlation (NaN for a constant variable). */
export function pearson(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n, my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx, dy = y[i]! - my;
    sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? NaN : clamp1(sxy / Math.sqrt(sxx * syy));
}

/** Spearman's ρ: Pearson correlation of the average ranks. */
export function spearmanRho(x: readonly number[], y: readonly number[]): number {
  check(x, y);
  return pearson(averageRanks(x), averageRanks(y));
}

/** A statistic with its percentile bootstrap interval. */
export interface BootstrapEstimate {
  value: number;
  /** Lower and upper bounds of the central `level` interval of the bootstrap distribution. */
  low: number;
  high: number;
  level: number;
  /** Resamples used (those where the statistic was defined). */
  resamples: number;
}

/** Options of `bootstrapCorrelation`. */
export interface BootstrapOptions {
  /** Resamples (default 1000). */
  resamples?: number;
  /** Central interval (default 0.95). */
  level?: number;
  /** sfc32 seed of the resampling (default 0). */
  seed?: number;
}

/**
 * A correlation statistic on (x, y) with a percentile bootstrap interval: `resamples` draws of n
 * rows with replacement (sfc32, seeded), the statistic on each (undefined resamples — a constant
 * variable — are dropped), and the (1 − level)/2 and (1 + level)/2 quantiles (numpy's linear).
 */
export function bootstrapCorrelation(stat: (x: readonly number[], y: readonly number[]) => number, x: readonly number[], y: readonly number[], o: BootstrapOptions = {}): BootstrapEstimate {
  check(x, y);
  const B = o.resamples ?? 1000, level = o.level ?? 0.95;
  if (!Number.isInteger(B) || B < 1 || B > 1e6) throw new ZennasError('E_OPTION', `resamples must be an integer in 1..1000000, got ${B}`);
  if (!(level > 0 && level < 1)) throw new ZennasError('E_OPTION', `level must be in (0, 1), got ${level}`);
  const rng = new Sfc32(o.seed ?? 0);
  const n = x.length;
  const values: number[] = [];
  const bx = new Array<number>(n), by = new Array<number>(n);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < n; i++) {
      const j = rng.int(n);
      bx[i] = x[j]!; by[i] = y[j]!;
    }
    const v = stat(bx, by);
    if (Number.isFinite(v)) values.push(v);
  }
  const value = stat(x, y);
  if (values.length === 0) return { value, low: NaN, high: NaN, level, resamples: 0 };
  return { value, low: quantile(values, (1 - level) / 2), high: quantile(values, (1 + level) / 2), level, resamples: values.length };
}
