/**
 * The native CPU engine (float32) against the float64 reference (src/reference) on the same
 * Philox draws: the Zen-score per repeat (ln Δ, Σ ln σ̄, score) in both modes, and the 'gradients'
 * proxy's loss, every weight gradient and the input gradient for both loss heads. Nets: the
 * lowerings of a few structures (every block kind's ops) and a hand-made cell with the v2 ops
 * (n-ary ADD, AVGPOOL in both count modes, SWISH, IDENTITY, ZERO, LINEAR with bias).
 */
import test from 'ava';
import {
  NodeSpec, ReferenceNet, buildGraph, decodeForReference, referenceInput, referenceLossGradients, referenceWeights, zenScoreReference,
} from '../src/reference';
import { encodeDescriptor } from '../src/ops/descriptor';
import { Graph } from '../src/ops/graph';
import { parseStructure } from '../src/grammar/parse';
import { lowerForScoring, lowerAsTrained } from '../src/model/lower';
import { philoxLabels } from '../src/rng/philox';
import { Engine } from '../src/engine/engine';
import { relErr, flatGradient } from './helpers/grad';
import { PADDED_POOL_HEAD, V2_CELL_HEAD } from './helpers/v2-cells';

/** A cell of the v2 ops; outputs[0] is the pre-GAP feature map (Zen-score), `logits` the classifier. */
const cellSpecs = (logits: boolean): NodeSpec[] => [
  ...V2_CELL_HEAD,                                                              // v1–v11
  { op: 'conv', inputs: [11], cout: 12, kernel: 1, stride: 1 },                 // v12
  { op: 'bn', inputs: [12] },                                                   // v13
  { op: 'relu', inputs: [13] },                                                 // v14
  ...(logits ? [{ op: 'gap', inputs: [14] }, { op: 'linear', inputs: [15], cout: 5, bias: 1 }] as NodeSpec[] : []),
];

/** AVGPOOL with its pad attribute: NAS-Bench-201's 2×2/2 pad 0 shortcut, an even window with pad 1, pad 0 on a 3×3; both count modes. */
const paddedPoolSpecs = (logits: boolean): NodeSpec[] => [
  ...PADDED_POOL_HEAD,                                                                   // v1–v11
  { op: 'bn', inputs: [11] },                                                            // v12
  { op: 'relu', inputs: [12] },                                                          // v13
  ...(logits ? [{ op: 'gap', inputs: [13] }, { op: 'linear', inputs: [14], cout: 5, bias: 1 }] as NodeSpec[] : []),
];

/** CONCAT along channels (a DARTS cell's output): inputs of different widths, one value twice, a CONCAT of a CONCAT. */
const concatSpecs = (logits: boolean): NodeSpec[] => [
  { op: 'conv', inputs: [0], cout: 6, kernel: 3, stride: 1 },                           // v1 [6][9][9]
  { op: 'bn', inputs: [1] },                                                             // v2
  { op: 'relu', inputs: [2] },                                                           // v3
  { op: 'conv', inputs: [3], cout: 4, kernel: 1, stride: 1 },                            // v4 [4][9][9]
  { op: 'bn', inputs: [4] },                                                             // v5
  { op: 'concat', inputs: [5, 3, 5] },                                                   // v6 [14][9][9]
  { op: 'conv', inputs: [6], cout: 8, kernel: 3, stride: 2 },                            // v7 [8][5][5]
  { op: 'maxpool', inputs: [6], kernel: 3, stride: 2 },                                  // v8 [14][5][5]
  { op: 'concat', inputs: [7, 8] },                                                      // v9 [22][5][5]
  { op: 'bn', inputs: [9] },                                                             // v10
  { op: 'relu', inputs: [10] },                                                          // v11
  ...(logits ? [{ op: 'gap', inputs: [11] }, { op: 'linear', inputs: [12], cout: 5, bias: 1 }] as NodeSpec[] : []),
];

/** DWCONV with dilation (DARTS's dil_conv: ReLU → dilated depthwise → 1×1 conv → BN), k 3 / 5, stride 1 / 2, dilation 2 / 3. */
const DILATED: NodeSpec[] = [
  { op: 'conv', inputs: [0], cout: 6, kernel: 3, stride: 1 }, { op: 'relu', inputs: [1] },
  { op: 'dwconv', inputs: [2], kernel: 3, stride: 1, dilation: 2 }, { op: 'conv', inputs: [3], cout: 6, kernel: 1, stride: 1 }, { op: 'bn', inputs: [4] },
  { op: 'dwconv', inputs: [5], kernel: 5, stride: 2, dilation: 2 }, { op: 'dwconv', inputs: [1], kernel: 3, stride: 2, dilation: 3 },
  { op: 'add', inputs: [6, 7] }, { op: 'bn', inputs: [8] }, { op: 'gap', inputs: [9] }, { op: 'linear', inputs: [10], cout: 5, bias: 1 },
];

/**
 * MAX-POOL routing, checked through the input gradient: pools of pools (windows holding equal
 * values, which all trace back to one input pixel), k 3 and 5, strides 1–3, down to maps narrower
 * than the window (2², 1², and a stride-2 window on a 1² map, whose taps past the row must be skipped).
 */
const POOL_EDGES: NodeSpec[] = [
  { op: 'maxpool', inputs: [0], kernel: 3, stride: 1 },  // v1 [3][9][9]
  { op: 'maxpool', inputs: [1], kernel: 3, stride: 1 },  // v2: ties
  { op: 'maxpool', inputs: [2], kernel: 5, stride: 1 },  // v3
  { op: 'maxpool', inputs: [3], kernel: 3, stride: 2 },  // v4 [3][5][5]
  { op: 'maxpool', inputs: [4], kernel: 3, stride: 3 },  // v5 [3][2][2]
  { op: 'maxpool', inputs: [5], kernel: 5, stride: 1 },  // v6 [3][2][2]: the window wider than the map
  { op: 'maxpool', inputs: [6], kernel: 3, stride: 2 },  // v7 [3][1][1]
  { op: 'maxpool', inputs: [7], kernel: 3, stride: 2 },  // v8 [3][1][1]: taps right of a 1-pixel row
  { op: 'conv', inputs: [8], cout: 6, kernel: 1, stride: 1 }, { op: 'gap', inputs: [9] }, { op: 'linear', inputs: [10], cout: 5, bias: 1 },
];

/** CROP in DARTS's FactorizedReduce (ReLU, conv 1×1/2 of x and of x[:, :, 1:, 1:], concat, BN), then a crop by 2. */
const FACTORIZED_REDUCE: NodeSpec[] = [
  { op: 'conv', inputs: [0], cout: 6, kernel: 3, stride: 1 }, { op: 'bn', inputs: [1] }, { op: 'relu', inputs: [2] },
  { op: 'conv', inputs: [3], cout: 4, kernel: 1, stride: 2 }, { op: 'crop', inputs: [3], offset: 1 }, { op: 'conv', inputs: [5], cout: 4, kernel: 1, stride: 2 },
  { op: 'concat', inputs: [4, 6] }, { op: 'bn', inputs: [7] }, { op: 'crop', inputs: [8], offset: 2 }, { op: 'gap', inputs: [9] }, { op: 'linear', inputs: [10], cout: 5, bias: 1 },
];

const structure = (s: string, o: { se?: boolean; numClasses?: number } = {}): Graph =>
  o.numClasses === undefined ? lowerForScoring(parseStructure(s), { se: o.se }) : lowerAsTrained(parseStructure(s), { numClasses: o.numClasses, se: o.se });

const CASES: Array<{ name: string; graph: () => Graph; batch: number; res: number; bnEps: number }> = [
  { name: 'SuperConvK3BNRELU + SuperResK3K3/K5K5', graph: () => structure('SuperConvK3BNRELU(3,16,1,1)SuperResK3K3(16,24,2,16,1)SuperResK5K5(24,32,1,16,1)'), batch: 4, res: 16, bnEps: 1e-5 },
  { name: 'K7 stride-2 stem + max-pool + K1K7K1', graph: () => structure('SuperConvK7BNRELU(3,16,2,1)MaxPool(16,16,3,2)SuperResK1K7K1(16,32,2,8,1)'), batch: 4, res: 32, bnEps: 1e-3 },
  { name: 'IDW + SE (dwconv, GAP, sigmoid, mul)', graph: () => structure('SuperConvK3BNRELU(3,16,1,1)SuperResIDWE4K5(16,24,2,16,1)', { se: true }), batch: 8, res: 12, bnEps: 1e-5 },
  { name: 'as trained (ADD, projections, LINEAR with bias)', graph: () => structure('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperResK3K3(16,16,1,8,1)', { numClasses: 10 }), batch: 6, res: 8, bnEps: 1e-5 },
  { name: 'v2 cell (n-ary ADD, AVGPOOL both modes, SWISH, IDENTITY, ZERO)', graph: () => buildGraph(3, cellSpecs(false)), batch: 4, res: 11, bnEps: 1e-5 },
  { name: 'AVGPOOL with a pad attribute (even kernels, NAS-Bench-201 shortcut)', graph: () => buildGraph(3, paddedPoolSpecs(false), [13]), batch: 4, res: 10, bnEps: 1e-5 },
  { name: 'CONCAT along channels', graph: () => buildGraph(3, concatSpecs(false)), batch: 4, res: 9, bnEps: 1e-5 },
  { name: 'dilated DWCONV (DARTS dil_conv)', graph: () => buildGraph(3, DILATED.slice(0, 9)), batch: 4, res: 10, bnEps: 1e-5 },
  { name: 'CROP (FactorizedReduce)', graph: () => buildGraph(3, FACTORIZED_REDUCE.slice(0, 9)), batch: 4, res: 10, bnEps: 1e-5 },
];

for (const mode of ['paper', 'official'] as const) {
  for (const c of CASES) {
    test(`Zen-score: engine (float32) = reference (float64), ${mode}: ${c.name}`, async (t) => {
      const d = encodeDescriptor(c.graph());
      const opts = { batchSize: c.batch, resolution: c.res, repeats: 3, seed: 2024, mode, bnEps: c.bnEps, alpha: 0.01 };
      const ref = zenScoreReference(d, opts);
      const engine = new Engine({ backend: 'cpu', threads: 2 });
      try {
        const got = await engine.zenScore(d, opts);
        t.is(got.scores.length, 3);
        for (let r = 0; r < 3; r++) {
          t.true(Math.abs(got.scores[r]! - ref.scores[r]!) < 1e-3, `score r${r}: ${got.scores[r]} vs ${ref.scores[r]}`);
          t.true(Math.abs(got.logSigmaSum[r]! - ref.logSigmaSum[r]!) < 1e-5, `Σ ln σ̄ r${r}: ${got.logSigmaSum[r]} vs ${ref.logSigmaSum[r]}`);
          t.true(Math.abs(got.logDelta[r]! - ref.logDelta[r]!) < 1e-3, `ln Δ r${r}: ${got.logDelta[r]} vs ${ref.logDelta[r]}`);
        }
        t.true(Math.abs(got.mean - ref.mean) < 1e-3);
      } finally {
        engine.close();
      }
    });
  }
}

test('Zen-score: engine repeat r does not depend on the thread count or the number of repeats', async (t) => {
  const d = encodeDescriptor(CASES[0]!.graph());
  const opts = { batchSize: 4, resolution: 16, seed: 7 };
  const e1 = new Engine({ backend: 'cpu', threads: 1 });
  const e2 = new Engine({ backend: 'cpu', threads: 2 });
  try {
    const a = await e1.zenScore(d, { ...opts, repeats: 3 });
    const b = await e2.zenScore(d, { ...opts, repeats: 3 });
    const c = await e2.zenScore(d, { ...opts, repeats: 1 });
    for (let r = 0; r < 3; r++) t.true(Math.abs(a.scores[r]! - b.scores[r]!) < 1e-5, `r${r}: ${a.scores[r]} vs ${b.scores[r]}`);
    t.true(Math.abs(c.scores[0]! - b.scores[0]!) < 1e-9);
  } finally {
    e1.close();
    e2.close();
  }
});

const GRAD_CASES: Array<{ name: string; graph: () => Graph; batch: number; res: number; loss: 'sum' | 'cross-entropy' }> = [
  { name: 'conv/BN/ReLU chain, stride 2, max-pool', graph: () => structure('SuperConvK3BNRELU(3,8,2,1)MaxPool(8,8,3,2)SuperConvK5BNRELU(8,12,1,1)'), batch: 4, res: 16, loss: 'sum' },
  { name: 'residual net with SE and a classifier', graph: () => structure('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperResIDWE2K3(16,16,1,8,1)', { se: true, numClasses: 10 }), batch: 6, res: 12, loss: 'cross-entropy' },
  { name: 'bottleneck net, depthwise, classifier', graph: () => structure('SuperConvK3BNRELU(3,8,2,1)SuperResK1K5K1(8,16,1,8,1)SuperResIDWE4K5(16,24,2,8,1)', { numClasses: 5 }), batch: 3, res: 16, loss: 'sum' },
  { name: 'v2 cell with a LINEAR-with-bias classifier', graph: () => buildGraph(3, cellSpecs(true)), batch: 4, res: 11, loss: 'cross-entropy' },
  { name: 'v2 cell, feature map', graph: () => buildGraph(3, cellSpecs(false)), batch: 4, res: 11, loss: 'sum' },
  { name: 'AVGPOOL with a pad attribute, classifier', graph: () => buildGraph(3, paddedPoolSpecs(true)), batch: 4, res: 10, loss: 'cross-entropy' },
  { name: 'AVGPOOL with a pad attribute, feature map', graph: () => buildGraph(3, paddedPoolSpecs(false), [13]), batch: 4, res: 10, loss: 'sum' },
  { name: 'CONCAT along channels, classifier', graph: () => buildGraph(3, concatSpecs(true)), batch: 4, res: 9, loss: 'cross-entropy' },
  { name: 'CONCAT along channels, feature map', graph: () => buildGraph(3, concatSpecs(false)), batch: 4, res: 9, loss: 'sum' },
  { name: 'dilated DWCONV, classifier', graph: () => buildGraph(3, DILATED), batch: 4, res: 10, loss: 'cross-entropy' },
  { name: 'CROP (FactorizedReduce), classifier', graph: () => buildGraph(3, FACTORIZED_REDUCE), batch: 4, res: 10, loss: 'cross-entropy' },
  { name: 'MAX-POOL ties (pools of pools) and maps narrower than the window', graph: () => buildGraph(3, POOL_EDGES), batch: 4, res: 9, loss: 'cross-entropy' },
  { name: 'CROP with fill (TE-NAS FactorizedReduce) on an odd map, classifier', graph: () => buildGraph(3, [
      { op: 'conv', inputs: [0], cout: 6, kernel: 3, stride: 1 }, { op: 'bn', inputs: [1] }, { op: 'relu', inputs: [2] },
      { op: 'conv', inputs: [3], cout: 4, kernel: 1, stride: 2 }, { op: 'crop', inputs: [3], offset: 1, fill: 1 }, { op: 'conv', inputs: [5], cout: 4, kernel: 1, stride: 2 },
      { op: 'concat', inputs: [4, 6] }, { op: 'bn', inputs: [7] }, { op: 'crop', inputs: [8], offset: 2, fill: 1 }, { op: 'gap', inputs: [9] }, { op: 'linear', inputs: [10], cout: 5, bias: 1 },
    ]), batch: 4, res: 9, loss: 'cross-entropy' },
];

for (const c of GRAD_CASES) {
  test(`gradients: engine (float32) = reference (float64), loss ${c.loss}: ${c.name}`, async (t) => {
    const d = encodeDescriptor(c.graph());
    const net: ReferenceNet = decodeForReference(d);
    const seed = 11, repeat = 2;
    const engine = new Engine({ backend: 'cpu', threads: 2 });
    let got;
    try {
      got = await engine.run('gradients', d, { batchSize: c.batch, resolution: c.res, seed, firstRepeat: repeat, loss: c.loss, returnGradients: true, inputGradient: true });
    } finally {
      engine.close();
    }
    const x = referenceInput('input', seed, repeat, c.batch, net.inputChannels, c.res);
    const classes = net.nodes[net.outputs[0]! - 1]!.cout;
    const head = c.loss === 'sum' ? { kind: 'sum' as const } : { kind: 'crossEntropy' as const, labels: philoxLabels(seed, repeat, c.batch, classes) };
    const ref = referenceLossGradients(net, referenceWeights(net, seed, repeat), x, head, { bnEps: 1e-5 });
    t.true(Math.abs(got.scores[0]! - ref.loss) <= 1e-4 * Math.max(1, Math.abs(ref.loss)), `loss ${got.scores[0]} vs ${ref.loss}`);
    const byOp = new Map((got.gradients ?? []).map((g) => [g.op, g.data]));
    const withParams = ref.gradients.weights.map((w, i) => (flatGradient(w).length > 0 ? i : -1)).filter((i) => i >= 0);
    t.deepEqual([...byOp.keys()].sort((a, b) => a - b), withParams, 'ops with parameters');
    let worst = 0;
    for (const i of withParams) {
      const want = flatGradient(ref.gradients.weights[i]!), have = byOp.get(i);
      if (!have || have.length !== want.length) { t.fail(`op ${i} (${net.nodes[i]!.op}): ${have?.length} gradient values, the reference has ${want.length}`); continue; }
      const e = relErr(have, want);
      worst = Math.max(worst, e);
      t.true(e <= 1e-4, `op ${i} (${net.nodes[i]!.op}): relative error ${e.toExponential(2)}`);
    }
    const ei = relErr(got.inputGradient ?? [], ref.gradients.input.data);
    t.true(ei <= 1e-4, `input gradient: relative error ${ei.toExponential(2)}`);
    t.log(`largest relative error: weights ${worst.toExponential(2)}, input ${ei.toExponential(2)}`);
  });
}
