/**
 * The float64 reference's reverse pass (src/reference) against central finite differences, and
 * VJPs known from first principles.
 *
 * Finite differences: h = 1e-5 in float64, every element of small tensors (an even spread of at
 * most 128 of larger ones), for the input and every weight tensor (conv, dwconv, linear W and bias,
 * BN γ and β). The error of element j, |fd − g| / max(|g|, 1e-2·max|g|, 1e-3·S), must stay ≤ 1e-6,
 * where S = Σ |∂L/∂y · y| is the loss's scale: the truncation error (h²·f‴/6 ≈ 1e-11) and the
 * rounding error (≈ 1e-16·S/h, kept small by differencing the outputs, not the losses) are far
 * below, and a wrong formula errs by O(1) (a test below shows the checker rejecting two).
 * ReLU and max-pool kinks are kept at ≥ 5e-4 from every checked point (asserted), far more than
 * what a step of h moves any pre-activation.
 */
import test, { ExecutionContext } from 'ava';
import fc from 'fast-check';
import {
  BnStats, EvalBn, ForwardOptions, ForwardResult, Gradients, LossHead, NodeWeights, ReferenceNet, Tensor4,
  applyHead, buildGraph, crossEntropyHead, decodeForReference, referenceBackward, referenceForward, referenceLossGradients,
  referenceWeights, sumHead, tensorOf, NodeSpec,
} from '../src/reference';
import { gaussianTensor } from '../src/rng/philox';
import { encodeDescriptor } from '../src/ops/descriptor';
import { Graph } from '../src/ops/graph';
import { OP_NAMES } from '../src/ops/schema';

const H = 1e-5;
const TOL = 1e-6;
const KINK_MARGIN = 5e-4;

/** N(0, 1) values of a fixed (seed, stream). */
const randn = (seed: number, count: number, stream = 7): Float64Array => gaussianTensor(seed, stream, 0, count);

/** Through the wire format, so the decoded form is what the reference sees (as the engine does). */
const viaDescriptor = (g: Graph): ReferenceNet => decodeForReference(encodeDescriptor(g));

/**
 * Weights for gradient checks: Philox draws z mapped to sign(z)·(0.5 + |z|)/√fan-in (activations
 * O(1); no weight near 0, where a 1×1 conv into BN, f(w) = w/√(w²σ² + ε), bends on the scale √ε
 * and central differences lose their accuracy), and BN γ = 1 + 0.3·z, β = 0.3·z, LINEAR
 * bias = 0.5·z, so that no gradient formula is tested only at γ = 1, β = 0.
 */
function checkWeights(net: ReferenceNet, seed: number): NodeWeights[] {
  return referenceWeights(net, seed, 0).map((w, i) => {
    const n = net.nodes[i]!;
    const z = (count: number, k: number) => randn(seed * 100 + i, count, 100 + k);
    if (w.weight) {
      const fanIn = n.op === 'dwconv' ? n.kernel * n.kernel : n.op === 'linear' ? n.cin : n.cin * n.kernel * n.kernel;
      w.weight = w.weight.map((v) => (Math.sign(v) * (0.5 + Math.abs(v))) / Math.sqrt(fanIn));
    }
    if (w.bias) w.bias = z(w.bias.length, 1).map((v) => 0.5 * v);
    if (w.gamma) w.gamma = z(w.gamma.length, 2).map((v) => 1 + 0.3 * v);
    if (w.beta) w.beta = z(w.beta.length, 3).map((v) => 0.3 * v);
    return w;
  });
}

const input = (seed: number, n: number, c: number, r: number): Tensor4 => tensorOf(n, c, r, r, randn(seed, n * c * r * r, 0x40000000));

/** 'proj': L = Σ_k ⟨r_k, outputs[k]⟩ with fixed random r_k (every output, every element weighted differently). */
type Head = LossHead | { kind: 'proj'; seed: number };

function lossAndSeeds(head: Head, fwd: ForwardResult): { loss: number; seeds: Tensor4[] } {
  if (head.kind !== 'proj') {
    const h = applyHead(head, fwd.outputs[0]!);
    return { loss: h.loss, seeds: [h.grad] };
  }
  let loss = 0;
  const seeds = fwd.outputs.map((y, k) => {
    const r = tensorOf(y.n, y.c, y.h, y.w, randn(head.seed + k, y.data.length, 55));
    for (let j = 0; j < y.data.length; j++) loss += r.data[j]! * y.data[j]!;
    return r;
  });
  return { loss, seeds };
}

/** Smallest distance of the forward to a kink: |ReLU input| and (max − runner-up) of every max-pool window. */
function kinkDistance(net: ReferenceNet, fwd: ForwardResult): number {
  let d = Infinity;
  net.nodes.forEach((n, i) => {
    const x = fwd.values[n.inputs[0]!]!;
    if (n.op === 'relu') for (const v of x.data) d = Math.min(d, Math.abs(v));
    if (n.op === 'maxpool') {
      const pad = (n.kernel - 1) >> 1, y = fwd.values[i + 1]!;
      for (let nc = 0; nc < x.n * x.c; nc++) for (let oh = 0; oh < y.h; oh++) for (let ow = 0; ow < y.w; ow++) {
        const win: number[] = [];
        for (let kh = 0; kh < n.kernel; kh++) for (let kw = 0; kw < n.kernel; kw++) {
          const ih = oh * n.stride - pad + kh, iw = ow * n.stride - pad + kw;
          if (ih >= 0 && ih < x.h && iw >= 0 && iw < x.w) win.push(x.data[(nc * x.h + ih) * x.w + iw]!);
        }
        win.sort((a, b) => b - a);
        if (win.length > 1) d = Math.min(d, win[0]! - win[1]!);
      }
    }
  });
  return d;
}

/** Nodes whose output reaches an output (through anything but a ZERO op): the others' weights get no gradient. */
function liveNodes(net: ReferenceNet): Set<number> {
  const live = new Set<number>(net.outputs);
  for (let i = net.nodes.length - 1; i >= 0; i--) if (live.has(i + 1) && net.nodes[i]!.op !== 'zero') for (const v of net.nodes[i]!.inputs) live.add(v);
  return new Set(net.nodes.map((_, i) => i).filter((i) => live.has(i + 1)));
}

interface CheckReport {
  /** Largest element error over every checked tensor. */
  maxErr: number;
  /** Where it is. */
  worst: string;
  /** Checked tensors whose analytic gradient is all zero but should not be (a check that proves little), or the reverse. */
  badZeros: string[];
  checked: number;
  kink: number;
}

/**
 * Central differences of L(x, weights) against `grads` (default: the reference's own backward)
 * for x and every weight tensor.
 */
function gradCheck(net: ReferenceNet, weights: NodeWeights[], x: Tensor4, head: Head, opts: ForwardOptions, grads?: Gradients): CheckReport {
  const fwd = referenceForward(net, weights, x, opts);
  const g = grads ?? referenceBackward(net, weights, fwd, lossAndSeeds(head, fwd).seeds);
  const outs = () => referenceForward(net, weights, x, opts);
  const seeds = lossAndSeeds(head, fwd).seeds;
  // The loss's scale S = Σ |∂L/∂y · y|: rounding limits a central difference to ≈ 1e-16·S/h.
  let scale = 0;
  seeds.forEach((r, k) => { for (let j = 0; j < r.data.length; j++) scale += Math.abs(r.data[j]! * fwd.outputs[k]!.data[j]!); });
  /**
   * L(θ + h) − L(θ − h) from the outputs' differences d = y₊ − y₋, so that it keeps the digits two
   * large sums would lose: Σ r·d for the linear heads; for cross-entropy, per image
   * lse(z₊) − lse(z₋) − d_label with lse(z₊) − lse(z₋) = log1p(Σ_k softmax(z₋)_k · expm1(d_k)).
   */
  const diff = (p: ForwardResult, m: ForwardResult): number => {
    let total = 0;
    p.outputs.forEach((y, k) => {
      const ym = m.outputs[k]!;
      if (head.kind !== 'crossEntropy') {
        for (let j = 0; j < y.data.length; j++) total += seeds[k]!.data[j]! * (y.data[j]! - ym.data[j]!);
        return;
      }
      if (k > 0) return;
      const K = y.c;
      for (let n = 0; n < y.n; n++) {
        const zm = Array.from(ym.data.subarray(n * K, (n + 1) * K)), max = Math.max(...zm);
        const e = zm.map((z) => Math.exp(z - max)), sum = e.reduce((a, b) => a + b, 0);
        let s = 0;
        for (let c = 0; c < K; c++) s += (e[c]! / sum) * Math.expm1(y.data[n * K + c]! - ym.data[n * K + c]!);
        const label = head.labels[n]!;
        total += (Math.log1p(s) - (y.data[n * K + label]! - ym.data[n * K + label]!)) / y.n;
      }
    });
    return total;
  };
  const live = liveNodes(net);
  const tensors: Array<{ name: string; data: Float64Array; grad: Float64Array | undefined; live: boolean }> = [{ name: 'input', data: x.data, grad: g.input.data, live: true }];
  weights.forEach((w, i) => {
    for (const f of ['weight', 'bias', 'gamma', 'beta'] as const) {
      const data = w[f];
      if (data) tensors.push({ name: `node ${i} (${net.nodes[i]!.op}) ${f}`, data, grad: g.weights[i]?.[f], live: live.has(i) });
    }
  });
  const report: CheckReport = { maxErr: 0, worst: '', badZeros: [], checked: 0, kink: kinkDistance(net, fwd) };
  for (const tn of tensors) {
    if (!tn.grad || tn.grad.length !== tn.data.length) { report.maxErr = Infinity; report.worst = `${tn.name}: no gradient of the right length`; continue; }
    const gmax = tn.grad.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    if ((gmax === 0) === tn.live) report.badZeros.push(`${tn.name} (${tn.live ? 'all zero' : 'should be zero'})`);
    const count = Math.min(tn.data.length, 128);
    for (let k = 0; k < count; k++) {
      const j = Math.floor((k * tn.data.length) / count);
      const v = tn.data[j]!;
      tn.data[j] = v + H;
      const p = outs();
      tn.data[j] = v - H;
      const m = outs();
      tn.data[j] = v;
      const fd = diff(p, m) / (2 * H), an = tn.grad[j]!;
      const err = Math.abs(fd - an) / Math.max(Math.abs(an), 1e-2 * gmax, 1e-3 * scale);
      report.checked++;
      if (err > report.maxErr) { report.maxErr = err; report.worst = `${tn.name}[${j}]: fd ${fd} vs ${an}`; }
    }
  }
  return report;
}

function assertCheck(t: ExecutionContext, label: string, r: CheckReport): void {
  t.true(r.kink >= KINK_MARGIN, `${label}: a ReLU / max-pool kink is ${r.kink} from the point (choose another seed)`);
  t.true(r.maxErr <= TOL, `${label}: max error ${r.maxErr} at ${r.worst}`);
  t.deepEqual(r.badZeros, [], `${label}: zero gradients`);
  t.log(`${label}: ${r.checked} elements, max error ${r.maxErr.toExponential(2)}, kink distance ${r.kink.toExponential(2)}`);
}

// ---------------------------------------------------------------- graphs covering every op

const B = 4, C = 3, R = 7;

/** conv k3 s1, BN, swish, dwconv k5 s2, BN, sigmoid, conv k1 s2, GAP, LINEAR with bias. */
const CONV_SPECS: NodeSpec[] = [
  { op: 'conv', inputs: [0], cout: 4, kernel: 3, stride: 1 },   // v1 [4][7][7]
  { op: 'bn', inputs: [1] },                                     // v2
  { op: 'swish', inputs: [2] },                                  // v3
  { op: 'dwconv', inputs: [3], kernel: 5, stride: 2 },           // v4 [4][4][4]
  { op: 'bn', inputs: [4] },                                     // v5
  { op: 'sigmoid', inputs: [5] },                                // v6
  { op: 'conv', inputs: [6], cout: 5, kernel: 1, stride: 2 },   // v7 [5][2][2]
  { op: 'gap', inputs: [7] },                                    // v8
  { op: 'linear', inputs: [8], cout: 3, bias: 1 },               // v9 logits
];

/** max-pool and both average-pool count modes, kernels 1/3/5, strides 1/2, ADD of two pools, LINEAR without bias. */
const POOL_SPECS: NodeSpec[] = [
  { op: 'conv', inputs: [0], cout: 3, kernel: 3, stride: 1 },                          // v1 [3][7][7]
  { op: 'maxpool', inputs: [1], kernel: 3, stride: 1 },                                 // v2 [3][7][7]
  { op: 'avgpool', inputs: [2], kernel: 3, stride: 2, countIncludePad: 1 },             // v3 [3][4][4]
  { op: 'avgpool', inputs: [1], kernel: 1, stride: 2, countIncludePad: 1 },             // v4 [3][4][4]
  { op: 'add', inputs: [3, 4] },                                                        // v5
  { op: 'avgpool', inputs: [5], kernel: 5, stride: 1, countIncludePad: 0 },             // v6 [3][4][4]
  { op: 'conv', inputs: [6], cout: 4, kernel: 5, stride: 2 },                           // v7 [4][2][2]
  { op: 'maxpool', inputs: [7], kernel: 1, stride: 1 },                                 // v8
  { op: 'avgpool', inputs: [8], kernel: 3, stride: 1, countIncludePad: 0 },             // v9 [4][2][2]
  { op: 'avgpool', inputs: [9], kernel: 3, stride: 2 },                                 // v10 [4][1][1] (default: padding counts)
  { op: 'maxpool', inputs: [7], kernel: 3, stride: 2 },                                 // v11 [4][1][1]
  { op: 'add', inputs: [10, 11] },                                                      // v12
  { op: 'gap', inputs: [12] },                                                          // v13
  { op: 'linear', inputs: [13], cout: 3, bias: 0 },                                     // v14 logits
];

/** AVGPOOL with its pad attribute: even kernels (NAS-Bench-201's 2×2/2, pad 0), pad 0 on odd k, pad > (k−1)/2, both count modes. */
const PAD_POOL_SPECS: NodeSpec[] = [
  { op: 'conv', inputs: [0], cout: 3, kernel: 3, stride: 1 },                          // v1 [3][7][7]
  { op: 'avgpool', inputs: [1], kernel: 2, stride: 2, pad: 0 },                         // v2 [3][3][3] (the last row/column is dropped)
  { op: 'avgpool', inputs: [1], kernel: 2, stride: 1, pad: 1, countIncludePad: 0 },     // v3 [3][8][8]
  { op: 'avgpool', inputs: [3], kernel: 4, stride: 3, pad: 2, countIncludePad: 1 },     // v4 [3][3][3]
  { op: 'avgpool', inputs: [1], kernel: 3, stride: 2, pad: 0, countIncludePad: 0 },     // v5 [3][3][3]
  { op: 'add', inputs: [2, 4, 5] },                                                     // v6
  { op: 'conv', inputs: [6], cout: 4, kernel: 3, stride: 1 },                           // v7 [4][3][3]
  { op: 'avgpool', inputs: [7], kernel: 2, stride: 1, pad: 1, countIncludePad: 1 },     // v8 [4][4][4]
  { op: 'gap', inputs: [8] },                                                           // v9
  { op: 'linear', inputs: [9], cout: 3, bias: 1 },                                      // v10 logits
];

/** CONCAT along channels: inputs of different widths, a value concatenated twice, a CONCAT of a CONCAT. */
const CONCAT_SPECS: NodeSpec[] = [
  { op: 'conv', inputs: [0], cout: 3, kernel: 3, stride: 1 },   // v1 [3][7][7]
  { op: 'bn', inputs: [1] },                                     // v2
  { op: 'relu', inputs: [2] },                                   // v3
  { op: 'conv', inputs: [3], cout: 2, kernel: 1, stride: 1 },   // v4 [2][7][7]
  { op: 'concat', inputs: [4, 3, 4] },                           // v5 [7][7][7] (v4 twice)
  { op: 'conv', inputs: [5], cout: 4, kernel: 3, stride: 2 },   // v6 [4][4][4]
  { op: 'avgpool', inputs: [5], kernel: 3, stride: 2, countIncludePad: 0 },  // v7 [7][4][4]
  { op: 'concat', inputs: [6, 7] },                              // v8 [11][4][4]
  { op: 'bn', inputs: [8] },                                     // v9
  { op: 'gap', inputs: [9] },                                    // v10
  { op: 'linear', inputs: [10], cout: 3, bias: 1 },              // v11 logits
];

/** DWCONV with dilation 2 (DARTS's dil_conv_3x3 / 5x5: ReLU → dilated depthwise → 1×1 conv → BN), stride 1 and 2, and dilation 3. */
const DILATED_SPECS: NodeSpec[] = [
  { op: 'conv', inputs: [0], cout: 3, kernel: 3, stride: 1 },                 // v1 [3][7][7]
  { op: 'relu', inputs: [1] },                                                 // v2
  { op: 'dwconv', inputs: [2], kernel: 3, stride: 1, dilation: 2 },           // v3 [3][7][7]
  { op: 'conv', inputs: [3], cout: 3, kernel: 1, stride: 1 },                 // v4
  { op: 'bn', inputs: [4] },                                                   // v5
  { op: 'dwconv', inputs: [5], kernel: 5, stride: 2, dilation: 2 },           // v6 [3][4][4]
  { op: 'dwconv', inputs: [1], kernel: 3, stride: 2, dilation: 3 },           // v7 [3][4][4]
  { op: 'add', inputs: [6, 7] },                                               // v8
  { op: 'gap', inputs: [8] },                                                  // v9
  { op: 'linear', inputs: [9], cout: 3, bias: 1 },                             // v10 logits
];

/** CROP: DARTS's FactorizedReduce (ReLU, conv 1×1/2 of x and of x[:, :, 1:, 1:], concat, BN; an even map: 7×7 → 6×6 first) and a crop by 2. */
const CROP_SPECS: NodeSpec[] = [
  { op: 'avgpool', inputs: [0], kernel: 2, stride: 1, pad: 0 }, { op: 'bn', inputs: [1] }, { op: 'relu', inputs: [2] },
  { op: 'conv', inputs: [3], cout: 4, kernel: 1, stride: 2 }, { op: 'crop', inputs: [3], offset: 1 }, { op: 'conv', inputs: [5], cout: 4, kernel: 1, stride: 2 },
  { op: 'concat', inputs: [4, 6] }, { op: 'bn', inputs: [7] }, { op: 'crop', inputs: [8], offset: 2 }, { op: 'conv', inputs: [9], cout: 8, kernel: 3, stride: 1 }, { op: 'gap', inputs: [10] }, { op: 'linear', inputs: [11], cout: 5, bias: 1 },
];

/** CROP with fill (TE-NAS's FactorizedReduce: pad (0, 1, 0, 1), then [1:, 1:]) on an odd map, and a fill crop by 2. */
const FILL_SPECS: NodeSpec[] = [
  { op: 'conv', inputs: [0], cout: 4, kernel: 3, stride: 1 },                   // v1 [4][7][7]
  { op: 'relu', inputs: [1] },                                                  // v2
  { op: 'conv', inputs: [2], cout: 3, kernel: 1, stride: 2 },                   // v3 [3][4][4]
  { op: 'crop', inputs: [2], offset: 1, fill: 1 },                              // v4 [4][7][7]
  { op: 'conv', inputs: [4], cout: 3, kernel: 1, stride: 2 },                   // v5 [3][4][4]
  { op: 'concat', inputs: [3, 5] },                                             // v6 [6][4][4]
  { op: 'bn', inputs: [6] },                                                    // v7
  { op: 'crop', inputs: [7], offset: 2, fill: 1 },                              // v8 [6][4][4]
  { op: 'conv', inputs: [8], cout: 6, kernel: 3, stride: 1 },                   // v9
  { op: 'gap', inputs: [9] },                                                   // v10
  { op: 'linear', inputs: [10], cout: 3, bias: 1 },                             // v11 logits
];

/** A cell: 3-input ADD with identity and zero edges, an SE gate (GAP, LINEAR, ReLU, sigmoid, MUL), a value read by several nodes. */
const CELL_SPECS: NodeSpec[] = [
  { op: 'conv', inputs: [0], cout: 4, kernel: 3, stride: 1 },   // v1 [4][7][7]
  { op: 'bn', inputs: [1] },                                     // v2
  { op: 'relu', inputs: [2] },                                   // v3
  { op: 'conv', inputs: [3], cout: 4, kernel: 3, stride: 1 },   // v4
  { op: 'identity', inputs: [2] },                               // v5
  { op: 'zero', inputs: [3] },                                   // v6
  { op: 'add', inputs: [4, 5, 6] },                              // v7 (n-ary)
  { op: 'gap', inputs: [7] },                                    // v8
  { op: 'linear', inputs: [8], cout: 2, bias: 1 },               // v9
  { op: 'relu', inputs: [9] },                                   // v10
  { op: 'linear', inputs: [10], cout: 4 },                       // v11 (bias attribute unset: 0)
  { op: 'sigmoid', inputs: [11] },                               // v12
  { op: 'mul', inputs: [7, 12] },                                // v13 (SE gate)
  { op: 'add', inputs: [13, 7, 13] },                            // v14 (v13 read twice)
  { op: 'bn', inputs: [14] },                                    // v15
  { op: 'swish', inputs: [15] },                                 // v16
  { op: 'conv', inputs: [16], cout: 4, kernel: 3, stride: 2 },  // v17 [4][4][4]
  { op: 'gap', inputs: [17] },                                   // v18
  { op: 'linear', inputs: [18], cout: 3, bias: 1 },              // v19 logits
];

/** The hard activations of MobileNetV3 / HardCoRe-NAS: hard-swish on a feature map, a hard-sigmoid SE gate. */
const HARD_SPECS: NodeSpec[] = [
  { op: 'conv', inputs: [0], cout: 4, kernel: 3, stride: 1 },   // v1 [4][7][7]
  { op: 'bn', inputs: [1] },                                     // v2
  { op: 'hswish', inputs: [2] },                                 // v3
  { op: 'gap', inputs: [3] },                                    // v4
  { op: 'linear', inputs: [4], cout: 2, bias: 1 },               // v5
  { op: 'hswish', inputs: [5] },                                 // v6
  { op: 'linear', inputs: [6], cout: 4, bias: 1 },               // v7
  { op: 'hsigmoid', inputs: [7] },                               // v8
  { op: 'mul', inputs: [3, 8] },                                 // v9 (hard-sigmoid SE gate)
  { op: 'conv', inputs: [9], cout: 4, kernel: 3, stride: 2 },   // v10 [4][4][4]
  { op: 'gap', inputs: [10] },                                   // v11
  { op: 'linear', inputs: [11], cout: 3, bias: 1 },              // v12 logits
];

const GRAPHS: Array<{ name: string; specs: NodeSpec[]; feature: number; seed: number }> = [
  { name: 'conv', specs: CONV_SPECS, feature: 6, seed: 1 },
  { name: 'pool', specs: POOL_SPECS, feature: 9, seed: 2 },
  { name: 'padded pool', specs: PAD_POOL_SPECS, feature: 8, seed: 3 },
  { name: 'concat', specs: CONCAT_SPECS, feature: 9, seed: 4 },
  { name: 'dilated', specs: DILATED_SPECS, feature: 8, seed: 6 },
  { name: 'crop (FactorizedReduce)', specs: CROP_SPECS, feature: 9, seed: 8 },
  { name: 'crop with fill (TE-NAS FactorizedReduce, odd map)', specs: FILL_SPECS, feature: 9, seed: 9 },
  { name: 'cell', specs: CELL_SPECS, feature: 16, seed: 15 },
  { name: 'hard', specs: HARD_SPECS, feature: 10, seed: 16 },
];

test('the gradient-check graphs cover every op of the schema', (t) => {
  const used = new Set(GRAPHS.flatMap((g) => g.specs.map((s) => s.op)));
  t.deepEqual(OP_NAMES.filter((o) => !used.has(o)), []);
  const avg = POOL_SPECS.filter((s) => s.op === 'avgpool');
  const distinct = (v: number[]) => [...new Set(v)].sort();
  t.deepEqual(distinct(avg.map((s) => s.countIncludePad ?? 1)), [0, 1]);
  const windows = GRAPHS.flatMap((g) => g.specs.filter((s) => s.kernel));
  t.deepEqual(distinct(windows.map((s) => s.kernel!)), [1, 2, 3, 4, 5]);
  t.deepEqual(distinct(windows.filter((s) => s.pad !== undefined).map((s) => s.pad! - ((s.kernel! - 1) >> 1))), [-1, 0, 1]);  // pad below, at, above (k−1)/2
  t.deepEqual(distinct(windows.map((s) => s.stride!)), [1, 2, 3]);
  t.true(CELL_SPECS.some((s) => s.op === 'add' && s.inputs.length === 3));
});

const labels = [2, 0, 1, 2];

for (const g of GRAPHS) {
  for (const bnGroups of g.specs.some((s) => s.op === 'bn') ? [1, 2] : [1]) {
    const heads: Array<{ name: string; head: Head; outputs: number[] }> = [
      { name: 'sum of outputs (feature map)', head: { kind: 'sum' }, outputs: [g.feature] },
      { name: 'sum of outputs (logits)', head: { kind: 'sum' }, outputs: [g.specs.length] },
      { name: 'softmax cross-entropy', head: { kind: 'crossEntropy', labels }, outputs: [g.specs.length] },
      { name: 'random projection of two outputs', head: { kind: 'proj', seed: 9 }, outputs: [g.specs.length, g.feature] },
    ];
    for (const h of heads) {
      test(`finite differences = VJP: ${g.name} graph, BN groups ${bnGroups}, ${h.name}`, (t) => {
        const net = viaDescriptor(buildGraph(C, g.specs, h.outputs));
        const r = gradCheck(net, checkWeights(net, g.seed), input(g.seed, B, C, R), h.head, { bnEps: 1e-5, bnGroups });
        assertCheck(t, `${g.name}/${bnGroups}/${h.name}`, r);
        t.true(r.checked > 300);
      });
    }
  }
}

test('finite differences = VJP: eval-mode BN (running statistics), both heads', (t) => {
  for (const head of [{ kind: 'proj', seed: 4 }, { kind: 'crossEntropy', labels }] as Head[]) {
    for (const specs of [CONV_SPECS, CELL_SPECS]) {
      const net = viaDescriptor(buildGraph(C, specs, [specs.length, 3]));
      const bn: EvalBn = {
        mean: net.nodes.map((n, i) => (n.op === 'bn' ? randn(50 + i, n.cout, 1) : null)),
        variance: net.nodes.map((n, i) => (n.op === 'bn' ? randn(60 + i, n.cout, 2).map((v) => 0.5 + v * v) : null)),
      };
      assertCheck(t, `eval BN ${head.kind}`, gradCheck(net, checkWeights(net, 15), input(15, B, C, R), head, { bnEps: 1e-3, bn }));
    }
  }
});

test('finite differences = VJP: random op chains (fast-check, fixed seed)', (t) => {
  const step = fc.record({
    op: fc.constantFrom('conv', 'dwconv', 'bn', 'relu', 'sigmoid', 'swish', 'maxpool', 'avgpool', 'identity', 'add-skip', 'se'),
    cout: fc.integer({ min: 1, max: 4 }),
    kernel: fc.constantFrom(1, 3, 5),
    stride: fc.constantFrom(1, 2),
    cip: fc.constantFrom(0, 1),
  });
  let runs = 0, worst = 0;
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 1000 }), fc.constantFrom(1, 2), fc.boolean(), (steps, seed, bnGroups, ce) => {
      const specs: NodeSpec[] = [];
      let v = 0, c = C, r = 6;
      const push = (s: NodeSpec) => { specs.push(s); return specs.length; };
      for (const s of steps) {
        const stride = r >= 2 * s.stride ? s.stride : 1;
        switch (s.op) {
          case 'conv': v = push({ op: 'conv', inputs: [v], cout: s.cout, kernel: s.kernel, stride }); c = s.cout; r = Math.floor((r - 1) / stride) + 1; break;
          case 'dwconv': v = push({ op: 'dwconv', inputs: [v], kernel: s.kernel, stride }); r = Math.floor((r - 1) / stride) + 1; break;
          case 'maxpool': case 'avgpool':
            v = push({ op: s.op, inputs: [push({ op: 'conv', inputs: [v], cout: c, kernel: 1, stride: 1 })], kernel: s.kernel, stride, countIncludePad: s.cip });
            r = Math.floor((r - 1) / stride) + 1;
            break;
          case 'add-skip': v = push({ op: 'add', inputs: [v, push({ op: 'conv', inputs: [v], cout: c, kernel: s.kernel, stride: 1 }), v] }); break;
          case 'se': {
            const gate = push({ op: 'sigmoid', inputs: [push({ op: 'linear', inputs: [push({ op: 'gap', inputs: [v] })], cout: c, bias: s.cip })] });
            v = push({ op: 'mul', inputs: [v, gate] });
            break;
          }
          default: v = push({ op: s.op as 'bn' | 'relu' | 'sigmoid' | 'swish' | 'identity', inputs: [v] });
        }
      }
      const logits = push({ op: 'linear', inputs: [push({ op: 'gap', inputs: [v] })], cout: 3, bias: 1 });
      const net = viaDescriptor(buildGraph(C, specs, ce ? [logits] : [logits, v]));
      const w = checkWeights(net, seed), x = input(seed, B, C, 6);
      const opts = { bnEps: 1e-5, bnGroups };
      fc.pre(kinkDistance(net, referenceForward(net, w, x, opts)) >= KINK_MARGIN);
      const rep = gradCheck(net, w, x, ce ? { kind: 'crossEntropy', labels } : { kind: 'proj', seed }, opts);
      if (!(rep.maxErr <= TOL)) throw new Error(`max error ${rep.maxErr} at ${rep.worst}`);
      worst = Math.max(worst, rep.maxErr);
      runs++;
    }),
    { numRuns: 40, seed: 20261201 },
  );
  t.true(runs >= 30, `${runs} runs passed the kink filter`);
  t.log(`${runs} chains, max error ${worst.toExponential(2)}`);
});

test('the checker rejects wrong VJPs: BN without the statistics path, average pool with the other count mode', (t) => {
  // BN whose backward treats the batch statistics as constants (the eval-mode formula on the same
  // statistics): the forward is identical, the gradient is not.
  const net = viaDescriptor(buildGraph(C, CONV_SPECS));
  const w = checkWeights(net, 1), x = input(1, B, C, R);
  const fwd = referenceForward(net, w, x, {});
  const asEval: EvalBn = {
    mean: net.nodes.map((_, i) => fwd.bn.find((s) => s.opIndex === i)?.mean ?? null),
    variance: net.nodes.map((_, i) => fwd.bn.find((s) => s.opIndex === i)?.variance ?? null),
  };
  const evalFwd = referenceForward(net, w, x, { bn: asEval });
  t.true(evalFwd.outputs[0]!.data.every((v, j) => Math.abs(v - fwd.outputs[0]!.data[j]!) < 1e-12));
  const head: Head = { kind: 'crossEntropy', labels };
  const wrongBn = referenceBackward(net, w, evalFwd, lossAndSeeds(head, evalFwd).seeds);
  t.true(gradCheck(net, w, x, head, {}, wrongBn).maxErr > 1e-2);
  // Average pool: backward with the divisors of the other count mode.
  const pool = viaDescriptor(buildGraph(C, POOL_SPECS));
  const other = viaDescriptor(buildGraph(C, POOL_SPECS.map((s) => (s.op === 'avgpool' ? { ...s, countIncludePad: 1 - (s.countIncludePad ?? 1) } : s))));
  const wp = checkWeights(pool, 2), xp = input(2, B, C, R);
  const pf = referenceForward(pool, wp, xp, {});
  const wrongPool = referenceBackward(other, wp, pf, lossAndSeeds({ kind: 'proj', seed: 1 }, pf).seeds);
  t.true(gradCheck(pool, wp, xp, { kind: 'proj', seed: 1 }, {}, wrongPool).maxErr > 1e-2);
});

// ---------------------------------------------------------------- VJPs from first principles

const one = (op: NodeSpec['op'], c: number, extra: Partial<NodeSpec> = {}): ReferenceNet =>
  viaDescriptor(buildGraph(c, [{ op, inputs: [0], ...extra }]));
const ones = (t: Tensor4): Tensor4 => tensorOf(t.n, t.c, t.h, t.w, new Float64Array(t.data.length).fill(1));
const near = (a: number, b: number, tol = 1e-12) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

test('BN backward (training mode), per channel and group: Σ dx = 0, Σ dx·x̂ = γ·Σ(g·x̂)/√(σ²+ε) · ε/(σ²+ε) (0 for ε = 0); dβ = Σ g, dγ = Σ g·x̂', (t) => {
  for (const bnGroups of [1, 2, 4]) {
    for (const eps of [0, 0.5]) {
      const net = one('bn', 3);
      const x = input(8, 4, 3, 5);
      const w = checkWeights(net, 8);
      const fwd = referenceForward(net, w, x, { bnEps: eps, bnGroups });
      const gy = tensorOf(4, 3, 5, 5, randn(9, 4 * 3 * 25));
      const g = referenceBackward(net, w, fwd, [gy]);
      t.is(fwd.bn.length, bnGroups);
      const per = 4 / bnGroups;
      const dbeta = new Float64Array(3), dgamma = new Float64Array(3);
      for (const s of fwd.bn as BnStats[]) {
        t.is(s.count, per * 25);
        for (let c = 0; c < 3; c++) {
          let sdx = 0, sdxh = 0, sgx = 0, scale = 0;
          const sd = Math.sqrt(s.variance[c]! + eps);
          for (let n = s.group * per; n < (s.group + 1) * per; n++) for (let p = 0; p < 25; p++) {
            const j = (n * 3 + c) * 25 + p;
            const xhat = (x.data[j]! - s.mean[c]!) / sd;
            sdx += g.input.data[j]!; sdxh += g.input.data[j]! * xhat; scale += Math.abs(g.input.data[j]!);
            sgx += gy.data[j]! * xhat; dbeta[c]! += gy.data[j]!;
          }
          dgamma[c]! += sgx;
          const want = (w[0]!.gamma![c]! * sgx / sd) * (eps / (s.variance[c]! + eps));
          t.true(Math.abs(sdx) < 1e-14 * scale, `G=${bnGroups} ε=${eps} group ${s.group} channel ${c}: Σdx ${sdx}`);
          t.true(Math.abs(sdxh - want) < 1e-14 * scale, `G=${bnGroups} ε=${eps} group ${s.group} channel ${c}: Σdx·x̂ ${sdxh} vs ${want}`);
          if (eps > 0) t.true(Math.abs(want) > 1e-4 * scale); // the ε term is really there
        }
      }
      for (let c = 0; c < 3; c++) t.true(near(g.weights[0]!.beta![c]!, dbeta[c]!) && near(g.weights[0]!.gamma![c]!, dgamma[c]!));
    }
  }
});

test('BN with G groups normalises each group on its own: = G separate forwards, bit for bit', (t) => {
  const net = viaDescriptor(buildGraph(C, CONV_SPECS));
  const w = checkWeights(net, 3), x = input(3, 4, C, R);
  const joint = referenceForward(net, w, x, { bnGroups: 2 });
  const half = (k: number) => tensorOf(2, C, R, R, x.data.slice(k * 2 * C * R * R, (k + 1) * 2 * C * R * R));
  const a = referenceForward(net, w, half(0)), b = referenceForward(net, w, half(1));
  t.deepEqual(Array.from(joint.outputs[0]!.data), [...a.outputs[0]!.data, ...b.outputs[0]!.data]);
  t.deepEqual(joint.bn.map((s) => [s.opIndex, s.group]), [[1, 0], [1, 1], [4, 0], [4, 1]]);
  t.deepEqual(Array.from(joint.bn[1]!.variance), Array.from(b.bn[0]!.variance));
  // and differs from one group over the whole batch
  t.notDeepEqual(Array.from(referenceForward(net, w, x, { bnGroups: 1 }).outputs[0]!.data), Array.from(joint.outputs[0]!.data));
});

test('GAP backward = g / (H·W); LINEAR: dbias = Σ_n g, dW = Σ_n g·xᵀ; MUL: dgate = Σ_hw g·x', (t) => {
  const x = tensorOf(2, 2, 2, 3, Array.from({ length: 24 }, (_, i) => i - 7));
  const gap = one('gap', 2);
  const gy = tensorOf(2, 2, 1, 1, [1, -2, 3, 0.5]);
  const dx = referenceBackward(gap, [], referenceForward(gap, [], x), [gy]).input;
  t.deepEqual(Array.from(dx.data), [1, -2, 3, 0.5].flatMap((g) => new Array(6).fill(g / 6)));

  const lin = one('linear', 2, { cout: 3, bias: 1 });
  const xl = tensorOf(2, 2, 1, 1, [1, 2, -1, 3]);
  const W = Float64Array.from([1, 0, 0, 1, 2, -1]);
  const f = referenceForward(lin, [{ weight: W, bias: Float64Array.from([0.5, 0, -1]) }], xl);
  t.deepEqual(Array.from(f.outputs[0]!.data), [1.5, 2, -1, -0.5, 3, -6]);
  const gl = tensorOf(2, 3, 1, 1, [1, 2, 3, 4, 5, 6]);
  const gr = referenceBackward(lin, [{ weight: W, bias: Float64Array.from([0.5, 0, -1]) }], f, [gl]);
  t.deepEqual(Array.from(gr.weights[0]!.bias!), [5, 7, 9]);
  // dW[co][ci] = Σ_n g[n][co]·x[n][ci]: co 0: 1·(1,2) + 4·(−1,3) = (−3, 14); co 1: (−3, 19); co 2: (−3, 24)
  t.deepEqual(Array.from(gr.weights[0]!.weight!), [-3, 14, -3, 19, -3, 24]);
  // dx[n][ci] = Σ_co W[co][ci]·g[n][co]: n 0: (1 + 0 + 6, 0 + 2 − 3) = (7, −1); n 1: (4 + 12, 5 − 6) = (16, −1)
  t.deepEqual(Array.from(gr.input.data), [7, -1, 16, -1]);
  t.false('bias' in referenceBackward(one('linear', 2, { cout: 3, bias: 0 }), [{ weight: W }], referenceForward(one('linear', 2, { cout: 3 }), [{ weight: W }], xl), [gl]).weights[0]!);

  const mul = viaDescriptor(buildGraph(2, [{ op: 'gap', inputs: [0] }, { op: 'mul', inputs: [0, 1] }]));
  const xm = tensorOf(1, 2, 1, 2, [1, 3, 2, 6]);
  const gm = referenceBackward(mul, [], referenceForward(mul, [], xm), [tensorOf(1, 2, 1, 2, [1, 1, 1, 1])]);
  // y = x·mean(x) per channel: d/dx_j Σ y = mean + Σx/2 = 2·mean → ch0 mean 2 → 4, ch1 mean 4 → 8
  t.deepEqual(Array.from(gm.input.data), [4, 4, 8, 8]);
  t.deepEqual(Array.from(gm.values[1]!.data), [4, 8]); // dgate = Σ_hw g·x
});

test('AVGPOOL 3×3 stride 1 on 1..9 by hand: count_include_pad 1 divides by 9, 0 by the in-bounds count (forward and backward)', (t) => {
  const x = tensorOf(1, 1, 3, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const sums = [12, 21, 16, 27, 45, 33, 24, 39, 28];
  const counts = [4, 6, 4, 6, 9, 6, 4, 6, 4];
  const inc = one('avgpool', 1, { kernel: 3, stride: 1, countIncludePad: 1 });
  const exc = one('avgpool', 1, { kernel: 3, stride: 1, countIncludePad: 0 });
  const fi = referenceForward(inc, [], x), fe = referenceForward(exc, [], x);
  fi.outputs[0]!.data.forEach((v, i) => t.true(near(v, sums[i]! / 9)));
  fe.outputs[0]!.data.forEach((v, i) => t.true(near(v, sums[i]! / counts[i]!)));
  t.deepEqual(Array.from(fe.outputs[0]!.data), [3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7]);
  // Backward of Σ y: element (i, j) gets Σ over the windows that contain it of 1/divisor.
  // include: corners are in 4 windows → 4/9, edges 6/9, centre 1.
  const gi = referenceBackward(inc, [], fi, [ones(fi.outputs[0]!)]).input.data;
  [4, 6, 4, 6, 9, 6, 4, 6, 4].forEach((k, i) => t.true(near(gi[i]!, k / 9)));
  // exclude: corner (0,0) is in windows with counts 4, 6, 6, 9 → 1/4 + 1/3 + 1/9; edge (0,1) in 4, 6, 4, 6, 9, 6 → 1/2 + 1/2 + 1/9;
  // centre in all nine → 4/4 + 4/6 + 1/9.
  const ge = referenceBackward(exc, [], fe, [ones(fe.outputs[0]!)]).input.data;
  const corner = 1 / 4 + 2 / 6 + 1 / 9, edge = 2 / 4 + 3 / 6 + 1 / 9, centre = 1 + 4 / 6 + 1 / 9;
  [corner, edge, corner, edge, centre, edge, corner, edge, corner].forEach((v, i) => t.true(near(ge[i]!, v), `${i}: ${ge[i]} vs ${v}`));
  // PyTorch's default is count_include_pad = 1: a node without the attribute divides by k².
  const dflt = viaDescriptor(buildGraph(1, [{ op: 'avgpool', inputs: [0], kernel: 3, stride: 1 }]));
  t.deepEqual(Array.from(referenceForward(dflt, [], x).outputs[0]!.data), Array.from(fi.outputs[0]!.data));
});

test('MAXPOOL routes to the first maximum in row-major window order; ReLU′(0) = 0; σ′(0) = ¼, swish′(0) = ½; ZERO and IDENTITY', (t) => {
  // all four equal: every 3×3 window (pad −∞) covers the whole 2×2 image; all gradient to (0,0).
  const mp = one('maxpool', 1, { kernel: 3, stride: 1 });
  const flat = tensorOf(1, 1, 2, 2, [1, 1, 1, 1]);
  t.deepEqual(Array.from(referenceBackward(mp, [], referenceForward(mp, [], flat), [tensorOf(1, 1, 2, 2, [1, 2, 3, 4])]).input.data), [10, 0, 0, 0]);
  // ties between (0,1) and (1,0) only: (0,1) comes first.
  const tie = tensorOf(1, 1, 2, 2, [0, 5, 5, -1]);
  t.deepEqual(Array.from(referenceBackward(mp, [], referenceForward(mp, [], tie), [tensorOf(1, 1, 2, 2, [1, 1, 1, 1])]).input.data), [0, 4, 0, 0]);
  // −∞ padding: all-negative input, the max is never a padded 0.
  const neg = tensorOf(1, 1, 2, 2, [-4, -3, -2, -1]);
  t.deepEqual(Array.from(referenceForward(mp, [], neg).outputs[0]!.data), [-1, -1, -1, -1]);

  const x = tensorOf(1, 1, 1, 3, [-1, 0, 2]);
  const g = tensorOf(1, 1, 1, 3, [1, 1, 1]);
  const back = (op: NodeSpec['op']) => { const net = one(op, 1); return Array.from(referenceBackward(net, [], referenceForward(net, [], x), [g]).input.data); };
  t.deepEqual(back('relu'), [0, 0, 1]);
  t.is(back('sigmoid')[1], 0.25);
  t.is(back('swish')[1], 0.5);
  t.deepEqual(back('identity'), [1, 1, 1]);
  t.deepEqual(back('zero'), [0, 0, 0]);
  const z = one('zero', 1);
  t.deepEqual(Array.from(referenceForward(z, [], x).outputs[0]!.data), [0, 0, 0]);
});

test('ADD n-ary: every input gets g, a repeated input twice', (t) => {
  const net = viaDescriptor(buildGraph(1, [{ op: 'identity', inputs: [0] }, { op: 'add', inputs: [0, 1, 0] }]));
  const x = tensorOf(1, 1, 1, 2, [1, 2]);
  const f = referenceForward(net, [], x);
  t.deepEqual(Array.from(f.outputs[0]!.data), [3, 6]);
  const g = referenceBackward(net, [], f, [tensorOf(1, 1, 1, 2, [1, -1])]);
  t.deepEqual(Array.from(g.input.data), [3, -3]);
});

test('CONV backward on 1..9 with a ones kernel: dx counts the windows, dW sums the shifted images', (t) => {
  const net = one('conv', 1, { cout: 1, kernel: 3, stride: 1 });
  const x = tensorOf(1, 1, 3, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const w = [{ weight: new Float64Array(9).fill(1) }];
  const f = referenceForward(net, w, x);
  const g = referenceBackward(net, w, f, [ones(f.outputs[0]!)]);
  t.deepEqual(Array.from(g.input.data), [4, 6, 4, 6, 9, 6, 4, 6, 4]);
  // dW[kh][kw] = Σ over outputs of x at offset (kh − 1, kw − 1): the neighbourhood sums transposed = the same table
  t.deepEqual(Array.from(g.weights[0]!.weight!), [12, 21, 16, 27, 45, 33, 24, 39, 28]);
  // stride 2: outputs at (0,0), (0,2), (2,0), (2,2)
  const s2 = one('conv', 1, { cout: 1, kernel: 3, stride: 2 });
  const f2 = referenceForward(s2, w, x);
  t.deepEqual(Array.from(referenceBackward(s2, w, f2, [ones(f2.outputs[0]!)]).input.data), [1, 2, 1, 2, 4, 2, 1, 2, 1]);
});

test('loss heads: sum = Σ y with seed 1; cross-entropy of zero logits = ln K with (1/K − onehot)/N; rows of its gradient sum to 0', (t) => {
  const y = tensorOf(1, 2, 1, 2, [1, -2, 3.5, 0]);
  const s = sumHead(y);
  t.is(s.loss, 2.5);
  t.deepEqual(Array.from(s.grad.data), [1, 1, 1, 1]);
  const z = tensorOf(2, 4, 1, 1, new Float64Array(8));
  const ce = crossEntropyHead(z, [1, 3]);
  t.true(near(ce.loss, Math.log(4)));
  t.deepEqual(Array.from(ce.grad.data), [0.125, -0.375, 0.125, 0.125, 0.125, 0.125, 0.125, -0.375]);
  // large logits: log-sum-exp is stable; loss of a confident right answer ≈ 0, of a wrong one ≈ the margin
  const big = crossEntropyHead(tensorOf(2, 2, 1, 1, [1000, 0, 0, 1000]), [0, 0]);
  t.true(near(big.loss, 500));
  const r = crossEntropyHead(tensorOf(3, 5, 1, 1, randn(4, 15)), [0, 4, 2]);
  for (let n = 0; n < 3; n++) t.true(Math.abs(r.grad.data.slice(n * 5, n * 5 + 5).reduce((a, b) => a + b, 0)) < 1e-15);
  t.throws(() => crossEntropyHead(tensorOf(1, 2, 2, 1, [0, 0, 0, 0]), [0]), { message: /1×1|spatial/ });
  t.throws(() => crossEntropyHead(z, [1, 4]), { message: /label 4/ });
  t.throws(() => crossEntropyHead(z, [1]), { message: /1 labels/ });
});

test('referenceLossGradients = forward + head + backward; unused outputs and dead branches get zero gradient', (t) => {
  const net = viaDescriptor(buildGraph(C, CELL_SPECS, [CELL_SPECS.length, 16]));
  const w = checkWeights(net, 3), x = input(3, B, C, R);
  const r = referenceLossGradients(net, w, x, { kind: 'crossEntropy', labels });
  const fwd = referenceForward(net, w, x);
  const h = crossEntropyHead(fwd.outputs[0]!, labels);
  t.is(r.loss, h.loss);
  t.deepEqual(Array.from(r.gradients.input.data), Array.from(referenceBackward(net, w, fwd, [h.grad, null]).input.data));
  // the ZERO node's input gradient from that edge is 0: v6 (zero) has zero gradient flowing back into v3 only via conv
  const dead = viaDescriptor(buildGraph(1, [{ op: 'conv', inputs: [0], cout: 1, kernel: 1, stride: 1 }, { op: 'zero', inputs: [1] }]));
  const dg = referenceLossGradients(dead, [{ weight: Float64Array.from([2]) }], tensorOf(1, 1, 1, 2, [1, 2]), { kind: 'sum' });
  t.deepEqual(Array.from(dg.gradients.weights[0]!.weight!), [0]);
  t.deepEqual(Array.from(dg.gradients.input.data), [0, 0]);
});

test('weights: Philox stream i + 1 for CONV / DWCONV / LINEAR (OIHW), bias 0, γ = 1, β = 0; missing weights fail', (t) => {
  const net = viaDescriptor(buildGraph(C, CONV_SPECS));
  const w = referenceWeights(net, 5, 2);
  t.deepEqual(Array.from(w[0]!.weight!), Array.from(gaussianTensor(5, 1, 2, 4 * 3 * 9)));
  t.deepEqual(Array.from(w[3]!.weight!), Array.from(gaussianTensor(5, 4, 2, 4 * 25)));
  t.deepEqual(Array.from(w[8]!.weight!), Array.from(gaussianTensor(5, 9, 2, 15)));
  t.deepEqual(Array.from(w[8]!.bias!), [0, 0, 0]);
  t.deepEqual(Array.from(w[1]!.gamma!), [1, 1, 1, 1]);
  t.deepEqual(Array.from(w[1]!.beta!), [0, 0, 0, 0]);
  t.deepEqual(w[2], {});
  // γ, β and bias default to their initial values when absent; a conv weight does not
  const x = input(1, 2, C, R);
  const bare = w.map((nw) => (nw.weight ? { weight: nw.weight } : {}));
  t.deepEqual(Array.from(referenceForward(net, bare, x).outputs[0]!.data), Array.from(referenceForward(net, w, x).outputs[0]!.data));
  t.throws(() => referenceForward(net, [], x), { message: /node 0 \(conv\): no weight/ });
  t.throws(() => referenceForward(net, [{ weight: new Float64Array(3) }], x), { message: /weight has 3 values, expected 108/ });
  t.throws(() => referenceForward(net, w, x, { bnGroups: 3 }), { message: /multiple of bnGroups/ });
});
