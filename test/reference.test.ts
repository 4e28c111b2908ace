import test from 'ava';
import {
  zenScoreReference, zenRepeat, referenceForward, referenceWeights, referenceInput, decodeForReference,
  ReferenceNet, Tensor4, BnStats,
} from '../src/reference/zen-reference';
import { gaussianTensor, weightStream, STREAM_INPUT, STREAM_NOISE } from '../src/rng/philox';
import { parseStructure } from '../src/grammar/parse';
import { lowerForScoring } from '../src/model/lower';
import { encodeDescriptor } from '../src/model/descriptor';
import { isZennasError } from '../src/errors';

const OP = { conv: 1, dwconv: 2, bn: 3, relu: 4, maxpool: 5, gap: 6, linear: 7, sigmoid: 8, mul: 9, add: 10 } as const;
type Rec = [keyof typeof OP, number, number, number, number, number, number, number]; // op src dst aux cin cout k stride

/** A descriptor written by hand (native/DESCRIPTOR.md layout). */
function desc(inputChannels: number, numSlots: number, outputSlot: number, ops: Rec[]): Int32Array {
  const d = new Int32Array(8 + 8 * ops.length);
  d.set([0x5a4e4e31, 1, ops.length, numSlots, inputChannels, outputSlot, 0, 0]);
  ops.forEach((r, i) => d.set([OP[r[0]], ...r.slice(1) as number[]], 8 + 8 * i));
  return d;
}

const T = (n: number, c: number, h: number, w: number, v: number[]): Tensor4 => ({ n, c, h, w, data: Float64Array.from(v) });
const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol;

// ---------------------------------------------------------------- ops on hand values

test('CONV: 3×3 ones kernel, pad 1, stride 1 and 2 (neighbourhood sums of 1..9)', (t) => {
  const x = T(1, 1, 3, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const w = new Float64Array(9).fill(1);
  const s1 = referenceForward(decodeForReference(desc(1, 2, 1, [['conv', 0, 1, 0, 1, 1, 3, 1]])), [w], x, 0)[1]!;
  // corner (0,0) = 1+2+4+5 = 12, edge (0,1) = 1+2+3+4+5+6 = 21, centre = 45
  t.deepEqual(Array.from(s1.data), [12, 21, 16, 27, 45, 33, 24, 39, 28]);
  const s2 = referenceForward(decodeForReference(desc(1, 2, 1, [['conv', 0, 1, 0, 1, 1, 3, 2]])), [w], x, 0)[1]!;
  t.is(s2.h, 2);
  t.deepEqual(Array.from(s2.data), [12, 16, 24, 28]);
});

test('CONV weight layout is OIHW: w[co][ci]', (t) => {
  // 1×1 conv, 2 → 2 channels, w = [[1, 10], [100, 1000]]; x = (ch0 = 1, ch1 = 2) → (1 + 20, 100 + 2000)
  const y = referenceForward(decodeForReference(desc(2, 2, 1, [['conv', 0, 1, 0, 2, 2, 1, 1]])),
    [Float64Array.from([1, 10, 100, 1000])], T(1, 2, 1, 1, [1, 2]), 0)[1]!;
  t.deepEqual(Array.from(y.data), [21, 2100]);
});

test('DWCONV: each channel with its own kernel', (t) => {
  // ch0 = 1..9 with ones, ch1 = 1..9 with twos → ch1 is twice the neighbourhood sums
  const x = T(1, 2, 3, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const w = Float64Array.from([...new Array(9).fill(1), ...new Array(9).fill(2)]);
  const y = referenceForward(decodeForReference(desc(2, 2, 1, [['dwconv', 0, 1, 0, 2, 2, 3, 1]])), [w], x, 0)[1]!;
  t.deepEqual(Array.from(y.data), [12, 21, 16, 27, 45, 33, 24, 39, 28, 24, 42, 32, 54, 90, 66, 48, 78, 56]);
});

test('MAXPOOL 3×3 stride 2 pads with −∞ (negative inputs stay negative)', (t) => {
  const v = Array.from({ length: 16 }, (_, i) => i);
  const net = decodeForReference(desc(1, 2, 1, [['maxpool', 0, 1, 0, 1, 1, 3, 2]]));
  // windows: rows/cols {0,1}, {1,2,3} → maxima at (1,1)=5, (1,3)=7, (3,1)=13, (3,3)=15
  t.deepEqual(Array.from(referenceForward(net, [null], T(1, 1, 4, 4, v), 0)[1]!.data), [5, 7, 13, 15]);
  // negated: maxima at the window's top-left element: (0,0)=0, (0,1)=−1, (1,0)=−4, (1,1)=−5 (zero padding would give 0s)
  t.deepEqual(Array.from(referenceForward(net, [null], T(1, 1, 4, 4, v.map((a) => -a)), 0)[1]!.data), [-0, -1, -4, -5]);
});

test('GAP → LINEAR → SIGMOID → MUL (SE gate) → ADD (residual)', (t) => {
  // x: ch0 = [1, 3], ch1 = [2, 6] (1×2 images); GAP = [2, 4]; W = [[1, 0], [0, −1]] → [2, −4];
  // gate = [σ(2), σ(−4)]; out = x ⊙ gate + x
  const net = decodeForReference(desc(2, 5, 4, [
    ['gap', 0, 1, 0, 2, 2, 0, 0], ['linear', 1, 2, 0, 2, 2, 0, 0], ['sigmoid', 2, 2, 0, 2, 2, 0, 0],
    ['mul', 0, 3, 2, 2, 2, 0, 0], ['add', 3, 4, 0, 2, 2, 0, 0],
  ]));
  const s = referenceForward(net, [null, Float64Array.from([1, 0, 0, -1]), null, null, null], T(1, 2, 1, 2, [1, 3, 2, 6]), 0);
  const sg = (z: number) => 1 / (1 + Math.exp(-z));
  t.deepEqual(Array.from(s[1]!.data), [2, 4]);
  t.deepEqual(Array.from(s[2]!.data), [sg(2), sg(-4)]);
  const want = [1 * sg(2) + 1, 3 * sg(2) + 3, 2 * sg(-4) + 2, 6 * sg(-4) + 6];
  s[4]!.data.forEach((v, i) => t.true(close(v, want[i]!, 1e-15)));
});

test('BN: biased batch statistics over (N, H, W), γ=1, β=0', (t) => {
  // one channel, batch 2 of 1×2: values 1, 3, 5, 7 → mean 4, biased var (9+1+1+9)/4 = 5
  const stats: BnStats[] = [];
  const y = referenceForward(decodeForReference(desc(1, 1, 0, [['bn', 0, 0, 0, 1, 1, 0, 0]])), [null],
    T(2, 1, 1, 2, [1, 3, 5, 7]), 0, (s) => stats.push(s))[0]!;
  t.is(stats[0]!.count, 4);
  t.is(stats[0]!.variance[0], 5);
  Array.from(y.data).forEach((v, i) => t.true(close(v, ([-3, -1, 1, 3][i]!) / Math.sqrt(5), 1e-15)));
});

// ---------------------------------------------------------------- hand-computed Zen-score

// Net: CONV 1×1 (1→1, w = 2), BN (ε = 0), RELU; batch 2, 1 channel, 2×2 images, α = 0.5.
const tinyNet = () => decodeForReference(desc(1, 2, 1, [['conv', 0, 1, 0, 1, 1, 1, 1], ['bn', 1, 1, 0, 1, 1, 0, 0], ['relu', 1, 1, 0, 1, 1, 0, 0]]));
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
  const r = zenRepeat(tinyNet(), [Float64Array.from([2]), null, null], tinyX(), tinyE(), { alpha: 0.5, bnEps: 0, mode: 'paper' });
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
  const r = zenRepeat(tinyNet(), [Float64Array.from([2]), null, null], tinyX(), tinyE(), { alpha: 0.5, bnEps: 0, mode: 'official' }, running);
  t.true(close(r.logSigmaSum, 0.5 * Math.log(rv), 1e-14));
  // a second repeat on the same data keeps running: 0.81·rv + 0.09·16 + 0.1·152/7
  const r2 = zenRepeat(tinyNet(), [Float64Array.from([2]), null, null], tinyX(), tinyE(), { alpha: 0.5, bnEps: 0, mode: 'official' }, running);
  t.true(close(r2.logSigmaSum, 0.5 * Math.log(0.81 * rv + 1.44 + 15.2 / 7), 1e-14));
  // Δ does not depend on the mode
  t.is(r.logDelta, r2.logDelta);
});

// ---------------------------------------------------------------- first principles on Philox draws

test('1×1 CONV 3→C then BN: ln σ̄ equals the by-hand batch variance and ≈ ½ ln mean_c Σ w²', (t) => {
  const C = 32, B = 8, H = 16, seed = 11;
  const d = desc(3, 2, 1, [['conv', 0, 1, 0, 3, C, 1, 1], ['bn', 1, 1, 0, C, C, 0, 0]]);
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
  const r = zenScoreReference(desc(3, 2, 1, [['conv', 0, 1, 0, 3, C, 1, 1]]), { batchSize: B, resolution: H, seed, alpha });
  t.is(r.logSigmaSum[0], 0); // no BN → empty sum
  const w = gaussianTensor(seed, weightStream(0), 0, C * 3);
  let norms = 0;
  for (let c = 0; c < C; c++) norms += Math.hypot(w[3 * c]!, w[3 * c + 1]!, w[3 * c + 2]!);
  const expected = Math.log(alpha * H * H * Math.sqrt(2 / Math.PI) * norms);
  // 512 draws per channel: E|z| estimated to ~3 %
  t.true(close(r.logDelta[0]!, expected, 0.05), `${r.logDelta[0]} vs ${expected}`);
  // and exactly linear in α (a linear net)
  const r2 = zenScoreReference(desc(3, 2, 1, [['conv', 0, 1, 0, 3, C, 1, 1]]), { batchSize: B, resolution: H, seed, alpha: 2 * alpha });
  t.true(close(r2.logDelta[0]! - r.logDelta[0]!, Math.log(2), 1e-9));
});

const deepNet = () => desc(3, 3, 1, [
  ['conv', 0, 1, 0, 3, 16, 3, 1], ['bn', 1, 1, 0, 16, 16, 0, 0], ['relu', 1, 1, 0, 16, 16, 0, 0],
  ['conv', 1, 2, 0, 16, 16, 3, 2], ['bn', 2, 2, 0, 16, 16, 0, 0], ['relu', 2, 2, 0, 16, 16, 0, 0],
  ['conv', 2, 1, 0, 16, 16, 3, 1], ['bn', 1, 1, 0, 16, 16, 0, 0], ['relu', 1, 1, 0, 16, 16, 0, 0],
]);

test('BN + ReLU net: Δ is linear in α for small α (ln Δ(2α) − ln Δ(α) ≈ ln 2); σ̄ does not depend on α', (t) => {
  const o = { batchSize: 4, resolution: 8, seed: 5, repeats: 2 };
  const a = zenScoreReference(deepNet(), { ...o, alpha: 1e-4 });
  const b = zenScoreReference(deepNet(), { ...o, alpha: 2e-4 });
  for (let r = 0; r < 2; r++) {
    t.true(close(b.logDelta[r]! - a.logDelta[r]!, Math.log(2), 5e-3), `${b.logDelta[r]! - a.logDelta[r]!}`);
    t.is(a.logSigmaSum[r], b.logSigmaSum[r]);
  }
});

test('official mode: σ̄² = mean_c(0.81 + 0.09·v₁·n/(n−1) + 0.1·v₂·n/(n−1)) from the clean and noisy batch variances', (t) => {
  const o = { batchSize: 4, resolution: 8, seed: 9, alpha: 0.01, bnEps: 1e-5 };
  const off = zenScoreReference(deepNet(), { ...o, mode: 'official' });
  const pap = zenScoreReference(deepNet(), { ...o, mode: 'paper' });
  t.is(off.logDelta[0], pap.logDelta[0]);
  // collect v₁ (clean) and v₂ (noisy) per BN by running the two forwards ourselves
  const net = decodeForReference(deepNet());
  const w = referenceWeights(net, o.seed, 0);
  const x = referenceInput('input', o.seed, 0, o.batchSize, 3, o.resolution);
  const e = referenceInput('noise', o.seed, 0, o.batchSize, 3, o.resolution);
  const xp: Tensor4 = { ...x, data: x.data.map((v, i) => v + o.alpha * e.data[i]!) };
  const v1: BnStats[] = [], v2: BnStats[] = [];
  referenceForward(net, w, x, o.bnEps, (s) => v1.push(s));
  referenceForward(net, w, xp, o.bnEps, (s) => v2.push(s));
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
  const paperSigma = zenRepeat(net, w, x, e, { ...o, mode: 'paper' }).sigmaBar;
  const counts = v1.map((s) => s.count);
  t.deepEqual(counts, [256, 64, 64]);
  const predicted = paperSigma.reduce((a, sb, i) => a + 0.5 * Math.log(0.19 * counts[i]! / (counts[i]! - 1) + 0.81 / sb ** 2), 0);
  t.true(close(off.scores[0]! - pap.scores[0]!, predicted, 0.01), `${off.scores[0]! - pap.scores[0]!} vs ${predicted}`);
  t.true(paperSigma.every((sb) => sb ** 2 > 20));
  t.true(close((off.scores[0]! - pap.scores[0]!) / 3, 0.5 * Math.log(0.19), 0.1));
});

test('official mode for large variances: ≈ ½ ln 0.19 per BN (fan-in 576 → v̄ ≈ 200)', (t) => {
  const wide = desc(3, 3, 1, [
    ['conv', 0, 1, 0, 3, 64, 15, 1], ['bn', 1, 1, 0, 64, 64, 0, 0], ['relu', 1, 1, 0, 64, 64, 0, 0],
    ['conv', 1, 2, 0, 64, 64, 3, 1], ['bn', 2, 2, 0, 64, 64, 0, 0], ['relu', 2, 2, 0, 64, 64, 0, 0],
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
  const d = desc(3, 1, 0, [['bn', 0, 0, 0, 3, 3, 0, 0]]);
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
});

test('runs the lead\'s scoring lowering: one σ̄ term per BN, residuals removed', (t) => {
  const s = parseStructure('SuperConvK3BNRELU(3,8,2,1)SuperResK3K3(8,16,2,8,1)SuperResK1K3K1(16,16,1,8,1)');
  const list = lowerForScoring(s);
  const nBn = list.layers.filter((l) => l.op === 'bn').length;
  t.is(nBn, 1 + 2 + 6);
  t.false(list.layers.some((l) => l.op === 'add'));
  const net: ReferenceNet = decodeForReference(encodeDescriptor(list));
  const w = referenceWeights(net, 1, 0);
  const r = zenRepeat(net, w, referenceInput('input', 1, 0, 2, 3, 16), referenceInput('noise', 1, 0, 2, 3, 16), { alpha: 0.01, bnEps: 1e-5, mode: 'paper' });
  t.is(r.sigmaBar.length, nBn);
  t.true(Number.isFinite(r.score));
});

test('bad descriptors and options fail with ZennasError codes', (t) => {
  const code = (f: () => unknown) => { try { f(); return 'none'; } catch (e) { return isZennasError(e) ? e.code : 'other'; } };
  const ok = desc(3, 2, 1, [['conv', 0, 1, 0, 3, 4, 3, 1]]);
  t.is(code(() => zenScoreReference(desc(3, 2, 1, [['conv', 0, 1, 0, 2, 4, 3, 1]]), { batchSize: 1, resolution: 4 })), 'E_DESCRIPTOR');
  t.is(code(() => zenScoreReference(desc(3, 3, 2, [['conv', 1, 2, 0, 3, 4, 3, 1]]), { batchSize: 1, resolution: 4 })), 'E_DESCRIPTOR');
  t.is(code(() => zenScoreReference(desc(3, 2, 1, [['conv', 0, 1, 0, 3, 4, 4, 1]]), { batchSize: 1, resolution: 4 })), 'E_DESCRIPTOR');
  t.is(code(() => zenScoreReference(desc(3, 2, 1, [['bn', 0, 0, 0, 3, 3, 0, 0]]), { batchSize: 1, resolution: 4 })), 'E_DESCRIPTOR');
  t.is(code(() => zenScoreReference(ok, { batchSize: 0, resolution: 4 })), 'E_OPTION');
  t.is(code(() => zenScoreReference(ok, { batchSize: 1, resolution: 4, alpha: 0 })), 'E_OPTION');
  t.is(code(() => zenScoreReference(ok, { batchSize: 1, resolution: 4, seed: -1 })), 'E_OPTION');
  t.is(code(() => zenScoreReference(ok, { batchSize: 1, resolution: 4, mode: 'x' as 'paper' })), 'E_OPTION');
  t.is(code(() => zenScoreReference(ok, { batchSize: 1, resolution: 4 })), 'none');
});
