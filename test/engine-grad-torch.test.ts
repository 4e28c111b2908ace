/**
 * Native backward pass vs PyTorch autograd (test/torch/grad_check.py, float64, same Philox weights
 * and input): every weight gradient and the input gradient of a few nets, both loss heads.
 * Runs when a Python with torch is found (ZENNAS_PYTHON or .venv-bench); skipped otherwise.
 */
import test from 'ava';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { parseStructure } from '../src/grammar/parse';
import { lowerAsTrained, lowerForScoring } from '../src/model/lower';
import { decodeDescriptor, encodeDescriptor } from '../src/ops/descriptor';
import { Graph } from '../src/ops/graph';
import { Engine } from '../src/engine/engine';
import { philoxLabels } from '../src/rng/philox';
import { findPython } from './helpers/python';
import { CELL_OP_CASES, GradCase } from './helpers/cell-op-cases';

const python = findPython(['torch']);
const maybe = python ? test : test.skip;
if (!python) console.log('  [skip] engine-grad-torch: no Python with torch (set ZENNAS_PYTHON or run .ci/run to create .venv-bench)');

type Case = GradCase;
const g = (s: string, trained: boolean, numClasses = 0, se = false): Graph =>
  trained ? lowerAsTrained(parseStructure(s), { numClasses, se }) : lowerForScoring(parseStructure(s), { se });

const cases: Case[] = [
  { name: 'plain conv/BN/ReLU chain, stride 2, maxpool', graph: g('SuperConvK3BNRELU(3,8,2,1)MaxPool(8,8,3,2)SuperConvK5BNRELU(8,12,1,1)', false), batch: 4, resolution: 16, loss: 'sum' },
  { name: 'residual net with SE and a classifier (cross-entropy)', graph: g('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperResIDWE2K3(16,16,1,8,1)', true, 10, true), batch: 6, resolution: 12, loss: 'cross-entropy' },
  { name: 'bottleneck net, depthwise, classifier (sum)', graph: g('SuperConvK3BNRELU(3,8,2,1)SuperResK1K5K1(8,16,1,8,1)SuperResIDWE4K5(16,24,2,8,1)', true, 5), batch: 3, resolution: 16, loss: 'sum' },
  {
    name: 'hand-made cell: n-ary add, avgpool (both count modes), swish, identity, zero, linear without bias', batch: 4, resolution: 9, loss: 'cross-entropy',
    graph: {
      inputChannels: 3, outputs: [12],
      nodes: [
        { op: 'conv', inputs: [0], cin: 3, cout: 6, kernel: 3, stride: 1, block: 0, role: 'main' },
        { op: 'bn', inputs: [1], cin: 6, cout: 6, kernel: 0, stride: 0, block: 0, role: 'main' },
        { op: 'swish', inputs: [2], cin: 6, cout: 6, kernel: 0, stride: 0, block: 0, role: 'main' },
        { op: 'avgpool', inputs: [3], cin: 6, cout: 6, kernel: 3, stride: 1, countIncludePad: 0, block: 0, role: 'main' },
        { op: 'avgpool', inputs: [3], cin: 6, cout: 6, kernel: 3, stride: 2, countIncludePad: 1, block: 0, role: 'main' },
        { op: 'identity', inputs: [3], cin: 6, cout: 6, kernel: 0, stride: 0, block: 0, role: 'main' },
        { op: 'zero', inputs: [3], cin: 6, cout: 6, kernel: 0, stride: 0, block: 0, role: 'main' },
        { op: 'add', inputs: [4, 6, 7, 3], cin: 6, cout: 6, kernel: 0, stride: 0, block: 0, role: 'main' },
        { op: 'dwconv', inputs: [8], cin: 6, cout: 6, kernel: 3, stride: 2, block: 0, role: 'main' },
        { op: 'add', inputs: [9, 5], cin: 6, cout: 6, kernel: 0, stride: 0, block: 0, role: 'main' },
        { op: 'gap', inputs: [10], cin: 6, cout: 6, kernel: 0, stride: 0, block: 0, role: 'main' },
        { op: 'linear', inputs: [11], cin: 6, cout: 7, kernel: 0, stride: 0, bias: 0, block: -1, role: 'classifier' },
      ],
    },
  },
  ...CELL_OP_CASES,
];

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i]! - b[i]!) ** 2; den += b[i]! ** 2; }
  return Math.sqrt(num / Math.max(den, 1e-300));
}

for (const c of cases) {
  maybe(`backward vs PyTorch autograd: ${c.name}`, async (t) => {
    const d = encodeDescriptor(c.graph);
    const seed = 5, repeat = 1;
    const classes = c.loss === 'cross-entropy' ? c.graph.nodes[c.graph.nodes.length - 1]!.cout : 0;
    const labels = classes ? philoxLabels(seed, repeat, c.batch, classes) : undefined;
    const engine = new Engine({ threads: 2 });
    let r, r2;
    try {
      r = await engine.run('gradients', d, { batchSize: c.batch, resolution: c.resolution, seed, firstRepeat: repeat, loss: c.loss, returnGradients: true, inputGradient: true });
      // labels drawn natively from Philox = the same labels passed explicitly
      if (labels) r2 = await engine.run('gradients', d, { batchSize: c.batch, resolution: c.resolution, seed, firstRepeat: repeat, loss: c.loss, labels });
    } finally {
      engine.close();
    }
    if (r2) t.is(r2.scores[0], r.scores[0], 'Philox labels = explicit labels');
    const spec = { net: decodeDescriptor(d), batch: c.batch, resolution: c.resolution, seed, repeat, bnEps: 1e-5, loss: c.loss, labels: labels ? Array.from(labels) : undefined };
    const p = spawnSync(python!, [path.join(__dirname, 'torch/grad_check.py')], { input: JSON.stringify(spec), encoding: 'utf8', maxBuffer: 1 << 28 });
    if (p.status !== 0) throw new Error(`grad_check.py failed: ${p.stderr}`);
    const ref = JSON.parse(p.stdout) as { loss: number; grads: Record<string, number[]>; input: number[] };
    t.true(Math.abs(r.scores[0]! - ref.loss) <= 1e-4 * Math.max(1, Math.abs(ref.loss)), `loss ${r.scores[0]} vs ${ref.loss}`);
    const got = new Map(r.gradients!.map((e) => [e.op, e.data]));
    t.deepEqual([...got.keys()].sort((a, b) => a - b), Object.keys(ref.grads).map(Number).sort((a, b) => a - b), 'ops with parameters');
    for (const [op, want] of Object.entries(ref.grads)) {
      const e = relErr(got.get(Number(op))!, want);
      t.true(e <= 1e-4, `op ${op} (${c.graph.nodes[Number(op)]!.op}): relative error ${e.toExponential(2)}`);
    }
    const ei = relErr(r.inputGradient!, ref.input);
    t.true(ei <= 1e-4, `input gradient: relative error ${ei.toExponential(2)}`);
  });
}
