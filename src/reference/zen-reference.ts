/**
 * Float64 reference Zen-score (Zen-NAS Algorithm 1, native/DESCRIPTOR.md "Zen-score"): a thin
 * layer on the generic forward (graph.ts). Per repeat the clean batch x and the perturbed batch
 * x + αε go through one forward as a 2B batch with bnGroups = 2, so each half is normalised with
 * its own batch statistics, exactly as two separate forwards.
 *
 * It uses the descriptor's weights, inputs and noise (Philox streams), so for the same seed the
 * native engine must agree with it up to float32 rounding.
 */
import { ZennasError } from '../errors';
import { STREAM_INPUT, STREAM_NOISE, gaussianTensor } from '../rng/philox';
import { BnStats, ReferenceNet, ReferenceWeights, referenceForward, referenceWeights, toReferenceNet } from './graph';
import { Tensor4, concatBatch, sliceBatch, checkReferenceSize } from './tensor';

export * from './tensor';
export * from './graph';
export * from './heads';

/** Options of the reference Zen-score (same meaning as the engine's). */
export interface ReferenceOptions {
  batchSize: number;
  resolution: number;
  /** Repeats with fresh weights/inputs (default 1). */
  repeats?: number;
  /** Integer in [0, 2^53) (default 0). */
  seed?: number;
  /** 'paper' (batch variance, default) or 'official' (BN running_var, idstcv/ZenNAS code). */
  mode?: 'paper' | 'official';
  /** Perturbation scale α (default 0.01). */
  alpha?: number;
  /** BN ε (default 1e-5); 0 is allowed here (hand-computed tests). */
  bnEps?: number;
}

/** Result of the reference Zen-score; arrays are per repeat. */
export interface ReferenceResult {
  mean: number;
  /** Population standard deviation (as np.std). */
  std: number;
  /** 1.96·std/√repeats. */
  ci95: number;
  scores: number[];
  logDelta: number[];
  logSigmaSum: number[];
}

/** BN running variances of official mode (init 1, momentum 0.1), one array per BN node, by node index. */
export type RunningVars = Map<number, Float64Array>;

/** Per-repeat terms of the Zen-score. */
export interface RepeatTerms {
  logDelta: number;
  logSigmaSum: number;
  score: number;
  /** σ̄ of every BN node, in node order. */
  sigmaBar: number[];
}

/** official mode: running_var ← 0.9·running_var + 0.1·(unbiased batch variance), init 1. */
function updateRunning(rv: RunningVars, s: BnStats): void {
  if (s.count < 2) throw new ZennasError('E_OPTION', `official mode: BN op ${s.opIndex} sees one value per channel (unbiased variance undefined)`);
  let r = rv.get(s.opIndex);
  if (!r) { r = new Float64Array(s.variance.length).fill(1); rv.set(s.opIndex, r); }
  const unbias = s.count / (s.count - 1);
  for (let c = 0; c < r.length; c++) r[c] = 0.9 * r[c]! + 0.1 * s.variance[c]! * unbias;
}

/**
 * One repeat from given tensors: f(x) and f(x + αε) with each half's own BN batch statistics,
 * Δ = mean_b Σ_{c,h,w} |f(x) − f(x + αε)| on outputs[0], σ̄ = √(mean_c var_c) per BN from the
 * clean half (paper) or from running_var after the clean and then the perturbed update
 * (official; `running` persists across repeats).
 */
export function zenRepeat(
  net: ReferenceNet, weights: ReferenceWeights, x: Tensor4, noise: Tensor4,
  opts: { alpha: number; bnEps: number; mode: 'paper' | 'official' }, running?: RunningVars,
): RepeatTerms {
  if (noise.data.length !== x.data.length) throw new ZennasError('E_INTERNAL', 'noise and input differ in size');
  const xp: Tensor4 = { ...x, data: x.data.map((v, i) => v + opts.alpha * noise.data[i]!) };
  const fwd = referenceForward(net, weights, concatBatch([x, xp]), { bnEps: opts.bnEps, bnGroups: 2 });
  const B = x.n;
  const f = fwd.outputs[0]!;
  const f1 = sliceBatch(f, 0, B), f2 = sliceBatch(f, B, 2 * B);
  const per = f1.c * f1.h * f1.w;
  let delta = 0;
  for (let n = 0; n < B; n++) {
    let s = 0;
    for (let j = 0; j < per; j++) s += Math.abs(f1.data[n * per + j]! - f2.data[n * per + j]!);
    delta += s;
  }
  delta /= B;
  const official = opts.mode === 'official';
  const rv = running ?? new Map<number, Float64Array>();
  if (official) for (const group of [0, 1]) for (const s of fwd.bn) if (s.group === group) updateRunning(rv, s);
  const sigmaBar = fwd.bn.filter((s) => s.group === 0).map((s) => {
    const v = official ? rv.get(s.opIndex)! : s.variance;
    let m = 0;
    for (const c of v) m += c;
    return Math.sqrt(m / v.length);
  });
  const logDelta = Math.log(delta);
  const logSigmaSum = sigmaBar.reduce((a, s) => a + Math.log(s), 0);
  return { logDelta, logSigmaSum, score: logDelta + logSigmaSum, sigmaBar };
}

/** The input x (stream 0x40000000) or the noise ε (0x40000001) of a repeat, [B][Cin][H][W]. */
export function referenceInput(which: 'input' | 'noise', seed: number, repeat: number, batch: number, channels: number, resolution: number): Tensor4 {
  const stream = which === 'input' ? STREAM_INPUT : STREAM_NOISE;
  checkReferenceSize(batch * channels * resolution * resolution);
  return { n: batch, c: channels, h: resolution, w: resolution, data: gaussianTensor(seed, stream, repeat, batch * channels * resolution * resolution) };
}

function checkOptions(o: ReferenceOptions): Required<ReferenceOptions> {
  const r: Required<ReferenceOptions> = {
    batchSize: o.batchSize, resolution: o.resolution, repeats: o.repeats ?? 1, seed: o.seed ?? 0,
    mode: o.mode ?? 'paper', alpha: o.alpha ?? 0.01, bnEps: o.bnEps ?? 1e-5,
  };
  const int = (name: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new ZennasError('E_OPTION', `${name} must be an integer in ${lo}..${hi}, got ${v}`);
  };
  int('batchSize', r.batchSize, 1, 65536);
  int('resolution', r.resolution, 1, 65536);
  int('repeats', r.repeats, 1, 1_000_000);
  if (!Number.isSafeInteger(r.seed) || r.seed < 0) throw new ZennasError('E_OPTION', `seed must be an integer in [0, 2^53), got ${r.seed}`);
  if (r.mode !== 'paper' && r.mode !== 'official') throw new ZennasError('E_OPTION', `mode must be 'paper' or 'official', got ${String(r.mode)}`);
  if (!(r.alpha > 0) || !Number.isFinite(r.alpha)) throw new ZennasError('E_OPTION', `alpha must be a positive number, got ${r.alpha}`);
  if (!(r.bnEps >= 0) || !Number.isFinite(r.bnEps)) throw new ZennasError('E_OPTION', `bnEps must be ≥ 0, got ${r.bnEps}`);
  return r;
}

/**
 * Reference Zen-score of a v2 descriptor or a graph: `repeats` repeats r = 0.. with the Philox
 * weights, inputs and noise of (seed, r).
 */
export function zenScoreReference(net: Int32Array | ReferenceNet, options: ReferenceOptions): ReferenceResult {
  const o = checkOptions(options);
  const g = toReferenceNet(net);
  const running: RunningVars = new Map();
  const scores: number[] = [], logDelta: number[] = [], logSigmaSum: number[] = [];
  for (let r = 0; r < o.repeats; r++) {
    const w = referenceWeights(g, o.seed, r);
    const x = referenceInput('input', o.seed, r, o.batchSize, g.inputChannels, o.resolution);
    const e = referenceInput('noise', o.seed, r, o.batchSize, g.inputChannels, o.resolution);
    const t = zenRepeat(g, w, x, e, o, running);
    scores.push(t.score); logDelta.push(t.logDelta); logSigmaSum.push(t.logSigmaSum);
  }
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
  return { mean, std, ci95: (1.96 * std) / Math.sqrt(scores.length), scores, logDelta, logSigmaSum };
}
