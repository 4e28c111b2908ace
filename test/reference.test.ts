/**
 * The float64 reference (src/reference) on hand-computed values: every op's forward, the Zen-score
 * in both modes, first-principles statistics of Philox draws, and the results of the v1 reference
 * pinned bit for bit. Networks are v2 graphs written by hand, through the wire format.
 */
import test from 'ava';
import {
  zenScoreReference, zenRepeat, referenceForward, referenceWeights, referenceInput, decodeForReference, buildGraph,
  ReferenceNet, Tensor4, BnStats, NodeSpec, NodeWeights, tensorOf, concatBatch,
} from '../src/reference';
import { proxyReference } from '../src/reference/proxies';
import { gaussianTensor, weightStream, STREAM_INPUT, STREAM_NOISE } from '../src/rng/philox';
import { parseStructure } from '../src/grammar/parse';
import { lowerForScoring, lowerAsTrained } from '../src/model/lower';
import { encodeDescriptor } from '../src/ops/descriptor';
import { isZennasError } from '../src/errors';

/** A hand-written graph as the engine would get it: built, encoded (descriptor v2), decoded. */
const net = (inputChannels: number, specs: NodeSpec[], outputs?: number[]): ReferenceNet =>
  decodeForReference(encodeDescriptor(buildGraph(inputChannels, specs, outputs)));
const desc = (inputChannels: number, specs: NodeSpec[], outputs?: number[]): Int32Array => encodeDescriptor(buildGraph(inputChannels, specs, outputs));

const T = (n: number, c: number, h: number, w: number, v: number[]): Tensor4 => tensorOf(n, c, h, w, v);
const W = (...v: number[]): NodeWeights => ({ weight: Float64Array.from(v) });
const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol;
/** outputs[0] of a forward in training mode with ε = 0. */
const out = (n: ReferenceNet, w: Array<NodeWeights | null>, x: Tensor4): Tensor4 => referenceForward(n, w, x, { bnEps: 0 }).outputs[0]!;

// ---------------------------------------------------------------- ops on hand values

test('CONV: 3×3 ones kernel, pad 1, stride 1 and 2 (neighbourhood sums of 1..9)', (t) => {
  const x = T(1, 1, 3, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const w = { weight: new Float64Array(9).fill(1) };
  const s1 = out(net(1, [{ op: 'conv', inputs: [0], cout: 1, kernel: 3, stride: 1 }]), [w], x);
  // corner (0,0) = 1+2+4+5 = 12, edge (0,1) = 1+2+3+4+5+6 = 21, centre = 45
  t.deepEqual(Array.from(s1.data), [12, 21, 16, 27, 45, 33, 24, 39, 28]);
  const s2 = out(net(1, [{ op: 'conv', inputs: [0], cout: 1, kernel: 3, stride: 2 }]), [w], x);
  t.is(s2.h, 2);
  t.deepEqual(Array.from(s2.data), [12, 16, 24, 28]);
});

test('CONV weight layout is OIHW: w[co][ci]', (t) => {
  // 1×1 conv, 2 → 2 channels, w = [[1, 10], [100, 1000]]; x = (ch0 = 1, ch1 = 2) → (1 + 20, 100 + 2000)
  const y = out(net(2, [{ op: 'conv', inputs: [0], cout: 2, kernel: 1, stride: 1 }]), [W(1, 10, 100, 1000)], T(1, 2, 1, 1, [1, 2]));
  t.deepEqual(Array.from(y.data), [21, 2100]);
});

test('DWCONV: each channel with its own kernel', (t) => {
  // ch0 = 1..9 with ones, ch1 = 1..9 with twos → ch1 is twice the neighbourhood sums
  const x = T(1, 2, 3, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const y = out(net(2, [{ op: 'dwconv', inputs: [0], kernel: 3, stride: 1 }]), [W(...new Array(9).fill(1), ...new Array(9).fill(2))], x);
  t.deepEqual(Array.from(y.data), [12, 21, 16, 27, 45, 33, 24, 39, 28, 24, 42, 32, 54, 90, 66, 48, 78, 56]);
});

test('MAXPOOL 3×3 stride 2 pads with −∞ (negative inputs stay negative)', (t) => {
  const v = Array.from({ length: 16 }, (_, i) => i);
  const n = net(1, [{ op: 'maxpool', inputs: [0], kernel: 3, stride: 2 }]);
  // windows: rows/cols {0,1}, {1,2,3} → maxima at (1,1)=5, (1,3)=7, (3,1)=13, (3,3)=15
  t.deepEqual(Array.from(out(n, [], T(1, 1, 4, 4, v)).data), [5, 7, 13, 15]);
  // negated: maxima at the window's top-left element: (0,0)=0, (0,1)=−1, (1,0)=−4, (1,1)=−5 (zero padding would give 0s)
  t.deepEqual(Array.from(out(n, [], T(1, 1, 4, 4, v.map((a) => -a))).data), [-0, -1, -4, -5]);
});

test('AVGPOOL 3×3 stride 2 on 4×4: count_include_pad 1 (default) divides by 9, 0 by the in-bounds count', (t) => {
  const v = Array.from({ length: 16 }, (_, i) => i);
  // windows rows/cols {0,1} and {1,2,3}: sums 0+1+4+5 = 10, 1+2+3+5+6+7 = 24, 4+5+8+9+12+13 = 51, 5+6+7+9+10+11+13+14+15 = 90
  const inc = out(net(1, [{ op: 'avgpool', inputs: [0], kernel: 3, stride: 2 }]), [], T(1, 1, 4, 4, v));
  t.deepEqual(Array.from(inc.data), [10 / 9, 24 / 9, 51 / 9, 90 / 9]);
  const exc = out(net(1, [{ op: 'avgpool', inputs: [0], kernel: 3, stride: 2, countIncludePad: 0 }]), [], T(1, 1, 4, 4, v));
  t.deepEqual(Array.from(exc.data), [10 / 4, 24 / 6, 51 / 6, 90 / 9]);
});

test('GAP → LINEAR → SIGMOID → MUL (SE gate) → ADD (residual)', (t) => {
  // x: ch0 = [1, 3], ch1 = [2, 6] (1×2 images); GAP = [2, 4]; W = [[1, 0], [0, −1]] → [2, −4];
  // gate = [σ(2), σ(−4)]; out = x ⊙ gate + x
  const n = net(2, [
    { op: 'gap', inputs: [0] }, { op: 'linear', inputs: [1], cout: 2 }, { op: 'sigmoid', inputs: [2] },
    { op: 'mul', inputs: [0, 3] }, { op: 'add', inputs: [4, 0] },
  ]);
  const s = referenceForward(n, [null, W(1, 0, 0, -1)], T(1, 2, 1, 2, [1, 3, 2, 6])).values;
  const sg = (z: number) => 1 / (1 + Math.exp(-z));
  t.deepEqual(Array.from(s[1]!.data), [2, 4]);
  t.deepEqual(Array.from(s[3]!.data), [sg(2), sg(-4)]);
  const want = [1 * sg(2) + 1, 3 * sg(2) + 3, 2 * sg(-4) + 2, 6 * sg(-4) + 6];
  s[5]!.data.forEach((v, i) => t.true(close(v, want[i]!, 1e-15)));
});

test('LINEAR bias, SWISH, IDENTITY, ZERO, 3-input ADD', (t) => {
  const n = net(2, [
    { op: 'linear', inputs: [0], cout: 1, bias: 1 }, { op: 'swish', inputs: [0] }, { op: 'identity', inputs: [0] },
    { op: 'zero', inputs: [0] }, { op: 'add', inputs: [2, 3, 4] },
  ], [1, 5]);
  const f = referenceForward(n, [{ weight: Float64Array.from([1, 2]), bias: Float64Array.from([0.5]) }], T(1, 2, 1, 1, [3, -1]));
  t.deepEqual(Array.from(f.outputs[0]!.data), [3 - 2 + 0.5]);
  const sw = (z: number) => z * (1 / (1 + Math.exp(-z)));
  t.deepEqual(Array.from(f.values[4]!.data), [0, 0]);
  t.deepEqual(Array.from(f.outputs[1]!.data), [sw(3) + 3, sw(-1) - 1]);
});

test('BN: biased batch statistics over (N, H, W), γ=1, β=0; eval mode uses the running statistics', (t) => {
  // one channel, batch 2 of 1×2: values 1, 3, 5, 7 → mean 4, biased var (9+1+1+9)/4 = 5
  const n = net(1, [{ op: 'bn', inputs: [0] }]);
  const f = referenceForward(n, [], T(2, 1, 1, 2, [1, 3, 5, 7]), { bnEps: 0 });
  const stats: BnStats[] = f.bn;
  t.is(stats.length, 1);
  t.is(stats[0]!.count, 4);
  t.is(stats[0]!.mean[0], 4);
  t.is(stats[0]!.variance[0], 5);
  Array.from(f.outputs[0]!.data).forEach((v, i) => t.true(close(v, ([-3, -1, 1, 3][i]!) / Math.sqrt(5), 1e-15)));
  // eval: (x − 1)/√(3 + 1) · γ + β with γ = 2, β = −1; batch statistics still reported
  const e = referenceForward(n, [{ gamma: Float64Array.from([2]), beta: Float64Array.from([-1]) }], T(2, 1, 1, 2, [1, 3, 5, 7]),
    { bnEps: 1, bn: { mean: [Float64Array.from([1])], variance: [Float64Array.from([3])] } });
  t.deepEqual(Array.from(e.outputs[0]!.data), [-1, 1, 3, 5]);
  t.is(e.bn[0]!.variance[0], 5);
  // null running statistics: mean 0, variance 1
  t.deepEqual(Array.from(referenceForward(n, [], T(1, 1, 1, 2, [2, -4]), { bnEps: 0, bn: { mean: [null], variance: [null] } }).outputs[0]!.data), [2, -4]);
});

test('BN groups: bnGroups 2 normalises each half of the batch with its own statistics', (t) => {
  const n = net(1, [{ op: 'bn', inputs: [0] }]);
  const f = referenceForward(n, [], T(4, 1, 1, 2, [1, 3, 5, 7, 0, 0, 10, 10]), { bnEps: 0, bnGroups: 2 });
  t.deepEqual(f.bn.map((s) => [s.group, s.count, s.mean[0], s.variance[0]]), [[0, 4, 4, 5], [1, 4, 5, 25]]);
  Array.from(f.outputs[0]!.data).forEach((v, i) => t.true(close(v, [-3 / Math.sqrt(5), -1 / Math.sqrt(5), 1 / Math.sqrt(5), 3 / Math.sqrt(5), -1, -1, 1, 1][i]!, 1e-15)));
});

// ---------------------------------------------------------------- hand-computed Zen-score

// Net: CONV 1×1 (1→1, w = 2), BN (ε = 0), RELU; batch 2, 1 channel, 2×2 images, α = 0.5.
const tinyNet = () => net(1, [{ op: 'conv', inputs: [0], cout: 1, kernel: 1, stride: 1 }, { op: 'bn', inputs: [1] }, { op: 'relu', inputs: [2] }]);
const tinyW = () => [W(2), null, null];
const tinyX = () => T(2, 1, 2, 2, [1, -1, 2, -2, 0, 0, 3, -3]);
const tinyE = () => T(2, 1, 2, 2, [2, 0, 0, 0, 0, 0, 0, -2]);

test('hand-computed tiny case, paper mode', (t) => {
  // x  = [1, −1, 2, −2 | 0, 0, 3, −3]: mean 0, biased var 28/8 = 3.5; conv (×2): var 14 → σ̄ = √14.
  // x' = x + 0.5ε = [2, −1, 2, −2 | 0, 0, 3, −4]: mean 0, var 38/8 = 4.75; conv var 19.
  // clean BN = 2x/√14 = x/√3.5, noisy BN = 2x'/√19 = x'/√4.75; after ReLU:
  //   sample 0: [1, 0, 2, 0]/√3.5 vs [2, 0, 2, 0]/√4.75 → |1/√3.5 − 2/√4.75| + |2/√3.5 − 2/√4.75|
  //   sample 1: [0, 0, 3, 0]/√3.5 vs [0, 0, 3, 0]/√4.75 → 3·|1/√3.5 − 1/√4.75|
  const a = 1 / Math.sqrt(3.5), b = 1 / Math.sqrt(4.75);
  const delta = (Math.abs(a - 2 * b) + Math.abs(2 * a - 2 * b) + 3 * Math.abs(a - b)) / 2;
  const r = zenRepeat(tinyNet(), tinyW(), tinyX(), tinyE(), { alpha: 0.5, bnEps: 0, mode: 'paper' });
  t.true(close(r.logDelta, Math.log(delta), 1e-14), `${r.logDelta} vs ${Math.log(delta)}`);
  t.true(close(r.logSigmaSum, 0.5 * Math.log(14), 1e-14));
  t.true(close(r.score, Math.log(delta) + 0.5 * Math.log(14), 1e-14));
  t.deepEqual(r.sigmaBar.length, 1);
});

test('hand-computed tiny case, official mode: running_var after two forwards', (t) => {
  // n = N·H·W = 8, unbiased factor 8/7; running_var = 0.9·(0.9·1 + 0.1·14·8/7) + 0.1·19·8/7
  //                                            = 0.81 + 0.09·16 + 0.1·152/7 = 0.81 + 1.44 + 15.2/7
  const rv = 0.81 + 1.44 + 15.2 / 7;
  const running = new Map<number, Float64Array>();
  const r = zenRepeat(tinyNet(), tinyW(), tinyX(), tinyE(), { alpha: 0.5, bnEps: 0, mode: 'official' }, running);
  t.true(close(r.logSigmaSum, 0.5 * Math.log(rv), 1e-14));
  // a second repeat on the same data keeps running: 0.81·rv + 0.09·16 + 0.1·152/7
  const r2 = zenRepeat(tinyNet(), tinyW(), tinyX(), tinyE(), { alpha: 0.5, bnEps: 0, mode: 'official' }, running);
  t.true(close(r2.logSigmaSum, 0.5 * Math.log(0.81 * rv + 1.44 + 15.2 / 7), 1e-14));
  // Δ does not depend on the mode
  t.is(r.logDelta, r2.logDelta);
});

// ---------------------------------------------------------------- first principles on Philox draws

test('1×1 CONV 3→C then BN: ln σ̄ equals the by-hand batch variance and ≈ ½ ln mean_c Σ w²', (t) => {
  const C = 32, B = 8, H = 16, seed = 11;
  const d = desc(3, [{ op: 'conv', inputs: [0], cout: C, kernel: 1, stride: 1 }, { op: 'bn', inputs: [1] }]);
  const r = zenScoreReference(d, { batchSize: B, resolution: H, seed });
  const w = gaussianTensor(seed, weightStream(0), 0, C * 3);
  const x = gaussianTensor(seed, STREAM_INPUT, 0, B * 3 * H * H);
  let meanVar = 0, meanW2 = 0;
  for (let c = 0; c < C; c++) {
    let s = 0, s2 = 0;
    for (let b = 0; b < B; b++) for (let p = 0; p < H * H; p++) {
      let y = 0;
      for (let ci = 0; ci < 3; ci++) y += w[c * 3 + ci]! * x[(b * 3 + ci) * H * H + p]!;
      s += y; s2 += y * y;
    }
    const n = B * H * H;
    meanVar += (s2 / n - (s / n) ** 2) / C;
    meanW2 += (w[c * 3]! ** 2 + w[c * 3 + 1]! ** 2 + w[c * 3 + 2]! ** 2) / C;
  }
  t.true(close(r.logSigmaSum[0]!, 0.5 * Math.log(meanVar), 1e-10));
  // E[var_c] = Σ_ci w² for x ~ N(0, 1); 2048 samples per channel → a few % per channel, averaged over 32
  t.true(close(r.logSigmaSum[0]!, 0.5 * Math.log(meanW2), 0.03), `${r.logSigmaSum[0]} vs ${0.5 * Math.log(meanW2)}`);
});

test('CONV only (no BN): Δ = α·mean_b Σ|Wε| ≈ α·H·W·√(2/π)·Σ_c ‖w_c‖', (t) => {
  const C = 16, B = 8, H = 8, seed = 3, alpha = 0.01;
  const d = desc(3, [{ op: 'conv', inputs: [0], cout: C, kernel: 1, stride: 1 }]);
  const r = zenScoreReference(d, { batchSize: B, resolution: H, seed, alpha });
  t.is(r.logSigmaSum[0], 0); // no BN → empty sum
  const w = gaussianTensor(seed, weightStream(0), 0, C * 3);
  let norms = 0;
  for (let c = 0; c < C; c++) norms += Math.hypot(w[3 * c]!, w[3 * c + 1]!, w[3 * c + 2]!);
  const expected = Math.log(alpha * H * H * Math.sqrt(2 / Math.PI) * norms);
  // 512 draws per channel: E|z| estimated to ~3 %
  t.true(close(r.logDelta[0]!, expected, 0.05), `${r.logDelta[0]} vs ${expected}`);
  // and exactly linear in α (a linear net)
  const r2 = zenScoreReference(d, { batchSize: B, resolution: H, seed, alpha: 2 * alpha });
  t.true(close(r2.logDelta[0]! - r.logDelta[0]!, Math.log(2), 1e-9));
});

/** conv k3 → BN → ReLU, three times (the middle one stride 2), 3 → 16 → 16 → 16. */
const DEEP: NodeSpec[] = [
  { op: 'conv', inputs: [0], cout: 16, kernel: 3, stride: 1 }, { op: 'bn', inputs: [1] }, { op: 'relu', inputs: [2] },
  { op: 'conv', inputs: [3], cout: 16, kernel: 3, stride: 2 }, { op: 'bn', inputs: [4] }, { op: 'relu', inputs: [5] },
  { op: 'conv', inputs: [6], cout: 16, kernel: 3, stride: 1 }, { op: 'bn', inputs: [7] }, { op: 'relu', inputs: [8] },
];
const deepNet = () => desc(3, DEEP);

test('BN + ReLU net: Δ is linear in α for small α (ln Δ(2α) − ln Δ(α) ≈ ln 2); σ̄ does not depend on α', (t) => {
  const o = { batchSize: 4, resolution: 8, seed: 5, repeats: 2 };
  const a = zenScoreReference(deepNet(), { ...o, alpha: 1e-4 });
  const b = zenScoreReference(deepNet(), { ...o, alpha: 2e-4 });
  for (let r = 0; r < 2; r++) {
    t.true(close(b.logDelta[r]! - a.logDelta[r]!, Math.log(2), 5e-3), `${b.logDelta[r]! - a.logDelta[r]!}`);
    t.is(a.logSigmaSum[r], b.logSigmaSum[r]);
  }
});

test('the 2B batch with bnGroups 2 is two separate forwards: Δ and σ̄ from them by hand, bit for bit', (t) => {
  const n = decodeForReference(deepNet());
  const o = { seed: 5, alpha: 0.01, bnEps: 1e-5 };
  const w = referenceWeights(n, o.seed, 0);
  const x = referenceInput('input', o.seed, 0, 3, 3, 8);
  const e = referenceInput('noise', o.seed, 0, 3, 3, 8);
  const xp: Tensor4 = { ...x, data: x.data.map((v, i) => v + o.alpha * e.data[i]!) };
  const f1 = referenceForward(n, w, x, o), f2 = referenceForward(n, w, xp, o);
  const joint = referenceForward(n, w, concatBatch([x, xp]), { ...o, bnGroups: 2 });
  t.deepEqual(Array.from(joint.outputs[0]!.data), [...f1.outputs[0]!.data, ...f2.outputs[0]!.data]);
  const per = f1.outputs[0]!.data.length / 3;
  let delta = 0;
  for (let b = 0; b < 3; b++) {
    let s = 0;
    for (let j = 0; j < per; j++) s += Math.abs(f1.outputs[0]!.data[b * per + j]! - f2.outputs[0]!.data[b * per + j]!);
    delta += s;
  }
  const r = zenRepeat(n, w, x, e, { ...o, mode: 'paper' });
  t.is(r.logDelta, Math.log(delta / 3));
  t.deepEqual(r.sigmaBar, f1.bn.map((s) => Math.sqrt(s.variance.reduce((a, v) => a + v, 0) / s.variance.length)));
});

test('official mode: σ̄² = mean_c(0.81 + 0.09·v₁·n/(n−1) + 0.1·v₂·n/(n−1)) from the clean and noisy batch variances', (t) => {
  const o = { batchSize: 4, resolution: 8, seed: 9, alpha: 0.01, bnEps: 1e-5 };
  const off = zenScoreReference(deepNet(), { ...o, mode: 'official' });
  const pap = zenScoreReference(deepNet(), { ...o, mode: 'paper' });
  t.is(off.logDelta[0], pap.logDelta[0]);
  // collect v₁ (clean) and v₂ (noisy) per BN by running the two forwards ourselves
  const n = decodeForReference(deepNet());
  const w = referenceWeights(n, o.seed, 0);
  const x = referenceInput('input', o.seed, 0, o.batchSize, 3, o.resolution);
  const e = referenceInput('noise', o.seed, 0, o.batchSize, 3, o.resolution);
  const xp: Tensor4 = { ...x, data: x.data.map((v, i) => v + o.alpha * e.data[i]!) };
  const v1 = referenceForward(n, w, x, o).bn, v2 = referenceForward(n, w, xp, o).bn;
  let want = 0;
  v1.forEach((s, i) => {
    const u = s.count / (s.count - 1);
    let m = 0;
    for (let c = 0; c < s.variance.length; c++) m += 0.81 + 0.09 * s.variance[c]! * u + 0.1 * v2[i]!.variance[c]! * u;
    want += 0.5 * Math.log(m / s.variance.length);
  });
  t.true(close(off.logSigmaSum[0]!, want, 1e-12));
  // With v₂ ≈ v₁ = v̄ (α small): official − paper per BN ≈ ½ ln(0.19·n/(n−1) + 0.81/v̄), → ½ ln 0.19 = −0.83
  // for large variances (DESIGN §1). Here n = 256, 64, 64 and v̄ ≈ 27, 50, 50, so the correction is visible.
  const paperSigma = zenRepeat(n, w, x, e, { ...o, mode: 'paper' }).sigmaBar;
  const counts = v1.map((s) => s.count);
  t.deepEqual(counts, [256, 64, 64]);
  const predicted = paperSigma.reduce((a, sb, i) => a + 0.5 * Math.log(0.19 * counts[i]! / (counts[i]! - 1) + 0.81 / sb ** 2), 0);
  t.true(close(off.scores[0]! - pap.scores[0]!, predicted, 0.01), `${off.scores[0]! - pap.scores[0]!} vs ${predicted}`);
  t.true(paperSigma.every((sb) => sb ** 2 > 20));
  t.true(close((off.scores[0]! - pap.scores[0]!) / 3, 0.5 * Math.log(0.19), 0.1));
});

test('official mode for large variances: ≈ ½ ln 0.19 per BN (fan-in 576 → v̄ ≈ 200)', (t) => {
  const wide = desc(3, [
    { op: 'conv', inputs: [0], cout: 64, kernel: 15, stride: 1 }, { op: 'bn', inputs: [1] }, { op: 'relu', inputs: [2] },
    { op: 'conv', inputs: [3], cout: 64, kernel: 3, stride: 1 }, { op: 'bn', inputs: [4] }, { op: 'relu', inputs: [5] },
  ]);
  const o = { batchSize: 8, resolution: 8, seed: 4 };
  const off = zenScoreReference(wide, { ...o, mode: 'official' });
  const pap = zenScoreReference(wide, { ...o, mode: 'paper' });
  // n = 512: n/(n−1) adds 0.001, 0.81/(0.19·v̄) ≈ 0.02 adds ≈ 0.01 per BN
  const perBn = (off.scores[0]! - pap.scores[0]!) / 2;
  t.true(close(perBn, 0.5 * Math.log(0.19), 0.02), `per BN ${perBn}`);
});

test('official mode: running_var persists across the repeats of one call', (t) => {
  // single BN over the input: v₁ = var(x), v₂ = var(x + αε) per repeat
  const d = desc(3, [{ op: 'bn', inputs: [0] }]);
  const o = { batchSize: 2, resolution: 4, seed: 1, alpha: 0.5, repeats: 3, mode: 'official' as const };
  const r = zenScoreReference(d, o);
  const rv = [1, 1, 1];
  for (let rep = 0; rep < 3; rep++) {
    for (const alpha of [0, o.alpha]) {
      const x = gaussianTensor(o.seed, STREAM_INPUT, rep, 2 * 3 * 16), e = gaussianTensor(o.seed, STREAM_NOISE, rep, 2 * 3 * 16);
      for (let c = 0; c < 3; c++) {
        const v: number[] = [];
        for (let b = 0; b < 2; b++) for (let p = 0; p < 16; p++) { const i = (b * 3 + c) * 16 + p; v.push(x[i]! + alpha * e[i]!); }
        const m = v.reduce((s, a) => s + a, 0) / 32;
        const unbiased = v.reduce((s, a) => s + (a - m) ** 2, 0) / 31;
        rv[c] = 0.9 * rv[c]! + 0.1 * unbiased;
      }
    }
    t.true(close(r.logSigmaSum[rep]!, 0.5 * Math.log((rv[0]! + rv[1]! + rv[2]!) / 3), 1e-12), `repeat ${rep}`);
  }
});

// ---------------------------------------------------------------- driver properties

test('repeat r is the same whatever the number of repeats; seeds differ; statistics are population std', (t) => {
  const o = { batchSize: 2, resolution: 8, seed: 77 };
  const three = zenScoreReference(deepNet(), { ...o, repeats: 3 });
  const one = zenScoreReference(deepNet(), { ...o, repeats: 1 });
  t.is(three.scores[0], one.scores[0]);
  t.not(three.scores[1], three.scores[0]);
  t.not(zenScoreReference(deepNet(), { ...o, seed: 78 }).scores[0], one.scores[0]);
  const m = three.scores.reduce((a, b) => a + b, 0) / 3;
  const sd = Math.sqrt(three.scores.reduce((a, b) => a + (b - m) ** 2, 0) / 3);
  t.true(close(three.mean, m, 1e-12));
  t.true(close(three.std, sd, 1e-12));
  t.true(close(three.ci95, 1.96 * sd / Math.sqrt(3), 1e-12));
  three.scores.forEach((s, i) => t.true(close(s, three.logDelta[i]! + three.logSigmaSum[i]!, 1e-12)));
  // a graph and its descriptor give the same result
  t.deepEqual(zenScoreReference(buildGraph(3, DEEP), { ...o, repeats: 3 }), three);
});

test("runs the lead's scoring lowering: one σ̄ term per BN, residuals removed", (t) => {
  const s = parseStructure('SuperConvK3BNRELU(3,8,2,1)SuperResK3K3(8,16,2,8,1)SuperResK1K3K1(16,16,1,8,1)');
  const g = lowerForScoring(s);
  const nBn = g.nodes.filter((l) => l.op === 'bn').length;
  t.is(nBn, 1 + 2 + 6);
  t.false(g.nodes.some((l) => l.op === 'add'));
  const n: ReferenceNet = decodeForReference(encodeDescriptor(g));
  const w = referenceWeights(n, 1, 0);
  const r = zenRepeat(n, w, referenceInput('input', 1, 0, 2, 3, 16), referenceInput('noise', 1, 0, 2, 3, 16), { alpha: 0.01, bnEps: 1e-5, mode: 'paper' });
  t.is(r.sigmaBar.length, nBn);
  t.true(Number.isFinite(r.score));
});

/** Zen-scores of the v1 reference (commit eaac0d6, slot descriptors) as float64 bits: the v2 reference reproduces them exactly. */
const V1_PINNED: Array<{ structure: string; lowering: 'scoring' | 'trained'; se: boolean; batch: number; res: number; bnEps: number; mode: 'paper' | 'official'; scores: string[]; logDelta: string[]; logSigmaSum: string[] }> = [
  { structure: 'SuperConvK3BNRELU(3,16,1,1)SuperResK3K3(16,24,2,16,1)SuperResK5K5(24,32,1,16,1)', lowering: 'scoring', se: false, batch: 4, res: 16, bnEps: 1e-5, mode: 'paper', scores: ['3315d9591c682a40', 'ffc786e4c2592a40'], logDelta: ['6cc5c6ea8e440640', 'c4223b7be55d0540'], logSigmaSum: ['d863279ff8d62440', '4effb78549022540'] },
  { structure: 'SuperConvK3BNRELU(3,16,1,1)SuperResK3K3(16,24,2,16,1)SuperResK5K5(24,32,1,16,1)', lowering: 'scoring', se: false, batch: 4, res: 16, bnEps: 1e-5, mode: 'official', scores: ['e61c5cb20a832240', '1e799fe166222540'], logDelta: ['6cc5c6ea8e440640', 'c4223b7be55d0540'], logSigmaSum: ['16d754efcde31940', 'da60a105db951f40'] },
  { structure: 'SuperConvK7BNRELU(3,16,2,1)MaxPool(16,16,3,2)SuperResK1K7K1(16,32,2,8,1)', lowering: 'scoring', se: false, batch: 4, res: 32, bnEps: 1e-3, mode: 'paper', scores: ['89cd163358aa2740', '7494219d71802740'], logDelta: ['406541da34490040', '1624c9d4026bfe3f'], logSigmaSum: ['397486fc0a982340', 'f16f884211b32340'] },
  { structure: 'SuperConvK7BNRELU(3,16,2,1)MaxPool(16,16,3,2)SuperResK1K7K1(16,32,2,8,1)', lowering: 'scoring', se: false, batch: 4, res: 32, bnEps: 1e-3, mode: 'official', scores: ['87f0228d5cdc1d40', '354e70833e942140'], logDelta: ['406541da34490040', '1624c9d4026bfe3f'], logSigmaSum: ['e73d0220c2b71540', '6453ae51bc8d1b40'] },
  { structure: 'SuperConvK3BNRELU(3,16,1,1)SuperResIDWE4K5(16,24,2,16,1)', lowering: 'scoring', se: true, batch: 8, res: 12, bnEps: 1e-5, mode: 'paper', scores: ['83e008a491f52740', '7c368ddc1bde2740'], logDelta: ['535772484e580440', '70e5e1774fb20240'], logSigmaSum: ['ae4aec117edf2240', '20bd94fe87312340'] },
  { structure: 'SuperConvK3BNRELU(3,16,1,1)SuperResIDWE4K5(16,24,2,16,1)', lowering: 'scoring', se: true, batch: 8, res: 12, bnEps: 1e-5, mode: 'official', scores: ['04aa3a6869601a40', '91d15863f66e2040'], logDelta: ['535772484e580440', '70e5e1774fb20240'], logSigmaSum: ['5a7e014442341040', '6ab0c00ac5841740'] },
  { structure: 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperResK3K3(16,16,1,8,1)', lowering: 'trained', se: false, batch: 6, res: 8, bnEps: 1e-5, mode: 'paper', scores: ['051d9d18f26d2040', '32281b342a052040'], logDelta: ['201822346e1effbf', '0cbd6d7f2d71febf'], logSigmaSum: ['096021dfbf512440', 'd3df08e44fd32340'] },
  { structure: 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperResK3K3(16,16,1,8,1)', lowering: 'trained', se: false, batch: 6, res: 8, bnEps: 1e-5, mode: 'official', scores: ['cc54a3cde6400b40', '2c379b968edf1340'], logDelta: ['201822346e1effbf', '0cbd6d7f2d71febf'], logSigmaSum: ['6e30daf30e681540', '6fa676f6d97b1b40'] },
  { structure: 'SuperConvK3BNRELU(3,8,1,1)SuperResIDWE2K3(8,16,2,8,1)', lowering: 'trained', se: true, batch: 3, res: 8, bnEps: 1e-5, mode: 'paper', scores: ['0d075ef7566f1540', '28467e613a8d1440'], logDelta: ['ccd81fbea03991bf', 'd239a243a570e9bf'], logSigmaSum: ['e6261c9890801540', '628df2094fbb1740'] },
  { structure: 'SuperConvK3BNRELU(3,8,1,1)SuperResIDWE2K3(8,16,2,8,1)', lowering: 'trained', se: true, batch: 3, res: 8, bnEps: 1e-5, mode: 'official', scores: ['2e5661ca2e7c0240', 'c8b8288584ca0740'], logDelta: ['ccd81fbea03991bf', 'd239a243a570e9bf'], logSigmaSum: ['e095dd0ba29e0240', '3c4711d6ad260e40'] },
];

const bits = (x: number) => Buffer.from(new Float64Array([x]).buffer).toString('hex');

test('the v2 reference reproduces the v1 reference bit for bit (scoring and as-trained lowerings, SE, both modes)', (t) => {
  for (const c of V1_PINNED) {
    const s = parseStructure(c.structure);
    const g = c.lowering === 'scoring' ? lowerForScoring(s, { se: c.se }) : lowerAsTrained(s, { numClasses: 10, se: c.se });
    const r = zenScoreReference(encodeDescriptor(g), { batchSize: c.batch, resolution: c.res, repeats: 2, seed: 2024, mode: c.mode, bnEps: c.bnEps, alpha: 0.01 });
    const label = `${c.structure} ${c.lowering} ${c.mode}`;
    t.deepEqual(r.scores.map(bits), c.scores, label);
    t.deepEqual(r.logDelta.map(bits), c.logDelta, label);
    t.deepEqual(r.logSigmaSum.map(bits), c.logSigmaSum, label);
  }
});

test('bad descriptors and options fail with ZennasError codes', (t) => {
  const code = (f: () => unknown) => { try { f(); return 'none'; } catch (e) { return isZennasError(e) ? e.code : 'other'; } };
  const o = { batchSize: 1, resolution: 4 };
  const conv: NodeSpec = { op: 'conv', inputs: [0], cout: 4, kernel: 3, stride: 1 };
  const ok = desc(3, [conv]);
  t.is(code(() => zenScoreReference(desc(3, [{ ...conv, inputs: [1] }]), o)), 'E_DESCRIPTOR'); // reads a value not yet produced
  t.is(code(() => zenScoreReference(desc(3, [{ ...conv, kernel: 4 }]), o)), 'E_DESCRIPTOR'); // even kernel
  t.is(code(() => zenScoreReference(desc(3, [conv], [2]), o)), 'E_DESCRIPTOR'); // output value never produced
  t.is(code(() => zenScoreReference(desc(3, [conv, { op: 'add', inputs: [0, 1] }]), o)), 'E_DESCRIPTOR'); // ADD of 3 and 4 channels
  t.is(code(() => zenScoreReference(desc(3, [{ op: 'linear', inputs: [0], cout: 2 }]), o)), 'E_STRUCTURE'); // LINEAR on 4×4
  t.is(code(() => zenScoreReference(desc(3, [{ ...conv, kernel: 15, stride: 8 }]), { batchSize: 1, resolution: 4 })), 'none');
  const v1 = ok.slice();
  v1[0] = 0x5a4e4e31;
  t.is(code(() => zenScoreReference(v1, o)), 'E_DESCRIPTOR'); // descriptor v1 is no longer accepted
  t.is(code(() => zenScoreReference(desc(3, [{ op: 'bn', inputs: [0] }]), { batchSize: 1, resolution: 1, mode: 'official' })), 'E_OPTION'); // one value per channel
  t.is(code(() => zenScoreReference(ok, { batchSize: 0, resolution: 4 })), 'E_OPTION');
  t.is(code(() => zenScoreReference(ok, { batchSize: 1, resolution: 4, alpha: 0 })), 'E_OPTION');
  t.is(code(() => zenScoreReference(ok, { batchSize: 1, resolution: 4, seed: -1 })), 'E_OPTION');
  t.is(code(() => zenScoreReference(ok, { batchSize: 1, resolution: 4, mode: 'x' as 'paper' })), 'E_OPTION');
  t.is(code(() => referenceForward(decodeForReference(ok), referenceWeights(decodeForReference(ok), 0, 0), referenceInput('input', 0, 0, 1, 2, 4))), 'E_OPTION'); // 2 channels
  t.is(code(() => zenScoreReference(ok, o)), 'none');
});

test('the float64 reference refuses nets past its size bound with E_OUT_OF_MEMORY, never a plain RangeError (issue #20 item 14)', (t) => {
  const small = encodeDescriptor(lowerForScoring(parseStructure('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,8,1,8,1)')));
  // An input of 64·3·4096² = 3.2e9 values (24 GiB of float64): V8 throws RangeError without the bound.
  const input = t.throws(() => zenScoreReference(small, { batchSize: 64, resolution: 4096 }));
  t.true(isZennasError(input) && input.code === 'E_OUT_OF_MEMORY', String(input));
  t.regex(input!.message, /needs a tensor of 3221225472 values \(24\.0 GiB\), over its bound of 268435456 values/);
  // Weights: a 7×7 conv 4096→4096 is 8.2e8 values, past the bound before any activation is made.
  const wide = encodeDescriptor({ inputChannels: 3, nodes: [
    { op: 'conv', inputs: [0], cin: 3, cout: 4096, kernel: 1, stride: 1, block: 0, role: 'main' },
    { op: 'conv', inputs: [1], cin: 4096, cout: 4096, kernel: 7, stride: 1, block: 0, role: 'main' },
  ], outputs: [2] });
  for (const f of [() => zenScoreReference(wide, { batchSize: 1, resolution: 1 }), () => proxyReference('grad_norm', wide, { batchSize: 1, resolution: 1 })]) {
    const e = t.throws(f);
    t.true(isZennasError(e) && e.code === 'E_OUT_OF_MEMORY', String(e));
    t.regex(e!.message, /822083584 values/);
  }
  // A small net still runs.
  t.true(Number.isFinite(zenScoreReference(small, { batchSize: 1, resolution: 8 }).mean));
});
