/**
 * Float64 references of the zero-shot proxies (src/proxies/table.ts, native/DESCRIPTOR.md
 * "Zero-shot proxies"): the test oracle of native/proxies/*_proxy.cc. Same Philox draws as the
 * engine (weights, input images, labels), written as the definitions on the generic forward and
 * VJP (graph.ts); slow, meant for small nets.
 */
import { ZennasError } from '../errors';
import { STREAM_INPUT, gaussianTensor, philox4x32, philoxLabels, seedKey, weightStream } from '../rng/philox';
import { attrValue, GraphNode } from '../ops/graph';
import { crossEntropyHead, sumHead } from './heads';
import { NodeWeights, ReferenceNet, ReferenceWeights, referenceBackward, referenceForward, referenceWeights, toReferenceNet, weightCount } from './graph';
import { Tensor4, checkReferenceSize, float64Array } from './tensor';
import { referenceHvp } from './hvp';

const TWO_POW_32 = 4294967296;

/**
 * Elements [offset, offset + count) of the uniform tensor U(−bound, bound) of (seed, stream,
 * repeat): element n = bound·(2·u(x) − 1), x = lane n mod 4 of Philox(⌊n/4⌋, stream, repeat, 0),
 * u(x) = (x + 0.5)/2³² (DESCRIPTOR.md "Init 'torch'"). Float64 (the engine rounds to float32).
 */
export function uniformTensor(seed: number, stream: number, repeat: number, count: number, bound: number, offset = 0): Float64Array {
  const [k0, k1] = seedKey(seed);
  const out = float64Array(count);
  let block = -1;
  let lanes: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < count; i++) {
    const n = offset + i;
    const j = Math.floor(n / 4);
    if (j !== block) { block = j; lanes = philox4x32(j, stream, repeat, 0, k0, k1); }
    out[i] = bound * (2 * ((lanes[n % 4]! + 0.5) / TWO_POW_32) - 1);
  }
  return out;
}

/** fan_in of a weight layer as PyTorch computes it: CONV cin·k², DWCONV k² (one channel per group), LINEAR cin. */
export function fanIn(n: { op: string; cin: number; kernel: number }): number {
  return n.op === 'linear' ? n.cin : n.op === 'dwconv' ? n.kernel * n.kernel : n.cin * n.kernel * n.kernel;
}

/**
 * PyTorch's default init (kaiming_uniform(a = √5)): node i's CONV / DWCONV / LINEAR weight is
 * U(−b, b), b = 1/√fan_in, from Philox stream i + 1; a LINEAR bias U(−b, b) continues the same
 * stream at element cout·cin; BN γ = 1, β = 0.
 */
export function referenceWeightsTorch(net: ReferenceNet, seed: number, repeat: number): NodeWeights[] {
  return net.nodes.map((n, i): NodeWeights => {
    if (n.op === 'conv' || n.op === 'dwconv' || n.op === 'linear') {
      const b = 1 / Math.sqrt(fanIn(n));
      const count = weightCount(n);
      const weight = uniformTensor(seed, weightStream(i), repeat, count, b);
      if (n.op === 'linear' && attrValue(n as GraphNode, 'bias') === 1) return { weight, bias: uniformTensor(seed, weightStream(i), repeat, n.cout, b, count) };
      return { weight };
    }
    if (n.op === 'bn') return { gamma: new Float64Array(n.cout).fill(1), beta: new Float64Array(n.cout) };
    return {};
  });
}

export type InitName = 'normal' | 'torch';

/** The weights of a repeat for an init name. */
export function referenceInit(net: ReferenceNet, init: InitName, seed: number, repeat: number): NodeWeights[] {
  return init === 'torch' ? referenceWeightsTorch(net, seed, repeat) : referenceWeights(net, seed, repeat);
}

/** Every parameter ← |·| (synflow's linearize: weights, biases, BN γ/β). */
export function absWeights(w: NodeWeights[]): NodeWeights[] {
  const abs = (a?: Float64Array) => (a ? a.map(Math.abs) : undefined);
  return w.map((n) => {
    const o: NodeWeights = {};
    if (n.weight) o.weight = abs(n.weight)!;
    if (n.bias) o.bias = abs(n.bias)!;
    if (n.gamma) o.gamma = abs(n.gamma)!;
    if (n.beta) o.beta = abs(n.beta)!;
    return o;
  });
}

/** The net with every BN replaced by identity (zero-cost-nas synflow, bn = False). */
export function withoutBn(net: ReferenceNet): ReferenceNet {
  return { ...net, nodes: net.nodes.map((n) => (n.op === 'bn' ? { ...n, op: 'identity' as const } : n)) };
}

/** Options of the proxy references (the engine's option keys; labels / input as the engine takes them). */
export interface ProxyReferenceOptions {
  batchSize?: number;
  resolution?: number;
  repeats?: number;
  firstRepeat?: number;
  seed?: number;
  bnEps?: number;
  init?: InitName;
  /** One per image (all numBatches·batchSize images for gsnr); default: the Philox label stream. */
  labels?: ArrayLike<number>;
  /** Data images NCHW instead of the Gaussian input (the same every repeat). */
  input?: ArrayLike<number>;
  numBatches?: number;
  xi?: number;
  gsnrMode?: 'batch' | 'official' | 'sample';
  /** tenas_lr, tenas: batches of batchSize images whose ReLU patterns are counted (default 1). */
  sampleBatches?: number;
  /**
   * Round the Philox draws (weights, biases, input images) to float32 as the engine does, so that
   * a comparison with it measures its arithmetic only (default false: the float64 draws).
   */
  float32Draws?: boolean;
}

/** Per-repeat scores and named per-repeat values, as the engine returns them. */
export interface ProxyReferenceResult {
  scores: number[];
  series: Record<string, number[]>;
}

interface Ctx {
  net: ReferenceNet;
  o: Required<Omit<ProxyReferenceOptions, 'labels' | 'input'>> & Pick<ProxyReferenceOptions, 'labels' | 'input'>;
  repeat: number;
}

function fround32(a: Float64Array): Float64Array {
  return a.map(Math.fround);
}

/** The weights of the repeat (rounded to float32 with float32Draws). */
function initOf(c: Ctx, net: ReferenceNet = c.net): NodeWeights[] {
  const w = referenceInit(net, c.o.init, c.o.seed, c.repeat);
  if (!c.o.float32Draws) return w;
  return w.map((n) => ({ ...n, ...(n.weight ? { weight: fround32(n.weight) } : {}), ...(n.bias ? { bias: fround32(n.bias) } : {}) }));
}

/** Images [first, first + n) of a repeat's input (data, or the N(0,1) tensor of stream 0x40000000). */
export function referenceImages(c: Ctx, first: number, n: number): Tensor4 {
  const R = c.o.resolution, C = c.net.inputChannels, per = C * R * R;
  if (c.o.input) return { n, c: C, h: R, w: R, data: Float64Array.from(Array.prototype.slice.call(c.o.input, first * per, (first + n) * per) as number[]) };
  checkReferenceSize((first + n) * per);
  const all = gaussianTensor(c.o.seed, STREAM_INPUT, c.repeat, (first + n) * per);
  const data = all.slice(first * per);
  return { n, c: C, h: R, w: R, data: c.o.float32Draws ? fround32(data) : data };
}

function labelsFor(c: Ctx, first: number, n: number, classes: number): number[] {
  if (c.o.labels) return Array.prototype.slice.call(c.o.labels, first, first + n) as number[];
  return Array.from(philoxLabels(c.o.seed, c.repeat, first + n, classes).slice(first));
}

function ones(c: Ctx): Tensor4 {
  const R = c.o.resolution, C = c.net.inputChannels;
  return { n: 1, c: C, h: R, w: R, data: float64Array(C * R * R).fill(1) };
}

function isWeightLayer(op: string): boolean {
  return op === 'conv' || op === 'dwconv' || op === 'linear';
}

/** One training-mode forward + CE (mean over the images) + backward: the loss and the parameter gradients. */
function ceGradients(c: Ctx, w: ReferenceWeights, x: Tensor4, first: number): { loss: number; grads: NodeWeights[] } {
  const fwd = referenceForward(c.net, w, x, { bnEps: c.o.bnEps });
  const y = fwd.outputs[0]!;
  if (y.h !== 1 || y.w !== 1) throw new ZennasError('E_STRUCTURE', `needs logits [classes][1][1] as the first output, got [${y.c}][${y.h}][${y.w}]`);
  const h = crossEntropyHead(y, labelsFor(c, first, x.n, y.c));
  return { loss: h.loss, grads: referenceBackward(c.net, w, fwd, [h.grad]).weights };
}

function sumSq(a?: Float64Array): number {
  let s = 0;
  if (a) for (const v of a) s += v * v;
  return s;
}

/** grad_norm (Zen-NAS): √(Σ over every parameter, BN γ/β and biases included, of ‖∂L/∂p‖²). */
function gradNorm(c: Ctx): Record<string, number> {
  const w = initOf(c);
  const g = ceGradients(c, w, referenceImages(c, 0, c.o.batchSize), 0);
  let sq = 0;
  for (const n of g.grads) sq += sumSq(n.weight) + sumSq(n.bias) + sumSq(n.gamma) + sumSq(n.beta);
  return { score: Math.sqrt(sq), loss: g.loss };
}

/** Per weight layer (CONV / DWCONV / LINEAR, node order): ‖∂L/∂W‖₂, the terms of grad_norm_zc. */
export function gradNormTerms(net: ReferenceNet, grads: readonly NodeWeights[]): number[] {
  return net.nodes.flatMap((n, i) => (isWeightLayer(n.op) ? [Math.sqrt(sumSq(grads[i]!.weight))] : []));
}

/** Per weight layer: Σ |W ⊙ ∂L/∂W|, the terms of snip. */
export function snipTerms(net: ReferenceNet, weights: ReferenceWeights, grads: readonly NodeWeights[]): number[] {
  return net.nodes.flatMap((n, i) => {
    if (!isWeightLayer(n.op)) return [];
    const W = weights[i]!.weight!, G = grads[i]!.weight!;
    let s = 0;
    for (let j = 0; j < W.length; j++) s += Math.abs(W[j]! * G[j]!);
    return [s];
  });
}

const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);

/** grad_norm_zc (zero-cost-nas): Σ over CONV / DWCONV / LINEAR of ‖∂L/∂W‖₂ (weights only). */
function gradNormZc(c: Ctx): Record<string, number> {
  const w = initOf(c);
  const g = ceGradients(c, w, referenceImages(c, 0, c.o.batchSize), 0);
  return { score: sum(gradNormTerms(c.net, g.grads)), loss: g.loss };
}

/** snip (zero-cost-nas): Σ over CONV / DWCONV / LINEAR weights of |W ⊙ ∂L/∂W|. */
function snip(c: Ctx): Record<string, number> {
  const w = initOf(c);
  const g = ceGradients(c, w, referenceImages(c, 0, c.o.batchSize), 0);
  return { score: sum(snipTerms(c.net, w, g.grads)), loss: g.loss };
}

/** Per weight layer: Σ −W ⊙ (Hg), the terms of grasp (hg: H g per node, from referenceHvp). */
export function graspTerms(net: ReferenceNet, weights: ReferenceWeights, hg: readonly NodeWeights[]): number[] {
  return net.nodes.flatMap((n, i) => {
    if (!isWeightLayer(n.op)) return [];
    const W = weights[i]!.weight!, H = hg[i]!.weight!;
    let s = 0;
    for (let j = 0; j < W.length; j++) s -= W[j]! * H[j]!;
    return [s];
  });
}

/**
 * grasp (zero-cost-nas grasp.py, T = 1, one iteration): g = ∂L/∂W over the CONV / DWCONV / LINEAR
 * weights, H g exactly by the R-operator (hvp.ts; what the official double backward computes),
 * score = Σ −W ⊙ Hg; `gHW` = gᵀHW = −score (what the engine's difference estimates).
 */
function grasp(c: Ctx): Record<string, number> {
  const w = initOf(c);
  const x = referenceImages(c, 0, c.o.batchSize);
  const fwd = referenceForward(c.net, w, x, { bnEps: c.o.bnEps });
  const y = fwd.outputs[0]!;
  if (y.h !== 1 || y.w !== 1) throw new ZennasError('E_STRUCTURE', `needs logits [classes][1][1] as the first output, got [${y.c}][${y.h}][${y.w}]`);
  const h = crossEntropyHead(y, labelsFor(c, 0, x.n, y.c));
  const grads = referenceBackward(c.net, w, fwd, [h.grad]);
  const dir = c.net.nodes.map((n, i): NodeWeights => (isWeightLayer(n.op) ? { weight: grads.weights[i]!.weight! } : {}));
  const s = sum(graspTerms(c.net, w, referenceHvp(c.net, w, fwd, grads, dir)));
  return { score: s, loss: h.loss, gHW: -s };
}

/** |W|, ones [1][C][R][R], forward (BN per `net`), R = Σ outputs[0], backward: R and the weight gradients. */
function synflowPass(c: Ctx, net: ReferenceNet): { w: NodeWeights[]; R: number; grads: NodeWeights[] } {
  const w = absWeights(initOf(c, net));
  const fwd = referenceForward(net, w, ones(c), { bnEps: c.o.bnEps });
  const h = sumHead(fwd.outputs[0]!);
  return { w, R: h.loss, grads: referenceBackward(net, w, fwd, [h.grad]).weights };
}

/**
 * synflow (Zen-NAS compute_syncflow_score.py): per weight layer the mean over output channels of
 * Σ_{in, kh, kw} |W ⊙ ∂R/∂W|, summed. score = that sum (> 0); `official` = −score (what the
 * official function returns); `logScore` = ln score, `logR` = ln R.
 */
function synflow(c: Ctx): Record<string, number> {
  const p = synflowPass(c, c.net);
  let s = 0;
  c.net.nodes.forEach((n, i) => {
    if (!isWeightLayer(n.op)) return;
    const W = p.w[i]!.weight!, G = p.grads[i]!.weight!;
    const rows = n.cout, per = W.length / rows;
    let layer = 0;
    for (let r = 0; r < rows; r++) {
      let row = 0;
      for (let j = r * per; j < (r + 1) * per; j++) row += Math.abs(W[j]! * G[j]!);
      layer += row;
    }
    s += layer / rows;
  });
  return { score: s, official: -s, logScore: Math.log(s), logR: Math.log(p.R) };
}

/** synflow_zc (zero-cost-nas synflow.py, bn = False): Σ |W ⊙ ∂R/∂W| over every weight, BN replaced by identity. */
function synflowZc(c: Ctx): Record<string, number> {
  const net = withoutBn(c.net);
  const p = synflowPass(c, net);
  let s = 0;
  net.nodes.forEach((n, i) => {
    if (!isWeightLayer(n.op)) return;
    const W = p.w[i]!.weight!, G = p.grads[i]!.weight!;
    for (let j = 0; j < W.length; j++) s += Math.abs(W[j]! * G[j]!);
  });
  return { score: s, logScore: Math.log(s), logR: Math.log(p.R) };
}

/**
 * The RELU nodes NASWOT codes: every RELU except those whose value reaches the outputs only
 * through the gate input of a MUL (the ReLU inside an SE module). Node indices, in order.
 */
export function naswotRelus(net: ReferenceNet): number[] {
  const main = new Array<boolean>(net.nodes.length + 1).fill(false);
  for (const v of net.outputs) main[v] = true;
  for (let i = net.nodes.length - 1; i >= 0; i--) {
    if (!main[i + 1]) continue;
    const n = net.nodes[i]!;
    n.inputs.forEach((v, k) => { if (!(n.op === 'mul' && k === 1)) main[v] = true; });
  }
  return net.nodes.map((n, i) => (n.op === 'relu' && main[i + 1] ? i : -1)).filter((i) => i >= 0);
}

/**
 * ln|det K| in float64 by LU with partial pivoting (numpy.linalg.slogdet's log-absolute value);
 * `sign` 0 when a pivot is exactly 0.
 */
export function slogdet(K: Float64Array, n: number): { sign: number; logAbsDet: number } {
  const a = Float64Array.from(K);
  let sign = 1, log = 0;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let r = k + 1; r < n; r++) if (Math.abs(a[r * n + k]!) > Math.abs(a[p * n + k]!)) p = r;
    if (a[p * n + k] === 0) return { sign: 0, logAbsDet: -Infinity };
    if (p !== k) {
      for (let j = 0; j < n; j++) { const t = a[k * n + j]!; a[k * n + j] = a[p * n + j]!; a[p * n + j] = t; }
      sign = -sign;
    }
    const piv = a[k * n + k]!;
    if (piv < 0) sign = -sign;
    log += Math.log(Math.abs(piv));
    for (let r = k + 1; r < n; r++) {
      const f = a[r * n + k]! / piv;
      if (f === 0) continue;
      for (let j = k; j < n; j++) a[r * n + j]! -= f * a[k * n + j]!;
    }
  }
  return { sign, logAbsDet: log };
}

/**
 * The NASWOT kernel of a forward: K = Σ over the coded ReLUs of c cᵀ + (1 − c)(1 − c)ᵀ with
 * c = (ReLU input > 0) per image (flattened C·H·W); K[i][j] = number of units where images i and
 * j agree. Returns K (row-major B×B) and the number of units.
 */
export function naswotKernel(net: ReferenceNet, values: readonly Tensor4[], relus: readonly number[]): { K: Float64Array; units: number } {
  const B = values[0]!.n;
  const K = new Float64Array(B * B);
  let units = 0;
  for (const i of relus) {
    const x = values[net.nodes[i]!.inputs[0]!]!;
    const per = x.c * x.h * x.w;
    units += per;
    for (let a = 0; a < B; a++)
      for (let b = a; b < B; b++) {
        let agree = 0;
        for (let j = 0; j < per; j++) if ((x.data[a * per + j]! > 0) === (x.data[b * per + j]! > 0)) agree++;
        K[a * B + b]! += agree;
        if (b !== a) K[b * B + a]! += agree;
      }
  }
  return { K, units };
}

/** naswot (Zen-NAS compute_NASWOT_score.py, BayesWatch): ln|det K| (slogdet, float64). */
function naswot(c: Ctx): Record<string, number> {
  const w = initOf(c);
  const x = referenceImages(c, 0, c.o.batchSize);
  const relus = naswotRelus(c.net);
  if (relus.length === 0) throw new ZennasError('E_STRUCTURE', 'naswot: the network has no ReLU to code (K = 0)');
  if (x.n < 2) throw new ZennasError('E_OPTION', 'naswot needs batchSize ≥ 2 (K is batchSize × batchSize)');
  const fwd = referenceForward(c.net, w, x, { bnEps: c.o.bnEps });
  const { K, units } = naswotKernel(c.net, fwd.values, relus);
  const B = x.n;
  for (let a = 0; a < B; a++)
    for (let b = a + 1; b < B; b++)
      if (K[a * B + b] === units) {
        const per = x.c * x.h * x.w;
        let same = true;
        for (let j = 0; j < per && same; j++) same = x.data[a * per + j] === x.data[b * per + j];
        throw new ZennasError(same ? 'E_OPTION' : 'E_STRUCTURE',
          `naswot: images ${a} and ${b} have identical ReLU codes${same ? ' (the input images are identical)' : ''}: K is singular and ln|det K| is undefined`);
      }
  const d = slogdet(K, B);
  if (d.sign === 0) throw new ZennasError('E_STRUCTURE', 'naswot: K is singular: ln|det K| is undefined');
  return { score: d.logAbsDet, units };
}

/**
 * gsnr (ξ-GSNR run_gsnr.py): over the CONV / DWCONV / LINEAR weights, per element over the N
 * gradient samples mean² / (population variance + ξ), summed; a layer whose variance is 0
 * everywhere is skipped. Samples: 'batch' one CE gradient per batch of B images (images and
 * labels [jB, (j+1)B)), 'official' running sums of those, 'sample' per-image gradients (batch of 1)
 * of the first B images.
 */
function gsnr(c: Ctx): Record<string, number> {
  const w = initOf(c);
  const B = c.o.batchSize;
  const samples: NodeWeights[][] = [];
  if (c.o.gsnrMode === 'sample') {
    for (let i = 0; i < B; i++) samples.push(ceGradients(c, w, referenceImages(c, i, 1), i).grads);
  } else {
    for (let j = 0; j < c.o.numBatches; j++) {
      const g = ceGradients(c, w, referenceImages(c, j * B, B), j * B).grads;
      if (c.o.gsnrMode === 'official' && j > 0) {
        const prev = samples[j - 1]!;
        g.forEach((n, i) => { if (n.weight) n.weight = n.weight.map((v, k) => v + prev[i]!.weight![k]!); });
      }
      samples.push(g);
    }
  }
  const N = samples.length;
  let score = 0, layers = 0;
  c.net.nodes.forEach((n, i) => {
    if (!isWeightLayer(n.op)) return;
    const len = samples[0]![i]!.weight!.length;
    let layer = 0, anyVar = false;
    for (let k = 0; k < len; k++) {
      let m = 0;
      for (const s of samples) m += s[i]!.weight![k]!;
      m /= N;
      let v = 0;
      for (const s of samples) v += (s[i]!.weight![k]! - m) ** 2;
      v /= N;
      if (v !== 0) anyVar = true;
      layer += (m * m) / (v + c.o.xi);
    }
    if (anyVar) { score += layer; layers++; }
  });
  return { score, layers };
}

/**
 * Per weight layer (CONV / DWCONV / LINEAR, node order) the fisher terms of zero-cost-nas
 * fisher.py (mode 'channel'): F_k = ½·mean_n(Σ_hw act·g)² per output channel k, act = the layer's
 * output and g = ∂L/∂act; `channels` = Σ_k |F_k|, `term` = ∏W.shape[1:] · Σ_k |F_k| (the channel
 * value broadcast over its weights and summed, as find_measures does).
 */
export function fisherTerms(net: ReferenceNet, values: readonly Tensor4[], valueGrads: readonly Tensor4[]): { channels: number; term: number }[] {
  return net.nodes.flatMap((n, i) => {
    if (!isWeightLayer(n.op)) return [];
    const a = values[i + 1]!, g = valueGrads[i + 1]!;
    const plane = a.h * a.w;
    let channels = 0;
    for (let k = 0; k < a.c; k++) {
      let f = 0;
      for (let b = 0; b < a.n; b++) {
        let dot = 0;
        const at = (b * a.c + k) * plane;
        for (let p = 0; p < plane; p++) dot += a.data[at + p]! * g.data[at + p]!;
        f += dot * dot;
      }
      channels += Math.abs((0.5 * f) / a.n);
    }
    return [{ channels, term: channels * (weightCount(n) / n.cout) }];
  });
}

/** fisher (zero-cost-nas fisher.py, channel mode): Σ over weight layers of ∏W.shape[1:] · Σ_k |F_k|. */
function fisher(c: Ctx): Record<string, number> {
  const w = initOf(c);
  const x = referenceImages(c, 0, c.o.batchSize);
  const fwd = referenceForward(c.net, w, x, { bnEps: c.o.bnEps });
  const y = fwd.outputs[0]!;
  if (y.h !== 1 || y.w !== 1) throw new ZennasError('E_STRUCTURE', `needs logits [classes][1][1] as the first output, got [${y.c}][${y.h}][${y.w}]`);
  const h = crossEntropyHead(y, labelsFor(c, 0, x.n, y.c));
  const g = referenceBackward(c.net, w, fwd, [h.grad]);
  const t = fisherTerms(c.net, fwd.values, g.values);
  return { score: sum(t.map((v) => v.term)), loss: h.loss, channelSum: sum(t.map((v) => v.channels)) };
}

/**
 * Eigenvalues of a symmetric n×n matrix (row-major; the upper triangle is read), ascending, by
 * the cyclic Jacobi method in float64 (rotations until the off-diagonal part is below 1e-300 or
 * below 1e-17 of the diagonal's scale; high relative accuracy, slow: meant for small n). An
 * algorithm independent of the engine's Householder + QL.
 */
export function symmetricEigenvalues(M: ArrayLike<number>, n: number): number[] {
  const a = Float64Array.from(M as ArrayLike<number>);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[i * n + j] = a[j * n + i]!;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0, diag = 0;
    for (let i = 0; i < n; i++) {
      diag += a[i * n + i]! ** 2;
      for (let j = i + 1; j < n; j++) off += a[i * n + j]! ** 2;
    }
    if (off <= 1e-300 || off <= 1e-34 * diag) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const app = a[p * n + p]!, aqq = a[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!, akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!, aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        a[p * n + q] = 0;
        a[q * n + p] = 0;
      }
  }
  const v: number[] = [];
  for (let i = 0; i < n; i++) v.push(a[i * n + i]!);
  return v.sort((x, y) => x - y);
}

/**
 * np.corrcoef of the rows of a rows×cols matrix: rows centred, cov_ij / σ_i / σ_j, clipped to
 * [−1, 1] (what numpy does); null when a row has zero variance (numpy: NaN).
 */
export function corrcoef(X: ArrayLike<number>, rows: number, cols: number): Float64Array | null {
  const mean = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let m = 0;
    for (let j = 0; j < cols; j++) m += X[i * cols + j]!;
    mean[i] = m / cols;
  }
  const cov = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++)
    for (let k = i; k < rows; k++) {
      let acc = 0;
      for (let j = 0; j < cols; j++) acc += (X[i * cols + j]! - mean[i]!) * (X[k * cols + j]! - mean[k]!);
      cov[i * rows + k] = cov[k * rows + i] = acc / (cols - 1);
    }
  const sd = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    if (!(cov[i * rows + i]! > 0)) return null;
    sd[i] = Math.sqrt(cov[i * rows + i]!);
  }
  return cov.map((v, at) => Math.min(1, Math.max(-1, v / sd[Math.floor(at / rows)]! / sd[at % rows]!)));
}

/** The jacob_cov score of eigenvalues v of the correlation matrix: −Σ (ln(v + k) + 1/(v + k)), k = 1e-5. */
export function jacobCovScore(v: readonly number[]): number {
  const k = 1e-5;
  let s = 0;
  for (const e of v) s -= Math.log(e + k) + 1 / (e + k);
  return s;
}

/**
 * jacob_cov (zero-cost-nas jacob_cov.py): one training-mode forward of the batch, one backward of
 * Σ(every output of the batch) (the official y.backward(ones_like(y))), J row i = ∂/∂x_i;
 * score = jacobCovScore(eigenvalues of corrcoef(J)).
 */
function jacobCov(c: Ctx): Record<string, number> {
  const w = initOf(c);
  const x = referenceImages(c, 0, c.o.batchSize);
  if (x.n < 2) throw new ZennasError('E_OPTION', 'jacob_cov needs batchSize ≥ 2 (the correlation matrix is batchSize × batchSize)');
  const fwd = referenceForward(c.net, w, x, { bnEps: c.o.bnEps });
  const J = referenceBackward(c.net, w, fwd, [sumHead(fwd.outputs[0]!).grad]).input;
  const C = corrcoef(J.data, x.n, J.c * J.h * J.w);
  if (!C) throw new ZennasError('E_STRUCTURE', 'jacob_cov: the input gradient of an image is constant: its correlation is undefined (the official code returns NaN)');
  const v = symmetricEigenvalues(C, x.n);
  return { score: jacobCovScore(v), lambdaMin: v[0]!, lambdaMax: v[v.length - 1]! };
}

/**
 * The NTK of TE-NAS ntk.py on images [0, B): one training-mode forward, per image i the gradient
 * g_i of Σ_c f_i,c (its outputs) through the batch graph over the 'weight' parameters (CONV /
 * DWCONV / LINEAR weights, BN γ); NTK = G Gᵀ (B×B, row-major).
 */
export function referenceNtk(net: ReferenceNet, w: ReferenceWeights, x: Tensor4, bnEps: number): Float64Array {
  const fwd = referenceForward(net, w, x, { bnEps });
  const y = fwd.outputs[0]!;
  const per = y.c * y.h * y.w;
  const rows: Float64Array[] = [];
  for (let i = 0; i < x.n; i++) {
    const seed: Tensor4 = { n: y.n, c: y.c, h: y.h, w: y.w, data: float64Array(y.data.length) };
    seed.data.fill(1, i * per, (i + 1) * per);
    const g = referenceBackward(net, w, fwd, [seed]).weights;
    const parts: number[] = [];
    net.nodes.forEach((n, k) => {
      if (isWeightLayer(n.op)) parts.push(...g[k]!.weight!);
      else if (n.op === 'bn') parts.push(...g[k]!.gamma!);
    });
    rows.push(Float64Array.from(parts));
  }
  const B = x.n, K = new Float64Array(B * B);
  for (let i = 0; i < B; i++)
    for (let j = i; j < B; j++) {
      let s = 0;
      const a = rows[i]!, b = rows[j]!;
      for (let p = 0; p < a.length; p++) s += a[p]! * b[p]!;
      K[i * B + j] = K[j * B + i] = s;
    }
  return K;
}

/** λmax/λmin with TE-NAS's np.nan_to_num(·, nan=1e5): NaN → 1e5, ±inf → ±Number.MAX_VALUE. */
export function ntkCondition(lambdaMin: number, lambdaMax: number): number {
  const c = lambdaMax / lambdaMin;
  return Number.isNaN(c) ? 1e5 : c === Infinity ? Number.MAX_VALUE : c === -Infinity ? -Number.MAX_VALUE : c;
}

function ntkOf(c: Ctx, w: ReferenceWeights): { cond: number; lambdaMin: number; lambdaMax: number } {
  const v = symmetricEigenvalues(referenceNtk(c.net, w, referenceImages(c, 0, c.o.batchSize), c.o.bnEps), c.o.batchSize);
  return { cond: ntkCondition(v[0]!, v[v.length - 1]!), lambdaMin: v[0]!, lambdaMax: v[v.length - 1]! };
}

/**
 * TE-NAS linear_region_counter.py: the number of distinct activation codes (ReLU input > 0 of
 * every RELU node, in node order, C·H·W each) among sampleBatches batches of B images (images
 * [jB, (j+1)B), each batch its own training-mode forward); `units` = the code length.
 */
function linearRegionsOf(c: Ctx, w: ReferenceWeights): { regions: number; units: number } {
  const relus = c.net.nodes.map((n, i) => (n.op === 'relu' ? i : -1)).filter((i) => i >= 0);
  if (relus.length === 0) throw new ZennasError('E_STRUCTURE', 'tenas_lr: the network has no ReLU (no activation pattern to count)');
  const B = c.o.batchSize, seen = new Set<string>();
  let units = 0;
  for (let j = 0; j < c.o.sampleBatches; j++) {
    const fwd = referenceForward(c.net, w, referenceImages(c, j * B, B), { bnEps: c.o.bnEps });
    units = 0;
    const codes = Array.from({ length: B }, () => [] as string[]);
    for (const i of relus) {
      const v = fwd.values[i + 1]!, per = v.c * v.h * v.w;
      units += per;
      for (let b = 0; b < B; b++) {
        let s = '';
        for (let k = 0; k < per; k++) s += v.data[b * per + k]! > 0 ? '1' : '0';
        codes[b]!.push(s);
      }
    }
    for (const code of codes) seen.add(code.join(''));
  }
  return { regions: seen.size, units };
}

/** tenas_ntk (TE-NAS ntk.py as Zen-NAS runs it): the NTK's condition number (lower is better). */
function tenasNtk(c: Ctx): Record<string, number> {
  const n = ntkOf(c, initOf(c));
  return { score: n.cond, lambdaMin: n.lambdaMin, lambdaMax: n.lambdaMax };
}

/** tenas_lr (TE-NAS linear_region_counter.py): distinct ReLU activation patterns. */
function tenasLr(c: Ctx): Record<string, number> {
  const r = linearRegionsOf(c, initOf(c));
  return { score: r.regions, units: r.units };
}

/** tenas (Zen-NAS compute_te_nas_score.py __main__): R_N − cond on the same weights. */
function tenas(c: Ctx): Record<string, number> {
  const w = initOf(c);
  const r = linearRegionsOf(c, w), n = ntkOf(c, w);
  return { score: r.regions - n.cond, linearRegions: r.regions, ntkCond: n.cond };
}

const IMPLS = {
  grad_norm: { fn: gradNorm, init: 'normal' as InitName, batch: 64 },
  grad_norm_zc: { fn: gradNormZc, init: 'torch' as InitName, batch: 64 },
  snip: { fn: snip, init: 'torch' as InitName, batch: 64 },
  grasp: { fn: grasp, init: 'torch' as InitName, batch: 64 },
  synflow: { fn: synflow, init: 'normal' as InitName, batch: 1 },
  synflow_zc: { fn: synflowZc, init: 'torch' as InitName, batch: 1 },
  naswot: { fn: naswot, init: 'normal' as InitName, batch: 8 },
  gsnr: { fn: gsnr, init: 'torch' as InitName, batch: 64 },
  fisher: { fn: fisher, init: 'torch' as InitName, batch: 64 },
  jacob_cov: { fn: jacobCov, init: 'torch' as InitName, batch: 64 },
  tenas_ntk: { fn: tenasNtk, init: 'torch' as InitName, batch: 64 },
  tenas_lr: { fn: tenasLr, init: 'torch' as InitName, batch: 64 },
  tenas: { fn: tenas, init: 'torch' as InitName, batch: 64 },
};

/** The proxies with a reference. */
export type ReferenceProxyName = keyof typeof IMPLS;
export const REFERENCE_PROXIES = Object.keys(IMPLS) as ReferenceProxyName[];

/**
 * The float64 reference of a zero-shot proxy on a descriptor or graph, lowered as the proxy needs
 * (the caller's job: src/proxies/lowering.ts). Defaults as the table's (init, batch); repeats r =
 * firstRepeat.. with the Philox draws of (seed, r).
 */
export function proxyReference(name: ReferenceProxyName, net: Int32Array | ReferenceNet, options: ProxyReferenceOptions = {}): ProxyReferenceResult {
  const impl = IMPLS[name];
  if (!impl) throw new ZennasError('E_OPTION', `no reference for proxy '${String(name)}'`);
  const g = toReferenceNet(net);
  const o: Ctx['o'] = {
    batchSize: options.batchSize ?? impl.batch, resolution: options.resolution ?? 32, repeats: options.repeats ?? 1, firstRepeat: options.firstRepeat ?? 0,
    seed: options.seed ?? 0, bnEps: options.bnEps ?? 1e-5, init: options.init ?? impl.init, numBatches: options.numBatches ?? 8, xi: options.xi ?? 1e-8,
    gsnrMode: options.gsnrMode ?? 'batch', sampleBatches: options.sampleBatches ?? 1, float32Draws: options.float32Draws ?? false, labels: options.labels, input: options.input,
  };
  const scores: number[] = [];
  const series: Record<string, number[]> = {};
  for (let r = o.firstRepeat; r < o.firstRepeat + o.repeats; r++) {
    const v = impl.fn({ net: g, o, repeat: r });
    scores.push(v.score!);
    for (const [k, x] of Object.entries(v)) if (k !== 'score') (series[k] ??= []).push(x);
  }
  return { scores, series };
}
