/**
 * Cross-check of the float64 reference against the independent PyTorch implementation
 * (benchmarks/zen-score-cpu/torch_zen.py, same Philox streams): the Zen-score, and the reverse
 * pass against autograd in float64 (test/torch/grad_check.py). Runs when a Python with torch is
 * found (ZENNAS_PYTHON, or the benchmark's .venv-bench); skipped otherwise.
 */
import test from 'ava';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { buildGraph, decodeForReference, referenceInput, referenceLossGradients, referenceWeights, zenScoreReference } from '../src/reference';
import { decodeDescriptor, encodeDescriptor } from '../src/ops/descriptor';
import { Graph } from '../src/ops/graph';
import { parseStructure } from '../src/grammar/parse';
import { lowerAsTrained, lowerForScoring } from '../src/model/lower';
import { philoxLabels } from '../src/rng/philox';
import { findPython } from './helpers/python';
import { CELL_OP_CASES, GradCase } from './helpers/cell-op-cases';

const ROOT = path.resolve(__dirname, '..');
const SCRIPT = path.join(ROOT, 'benchmarks/zen-score-cpu/torch_zen.py');

const python = findPython(['torch', 'numpy']);
const maybe = python ? test : test.skip;

const CASES: Array<{ name: string; structure: string; se?: boolean; batch: number; resolution: number; mode: 'paper' | 'official'; bnEps: number }> = [
  { name: 'plain', structure: 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)', batch: 4, resolution: 16, mode: 'paper', bnEps: 1e-5 },
  { name: 'bottleneck+maxpool', structure: 'SuperConvK7BNRELU(3,16,2,1)MaxPool(16,16,3,2)SuperResK1K5K1(16,32,2,8,1)', batch: 4, resolution: 32, mode: 'official', bnEps: 1e-3 },
  { name: 'idw+se', structure: 'SuperConvK3BNRELU(3,16,1,1)SuperResIDWE2K3(16,24,2,16,1)', se: true, batch: 3, resolution: 12, mode: 'paper', bnEps: 1e-5 },
  { name: 'idw+se official', structure: 'SuperConvK3BNRELU(3,16,1,1)SuperResIDWE4K5(16,24,2,16,1)', se: true, batch: 3, resolution: 12, mode: 'official', bnEps: 1e-5 },
];

function runTorch(dtype: 'float32' | 'float64') {
  const repeats = 3, seed = 12345;
  const nets = CASES.map((c) => {
    const d = encodeDescriptor(lowerForScoring(parseStructure(c.structure), { se: c.se }));
    const dec = decodeDescriptor(d);
    const ref = zenScoreReference(d, { batchSize: c.batch, resolution: c.resolution, repeats, seed, mode: c.mode, bnEps: c.bnEps });
    return { spec: { name: c.name, ...dec, batch: c.batch, resolution: c.resolution, repeats, seed, mode: c.mode, alpha: 0.01, bnEps: c.bnEps, dtype }, ref };
  });
  const r = spawnSync(python!, [SCRIPT, '-'], { input: JSON.stringify({ threads: 1, warmup: false, nets: nets.map((n) => n.spec) }), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`torch_zen.py failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { results: Array<{ name: string; scores: number[]; logDelta: number[]; logSigmaSum: number[] }> };
  return out.results.map((res, i) => ({ res, ref: nets[i]!.ref, repeats }));
}

maybe('torch_zen.py in float64 equals the float64 reference (same Philox draws, independent code)', (t) => {
  for (const { res, ref, repeats } of runTorch('float64')) {
    for (let k = 0; k < repeats; k++) {
      t.true(Math.abs(res.logDelta[k]! - ref.logDelta[k]!) < 1e-9, `${res.name} r${k} logΔ ${res.logDelta[k]} vs ${ref.logDelta[k]}`);
      t.true(Math.abs(res.logSigmaSum[k]! - ref.logSigmaSum[k]!) < 1e-9, `${res.name} r${k} Σlogσ ${res.logSigmaSum[k]} vs ${ref.logSigmaSum[k]}`);
    }
  }
});

maybe('torch_zen.py in float32 (the benchmark setting) agrees with the reference to float32 rounding', (t) => {
  for (const { res, ref, repeats } of runTorch('float32')) {
    for (let k = 0; k < repeats; k++) {
      // Δ differences O(1) activations at α = 0.01, and the SE BN normalises over only N = 3
      // values per channel here, which amplifies float32 rounding: 1e-3 on logΔ, 1e-5 on Σ log σ̄.
      t.true(Math.abs(res.logDelta[k]! - ref.logDelta[k]!) < 1e-3, `${res.name} r${k} logΔ ${res.logDelta[k]} vs ${ref.logDelta[k]}`);
      t.true(Math.abs(res.logSigmaSum[k]! - ref.logSigmaSum[k]!) < 1e-5, `${res.name} r${k} Σlogσ ${res.logSigmaSum[k]} vs ${ref.logSigmaSum[k]}`);
    }
  }
});

// ---- reverse pass vs autograd ------------------------------------------------------------------

const GRAD_CASES: GradCase[] = [
  { name: 'conv/BN/ReLU, max-pool', graph: lowerForScoring(parseStructure('SuperConvK3BNRELU(3,8,2,1)MaxPool(8,8,3,2)SuperConvK5BNRELU(8,12,1,1)')), batch: 4, resolution: 16, loss: 'sum' },
  { name: 'residual + SE + classifier', graph: lowerAsTrained(parseStructure('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperResIDWE2K3(16,16,1,8,1)'), { numClasses: 10, se: true }), batch: 6, resolution: 12, loss: 'cross-entropy' },
  {
    name: 'cell of the v2 ops', batch: 4, resolution: 9, loss: 'cross-entropy',
    graph: buildGraph(3, [
      { op: 'conv', inputs: [0], cout: 6, kernel: 3, stride: 1 }, { op: 'bn', inputs: [1] }, { op: 'swish', inputs: [2] },
      { op: 'avgpool', inputs: [3], kernel: 3, stride: 1, countIncludePad: 0 }, { op: 'avgpool', inputs: [3], kernel: 5, stride: 1 },
      { op: 'identity', inputs: [3] }, { op: 'zero', inputs: [3] }, { op: 'add', inputs: [4, 5, 6, 7] },
      { op: 'dwconv', inputs: [8], kernel: 3, stride: 2 }, { op: 'gap', inputs: [9] }, { op: 'linear', inputs: [10], cout: 3, bias: 1 },
      { op: 'sigmoid', inputs: [11] }, { op: 'linear', inputs: [12], cout: 6 }, { op: 'mul', inputs: [9, 13] },
      { op: 'bn', inputs: [14] }, { op: 'gap', inputs: [15] }, { op: 'linear', inputs: [16], cout: 7, bias: 1 },
    ]),
  },
  ...CELL_OP_CASES,
];

maybe('reverse pass = PyTorch autograd in float64: every weight gradient and the input gradient, both heads', (t) => {
  for (const c of GRAD_CASES) {
    const d = encodeDescriptor(c.graph);
    const net = decodeForReference(d);
    const seed = 5, repeat = 1;
    const classes = net.nodes[net.outputs[0]! - 1]!.cout;
    const labels = c.loss === 'cross-entropy' ? philoxLabels(seed, repeat, c.batch, classes) : undefined;
    const ref = referenceLossGradients(net, referenceWeights(net, seed, repeat), referenceInput('input', seed, repeat, c.batch, 3, c.resolution),
      labels ? { kind: 'crossEntropy', labels } : { kind: 'sum' }, { bnEps: 1e-5 });
    const spec = { net: decodeDescriptor(d), batch: c.batch, resolution: c.resolution, seed, repeat, bnEps: 1e-5, loss: c.loss, labels: labels ? Array.from(labels) : undefined };
    const p = spawnSync(python!, [path.join(ROOT, 'test/torch/grad_check.py')], { input: JSON.stringify(spec), encoding: 'utf8', maxBuffer: 1 << 28 });
    if (p.status !== 0) throw new Error(`grad_check.py failed: ${p.stderr}`);
    const torch = JSON.parse(p.stdout) as { loss: number; grads: Record<string, number[]>; input: number[] };
    const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let num = 0, den = 0;
      for (let i = 0; i < b.length; i++) { num += (a[i]! - b[i]!) ** 2; den += b[i]! ** 2; }
      return a.length === b.length ? Math.sqrt(num / Math.max(den, 1e-300)) : Infinity;
    };
    t.true(Math.abs(ref.loss - torch.loss) <= 1e-12 * Math.max(1, Math.abs(torch.loss)), `${c.name}: loss ${ref.loss} vs ${torch.loss}`);
    const ours = ref.gradients.weights.map((w) => [...(w.weight ?? []), ...(w.bias ?? []), ...(w.gamma ?? []), ...(w.beta ?? [])]);
    t.deepEqual(ours.map((g, i) => (g.length ? i : -1)).filter((i) => i >= 0), Object.keys(torch.grads).map(Number).sort((a, b) => a - b), `${c.name}: ops with parameters`);
    for (const [op, want] of Object.entries(torch.grads)) {
      const e = rel(ours[Number(op)]!, want);
      t.true(e <= 1e-10, `${c.name}: op ${op} (${net.nodes[Number(op)]!.op}) relative error ${e}`);
    }
    const ei = rel(ref.gradients.input.data, torch.input);
    t.true(ei <= 1e-10, `${c.name}: input gradient relative error ${ei}`);
  }
});
