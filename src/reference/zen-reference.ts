/**
 * Float64 reference Zen-score (Zen-NAS Algorithm 1, native/DESCRIPTOR.md "Zen-score").
 *
 * The test oracle for the native engine: plain loops, no tricks, every op written as its
 * definition. Slow (fine for small nets at small resolutions), but it uses exactly the
 * descriptor's weights, inputs and noise (Philox streams), so for the same seed the engine must
 * agree with it up to float32 rounding.
 */
import { ZennasError } from '../errors';
import { decodeDescriptor, DecodedOp } from '../model/descriptor';
import { gaussianTensor, weightStream, STREAM_INPUT, STREAM_NOISE } from '../rng/philox';

/** A dense NCHW float64 tensor. */
export interface Tensor4 {
  n: number;
  c: number;
  h: number;
  w: number;
  data: Float64Array;
}

/** A decoded, checked descriptor. */
export interface ReferenceNet {
  inputChannels: number;
  numSlots: number;
  outputSlot: number;
  ops: DecodedOp[];
}

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

/** Per-BN statistics of one forward: biased batch variance per channel and the count n = N·H·W. */
export interface BnStats {
  opIndex: number;
  mean: Float64Array;
  variance: Float64Array;
  count: number;
}

/** BN running variances of official mode (init 1, momentum 0.1), one array per BN op, by op index. */
export type RunningVars = Map<number, Float64Array>;

const OPS_WITH_WEIGHTS = new Set(['conv', 'dwconv', 'linear']);

function bad(msg: string): never {
  throw new ZennasError('E_DESCRIPTOR', `invalid descriptor: ${msg}`);
}

function outSize(size: number, k: number, stride: number): number {
  const pad = (k - 1) >> 1;
  return Math.floor((size + 2 * pad - k) / stride) + 1;
}

/** Decode a descriptor and check it as the native engine does (channels, slot order, kernel/stride ranges). */
export function decodeForReference(descriptor: Int32Array): ReferenceNet {
  const d = decodeDescriptor(descriptor);
  if (d.numSlots < 1) bad('nSlots must be ≥ 1');
  if (d.inputChannels < 1) bad('input channels must be ≥ 1');
  if (d.outputSlot < 0 || d.outputSlot >= d.numSlots) bad(`output slot ${d.outputSlot} out of range`);
  const channels: (number | undefined)[] = new Array(d.numSlots).fill(undefined);
  channels[0] = d.inputChannels;
  d.ops.forEach((o, i) => {
    const where = `op ${i} (${o.op})`;
    for (const s of [o.src, o.dst]) if (s < 0 || s >= d.numSlots) bad(`${where}: slot ${s} out of range`);
    const cin = channels[o.src];
    if (cin === undefined) bad(`${where}: slot ${o.src} read before it is written`);
    if (o.cin < 1 || o.cout < 1 || o.cin > 65536 || o.cout > 65536) bad(`${where}: channels out of range`);
    if (cin !== o.cin) bad(`${where}: cin ${o.cin} but slot ${o.src} has ${cin} channels`);
    if (o.op === 'conv' || o.op === 'dwconv' || o.op === 'maxpool') {
      if (o.kernel < 1 || o.kernel > 15 || o.kernel % 2 === 0) bad(`${where}: kernel ${o.kernel} must be odd in 1..15`);
      if (o.stride < 1 || o.stride > 8) bad(`${where}: stride ${o.stride} must be in 1..8`);
    }
    if (o.op !== 'conv' && o.op !== 'linear' && o.cin !== o.cout) bad(`${where}: cin ${o.cin} ≠ cout ${o.cout}`);
    if (o.op === 'mul' || o.op === 'add') {
      if (o.aux < 0 || o.aux >= d.numSlots) bad(`${where}: aux slot ${o.aux} out of range`);
      const ca = channels[o.aux];
      if (ca === undefined) bad(`${where}: aux slot ${o.aux} read before it is written`);
      if (ca !== o.cin) bad(`${where}: aux slot has ${ca} channels, expected ${o.cin}`);
    }
    channels[o.dst] = o.cout;
  });
  if (channels[d.outputSlot] === undefined) bad(`output slot ${d.outputSlot} is never written`);
  return d;
}

/** The weights of repeat `repeat`: op i (CONV / DWCONV / LINEAR) draws from stream i+1, row-major OIHW / [cout][cin]. */
export function referenceWeights(net: ReferenceNet, seed: number, repeat: number): (Float64Array | null)[] {
  return net.ops.map((o, i) => {
    if (!OPS_WITH_WEIGHTS.has(o.op)) return null;
    return gaussianTensor(seed, weightStream(i), repeat, weightCount(o));
  });
}

/** Number of weights of an op (0 for weight-free ops). */
export function weightCount(o: DecodedOp): number {
  switch (o.op) {
    case 'conv': return o.cout * o.cin * o.kernel * o.kernel;
    case 'dwconv': return o.cout * o.kernel * o.kernel;
    case 'linear': return o.cout * o.cin;
    default: return 0;
  }
}

function tensor(n: number, c: number, h: number, w: number): Tensor4 {
  return { n, c, h, w, data: new Float64Array(n * c * h * w) };
}

function conv2d(x: Tensor4, wt: Float64Array, cout: number, k: number, stride: number, depthwise: boolean): Tensor4 {
  const ho = outSize(x.h, k, stride), wo = outSize(x.w, k, stride);
  if (ho < 1 || wo < 1) throw new ZennasError('E_STRUCTURE', `convolution output would be empty (${x.h}×${x.w}, k=${k}, stride=${stride})`);
  const pad = (k - 1) >> 1;
  const y = tensor(x.n, cout, ho, wo);
  const cinPerGroup = depthwise ? 1 : x.c;
  for (let n = 0; n < x.n; n++) {
    for (let co = 0; co < cout; co++) {
      const yo = (n * cout + co) * ho * wo;
      for (let g = 0; g < cinPerGroup; g++) {
        const ci = depthwise ? co : g;
        const xo = (n * x.c + ci) * x.h * x.w;
        for (let kh = 0; kh < k; kh++) {
          for (let kw = 0; kw < k; kw++) {
            const wv = wt[((co * cinPerGroup + g) * k + kh) * k + kw]!;
            for (let oh = 0; oh < ho; oh++) {
              const ih = oh * stride - pad + kh;
              if (ih < 0 || ih >= x.h) continue;
              for (let ow = 0; ow < wo; ow++) {
                const iw = ow * stride - pad + kw;
                if (iw < 0 || iw >= x.w) continue;
                y.data[yo + oh * wo + ow]! += wv * x.data[xo + ih * x.w + iw]!;
              }
            }
          }
        }
      }
    }
  }
  return y;
}

/** Training-mode BN, γ=1, β=0: returns the normalised tensor and the biased per-channel variance. */
function batchNorm(x: Tensor4, eps: number): { y: Tensor4; mean: Float64Array; variance: Float64Array; count: number } {
  const hw = x.h * x.w, count = x.n * hw;
  const y = tensor(x.n, x.c, x.h, x.w);
  const variance = new Float64Array(x.c);
  const means = new Float64Array(x.c);
  for (let c = 0; c < x.c; c++) {
    let s = 0;
    for (let n = 0; n < x.n; n++) { const o = (n * x.c + c) * hw; for (let i = 0; i < hw; i++) s += x.data[o + i]!; }
    const mean = s / count;
    means[c] = mean;
    let v = 0;
    for (let n = 0; n < x.n; n++) { const o = (n * x.c + c) * hw; for (let i = 0; i < hw; i++) v += (x.data[o + i]! - mean) ** 2; }
    v /= count;
    variance[c] = v;
    const inv = 1 / Math.sqrt(v + eps);
    for (let n = 0; n < x.n; n++) { const o = (n * x.c + c) * hw; for (let i = 0; i < hw; i++) y.data[o + i] = (x.data[o + i]! - mean) * inv; }
  }
  return { y, mean: means, variance, count };
}

function maxPool(x: Tensor4, k: number, stride: number): Tensor4 {
  const ho = outSize(x.h, k, stride), wo = outSize(x.w, k, stride);
  if (ho < 1 || wo < 1) throw new ZennasError('E_STRUCTURE', `max-pool output would be empty (${x.h}×${x.w}, k=${k}, stride=${stride})`);
  const pad = (k - 1) >> 1;
  const y = tensor(x.n, x.c, ho, wo);
  for (let nc = 0; nc < x.n * x.c; nc++) {
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        let m = -Infinity; // padding is −∞: never selected
        for (let kh = 0; kh < k; kh++) {
          const ih = oh * stride - pad + kh;
          if (ih < 0 || ih >= x.h) continue;
          for (let kw = 0; kw < k; kw++) {
            const iw = ow * stride - pad + kw;
            if (iw < 0 || iw >= x.w) continue;
            m = Math.max(m, x.data[(nc * x.h + ih) * x.w + iw]!);
          }
        }
        y.data[(nc * ho + oh) * wo + ow] = m;
      }
    }
  }
  return y;
}

function map(x: Tensor4, f: (v: number) => number): Tensor4 {
  const y = tensor(x.n, x.c, x.h, x.w);
  for (let i = 0; i < x.data.length; i++) y.data[i] = f(x.data[i]!);
  return y;
}

/**
 * Forward pass in float64. `weights[i]` holds op i's weights (see referenceWeights); `onBn` sees the
 * statistics of every BN. Returns every slot (slot 0 = x); the descriptor's output slot is f(x).
 * `bn: EvalBn` is eval mode instead (y_c = (x_c − mean_c)/√(var_c+ε) with the given running
 * statistics): the network `exportOnnx` writes; `onBn` then still sees the batch statistics.
 */
export function referenceForward(
  net: ReferenceNet, weights: (Float64Array | null)[], x: Tensor4, bnEps: number,
  onBn?: (s: BnStats) => void, bn: 'train' | EvalBn = 'train',
): Tensor4[] {
  if (x.c !== net.inputChannels) throw new ZennasError('E_OPTION', `input has ${x.c} channels, the net expects ${net.inputChannels}`);
  const slots: Tensor4[] = new Array(net.numSlots);
  slots[0] = x;
  net.ops.forEach((o, i) => {
    const src = slots[o.src]!;
    const wt = () => {
      const w = weights[i];
      if (!w || w.length !== weightCount(o)) throw new ZennasError('E_INTERNAL', `op ${i}: expected ${weightCount(o)} weights`);
      return w;
    };
    let y: Tensor4;
    switch (o.op) {
      case 'conv': y = conv2d(src, wt(), o.cout, o.kernel, o.stride, false); break;
      case 'dwconv': y = conv2d(src, wt(), o.cout, o.kernel, o.stride, true); break;
      case 'bn': {
        if (bn !== 'train') {
          if (onBn) { const r = batchNorm(src, bnEps); onBn({ opIndex: i, mean: r.mean, variance: r.variance, count: r.count }); }
          const hw = src.h * src.w, rm = bn.mean[i], rv = bn.variance[i];
          y = tensor(src.n, src.c, src.h, src.w);
          for (let j = 0; j < src.data.length; j++) {
            const c = Math.floor(j / hw) % src.c;
            y.data[j] = (src.data[j]! - (rm ? rm[c]! : 0)) / Math.sqrt((rv ? rv[c]! : 1) + bnEps);
          }
          break;
        }
        const r = batchNorm(src, bnEps);
        onBn?.({ opIndex: i, mean: r.mean, variance: r.variance, count: r.count });
        y = r.y;
        break;
      }
      case 'relu': y = map(src, (v) => (v > 0 ? v : 0)); break;
      case 'sigmoid': y = map(src, (v) => 1 / (1 + Math.exp(-v))); break;
      case 'maxpool': y = maxPool(src, o.kernel, o.stride); break;
      case 'gap': {
        y = tensor(src.n, src.c, 1, 1);
        const hw = src.h * src.w;
        for (let nc = 0; nc < src.n * src.c; nc++) {
          let s = 0;
          for (let j = 0; j < hw; j++) s += src.data[nc * hw + j]!;
          y.data[nc] = s / hw;
        }
        break;
      }
      case 'linear': {
        if (src.h !== 1 || src.w !== 1) throw new ZennasError('E_STRUCTURE', `op ${i}: LINEAR needs a [N][C][1][1] input, got ${src.h}×${src.w}`);
        const w = wt();
        y = tensor(src.n, o.cout, 1, 1);
        for (let n = 0; n < src.n; n++) {
          for (let co = 0; co < o.cout; co++) {
            let s = 0;
            for (let ci = 0; ci < o.cin; ci++) s += w[co * o.cin + ci]! * src.data[n * o.cin + ci]!;
            y.data[n * o.cout + co] = s;
          }
        }
        break;
      }
      case 'mul': {
        const g = slots[o.aux]!;
        if (g.n !== src.n || g.c !== src.c || g.h !== 1 || g.w !== 1) throw new ZennasError('E_STRUCTURE', `op ${i}: MUL gate must be [N][C][1][1]`);
        const hw = src.h * src.w;
        y = tensor(src.n, src.c, src.h, src.w);
        for (let nc = 0; nc < src.n * src.c; nc++) for (let j = 0; j < hw; j++) y.data[nc * hw + j] = src.data[nc * hw + j]! * g.data[nc]!;
        break;
      }
      case 'add': {
        const a = slots[o.aux]!;
        if (a.n !== src.n || a.c !== src.c || a.h !== src.h || a.w !== src.w) throw new ZennasError('E_STRUCTURE', `op ${i}: ADD operands differ in shape`);
        y = tensor(src.n, src.c, src.h, src.w);
        for (let j = 0; j < y.data.length; j++) y.data[j] = src.data[j]! + a.data[j]!;
        break;
      }
    }
    slots[o.dst] = y;
  });
  return slots;
}

/** Eval-mode BN of `referenceForward`: running statistics per op index (BN ops only; null → mean 0, var 1). */
export interface EvalBn {
  mean: (Float64Array | null)[];
  variance: (Float64Array | null)[];
}

/** Per-repeat terms of the Zen-score. */
export interface RepeatTerms {
  logDelta: number;
  logSigmaSum: number;
  score: number;
  /** σ̄ of every BN op, in op order. */
  sigmaBar: number[];
}

/**
 * One repeat from given tensors: forward x and x+αε separately (each BN with its own batch
 * statistics), Δ = mean_b Σ_{c,h,w} |f(x) − f(x+αε)|, σ̄ per BN from the clean forward (paper) or
 * from running_var after both forwards (official; `running` persists across repeats).
 */
export function zenRepeat(
  net: ReferenceNet, weights: (Float64Array | null)[], x: Tensor4, noise: Tensor4,
  opts: { alpha: number; bnEps: number; mode: 'paper' | 'official' }, running?: RunningVars,
): RepeatTerms {
  if (noise.data.length !== x.data.length) throw new ZennasError('E_INTERNAL', 'noise and input differ in size');
  const xp: Tensor4 = { ...x, data: x.data.map((v, i) => v + opts.alpha * noise.data[i]!) };
  const clean: BnStats[] = [];
  const rv = running ?? new Map<number, Float64Array>();
  const updateRunning = (s: BnStats) => {
    if (s.count < 2) throw new ZennasError('E_OPTION', `official mode: BN op ${s.opIndex} sees one value per channel (unbiased variance undefined)`);
    let r = rv.get(s.opIndex);
    if (!r) { r = new Float64Array(s.variance.length).fill(1); rv.set(s.opIndex, r); }
    const unbias = s.count / (s.count - 1);
    for (let c = 0; c < r.length; c++) r[c] = 0.9 * r[c]! + 0.1 * s.variance[c]! * unbias;
  };
  const official = opts.mode === 'official';
  const f1 = referenceForward(net, weights, x, opts.bnEps, (s) => { clean.push(s); if (official) updateRunning(s); })[net.outputSlot]!;
  const f2 = referenceForward(net, weights, xp, opts.bnEps, official ? updateRunning : undefined)[net.outputSlot]!;
  const per = f1.c * f1.h * f1.w;
  let delta = 0;
  for (let n = 0; n < f1.n; n++) {
    let s = 0;
    for (let j = 0; j < per; j++) s += Math.abs(f1.data[n * per + j]! - f2.data[n * per + j]!);
    delta += s;
  }
  delta /= f1.n;
  const sigmaBar = clean.map((s) => {
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

/** Reference Zen-score of a descriptor: `repeats` repeats r = 0.. with Philox weights/inputs/noise of (seed, r). */
export function zenScoreReference(descriptor: Int32Array, options: ReferenceOptions): ReferenceResult {
  const o = checkOptions(options);
  const net = decodeForReference(descriptor);
  const running: RunningVars = new Map();
  const scores: number[] = [], logDelta: number[] = [], logSigmaSum: number[] = [];
  for (let r = 0; r < o.repeats; r++) {
    const w = referenceWeights(net, o.seed, r);
    const x = referenceInput('input', o.seed, r, o.batchSize, net.inputChannels, o.resolution);
    const e = referenceInput('noise', o.seed, r, o.batchSize, net.inputChannels, o.resolution);
    const t = zenRepeat(net, w, x, e, o, running);
    scores.push(t.score); logDelta.push(t.logDelta); logSigmaSum.push(t.logSigmaSum);
  }
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
  return { mean, std, ci95: (1.96 * std) / Math.sqrt(scores.length), scores, logDelta, logSigmaSum };
}
