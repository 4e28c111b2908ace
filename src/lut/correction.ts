/**
 * A learned correction of the LUT estimate (issue #15 item 5; Zen-NAS §4.4 uses a learned latency
 * predictor): ridge regression of the measured whole-net latency on a block encoding of the net —
 * per stage its depth and the Σ of its LUT entries, its SE and 5×5 counts — plus the estimate.
 * Standardised features, intercept unpenalised, λ chosen by k-fold cross-validation on the
 * training nets only; the normal equations are solved by Cholesky (float64, no library).
 */
import { ZennasError } from '../errors';
import { estimateLatency, LutIndex } from './estimate';
import { LutChoices } from './types';

/**
 * The block encoding of a net: [estimate, then per stage: Σ entries, depth, #SE, #5×5, Σ expansion].
 * `configs` names are read for SE ('se'), kernel ('k5') and expansion ('e<n>').
 */
export function blockFeatures(ix: LutIndex, c: LutChoices): number[] {
  const e = estimateLatency(ix, c);
  const names = ix.lut.meta.configs;
  const out = [e.ms];
  c.configs.forEach((cs, s) => {
    const n = cs.map((k) => names[k]!);
    out.push(e.stagesMs[s]!, cs.length, n.filter((x) => /se/.test(x)).length, n.filter((x) => /k5/.test(x)).length,
      n.reduce((a, x) => a + Number(/e(\d+)/.exec(x)?.[1] ?? 0), 0));
  });
  return out;
}

/** A fitted ridge model on standardised features. */
export interface LatencyCorrection {
  kind: 'ridge';
  lambda: number;
  mean: number[];
  scale: number[];
  weights: number[];
  intercept: number;
}

/** Solve (A) x = b for symmetric positive definite A by Cholesky. */
function cholSolve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const L = A.map(() => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i]![j]!;
      for (let k = 0; k < j; k++) s -= L[i]![k]! * L[j]![k]!;
      if (i === j) {
        if (!(s > 0)) throw new ZennasError('E_INTERNAL', 'ridge: the normal equations are not positive definite');
        L[i]![i] = Math.sqrt(s);
      } else {
        L[i]![j] = s / L[j]![j]!;
      }
    }
  }
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i]![k]! * y[k]!;
    y[i] = s / L[i]![i]!;
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= L[k]![i]! * x[k]!;
    x[i] = s / L[i]![i]!;
  }
  return x;
}

/** Ridge regression y ≈ w·(x − mean)/scale + intercept with penalty λ‖w‖². */
export function fitRidge(X: readonly number[][], y: readonly number[], lambda: number): LatencyCorrection {
  const n = X.length;
  if (n === 0 || y.length !== n) throw new ZennasError('E_OPTION', 'ridge: need as many targets as feature rows, at least one');
  const d = X[0]!.length;
  const mean = Array.from({ length: d }, (_, j) => X.reduce((a, r) => a + r[j]!, 0) / n);
  const scale = Array.from({ length: d }, (_, j) => Math.sqrt(X.reduce((a, r) => a + (r[j]! - mean[j]!) ** 2, 0) / n) || 1);
  const Z = X.map((r) => r.map((v, j) => (v - mean[j]!) / scale[j]!));
  const ym = y.reduce((a, b) => a + b, 0) / n;
  const A = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => Z.reduce((a, r) => a + r[i]! * r[j]!, 0) + (i === j ? lambda : 0)));
  const b = Array.from({ length: d }, (_, i) => Z.reduce((a, r, k) => a + r[i]! * (y[k]! - ym), 0));
  return { kind: 'ridge', lambda, mean, scale, weights: cholSolve(A, b), intercept: ym };
}

/** The corrected latency of one feature row. */
export function predictLatency(m: LatencyCorrection, x: readonly number[]): number {
  return m.intercept + x.reduce((a, v, j) => a + m.weights[j]! * ((v - m.mean[j]!) / m.scale[j]!), 0);
}

/**
 * Fit with λ chosen by k-fold cross-validation (mean squared relative error) over `lambdas`, on
 * the given rows only (the caller keeps its held-out nets out of them).
 */
export function fitRidgeCv(X: readonly number[][], y: readonly number[], o: { lambdas?: number[]; folds?: number } = {}): LatencyCorrection & { cvError: number } {
  const lambdas = o.lambdas ?? [1e-4, 1e-3, 1e-2, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100];
  const k = Math.min(o.folds ?? 5, X.length);
  let best = { lambda: lambdas[0]!, err: Infinity };
  for (const lambda of lambdas) {
    let err = 0;
    for (let f = 0; f < k; f++) {
      const tr = X.map((_, i) => i).filter((i) => i % k !== f);
      const te = X.map((_, i) => i).filter((i) => i % k === f);
      if (tr.length === 0 || te.length === 0) continue;
      const m = fitRidge(tr.map((i) => X[i]!), tr.map((i) => y[i]!), lambda);
      for (const i of te) err += ((predictLatency(m, X[i]!) - y[i]!) / y[i]!) ** 2;
    }
    if (err < best.err) best = { lambda, err };
  }
  return { ...fitRidge(X, y, best.lambda), cvError: best.err / X.length };
}
