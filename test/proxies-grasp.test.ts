/**
 * grasp (zero-cost-nas grasp.py): the float64 reference's exact Hessian-vector product (R-operator,
 * src/reference/hvp.ts) against a float64 central difference, its symmetry, an identity that follows
 * from train-mode BN's scale invariance, PyTorch's double backward (test/torch/proxies.py), and the
 * engine's float32 R-operator (native/proxies/grasp_proxy.cc) against both.
 *
 * Tolerance of the engine (float32, like the official double backward): the score Σ −W ⊙ Hg is a sum
 * of terms of both signs, so its float32 error is relative to the terms, not to the sum. Measured
 * against float64 (seed 21, repeats 0–5): ≤ 9.8e-5 on the nets without SE (conv/BN/ReLU, max pool,
 * depthwise, BN-free, every op; most ≤ 5e-6), ≤ 3.7e-4 with SE (its BN normalises 1×1 maps: few
 * values per channel) — PyTorch's own float32 double backward is off by as much on the same nets
 * (≤ 8.5e-5 and ≤ 5.1e-4). Hence 2e-4 and 2e-3 here.
 */
import test from 'ava';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { parseStructure } from '../src/grammar/parse';
import { decodeDescriptor, encodeDescriptor } from '../src/ops/descriptor';
import { PROXY_TABLE } from '../src/proxies/table';
import { lowerForProxy } from '../src/proxies/lowering';
import { gradNormTerms, graspTerms, proxyReference, referenceWeightsTorch } from '../src/reference/proxies';
import { referenceHvp } from '../src/reference/hvp';
import { NodeWeights, buildGraph, referenceInput, referenceLossGradients } from '../src/reference';
import { gaussianTensor, philoxLabels } from '../src/rng/philox';
import { Engine } from '../src/engine/engine';
import { findPython } from './helpers/python';

const PLAIN = 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperResK1K3K1(16,16,1,8,1)';
const POOL = 'SuperConvK3BNRELU(3,8,1,1)MaxPool(8,8,3,2)SuperResK3K3(8,16,2,8,1)SuperResK1K5K1(16,16,1,8,1)';
const SE = 'SuperConvK3BNRELU(3,8,2,1)SuperResIDWE2K3(8,16,1,8,1)';
const DW = 'SuperConvK3BNRELU(3,8,1,1)SuperResIDWE1K3(8,16,2,8,1)SuperResIDWE2K5(16,16,1,8,1)';
const lower = (s: string, se = false) => lowerForProxy(parseStructure(s), PROXY_TABLE.grasp, { se, numClasses: 10 });
/** The engine's float32 tolerance against float64 (see the header). */
const TOL = 2e-4, TOL_SE = 2e-3;

const python = findPython(['torch']);
const maybe = python ? test : test.skip;
if (!python) console.log('  [skip] proxies-grasp (PyTorch part): no Python with torch (set ZENNAS_PYTHON or run .ci/run to create .venv-bench)');

const engine = new Engine({ threads: 2 });
test.after.always(() => engine.close());

/** A random direction over every parameter (weights, biases, BN γ / β) from Philox stream `stream`. */
function randomDirection(w: readonly NodeWeights[], stream: number): NodeWeights[] {
  let k = 0;
  const draw = (a?: Float64Array) => (a ? gaussianTensor(3, stream, k++, a.length) : undefined);
  return w.map((n) => {
    const o: NodeWeights = {};
    for (const f of ['weight', 'bias', 'gamma', 'beta'] as const) if (n[f]) o[f] = draw(n[f]);
    return o;
  });
}

function step(w: readonly NodeWeights[], v: readonly NodeWeights[], e: number): NodeWeights[] {
  return w.map((n, i) => {
    const o: NodeWeights = {};
    for (const f of ['weight', 'bias', 'gamma', 'beta'] as const) if (n[f]) o[f] = n[f]!.map((x, j) => x + e * v[i]![f]![j]!);
    return o;
  });
}

function dot(a: readonly NodeWeights[], b: readonly NodeWeights[]): number {
  let s = 0;
  a.forEach((n, i) => { for (const f of ['weight', 'bias', 'gamma', 'beta'] as const) if (n[f] && b[i]?.[f]) n[f]!.forEach((x, j) => { s += x * b[i]![f]![j]!; }); });
  return s;
}

// Every op with a second derivative (BN through its batch statistics, swish, sigmoid, hswish, MUL,
// LINEAR with bias) and the piecewise-linear ones (ReLU, max pool, avg pool, ADD).
const MIXED = buildGraph(3, [
  { op: 'conv', inputs: [0], cout: 6, kernel: 3, stride: 1 }, { op: 'bn', inputs: [1] }, { op: 'swish', inputs: [2] },
  { op: 'maxpool', inputs: [3], kernel: 3, stride: 2 }, { op: 'dwconv', inputs: [4], cout: 6, kernel: 3, stride: 1 }, { op: 'bn', inputs: [5] },
  { op: 'hswish', inputs: [6] }, { op: 'gap', inputs: [7] }, { op: 'conv', inputs: [8], cout: 6, kernel: 1, stride: 1 }, { op: 'sigmoid', inputs: [9] },
  { op: 'mul', inputs: [7, 10] }, { op: 'add', inputs: [11, 4] }, { op: 'conv', inputs: [12], cout: 8, kernel: 1, stride: 1 }, { op: 'bn', inputs: [13] },
  { op: 'relu', inputs: [14] }, { op: 'avgpool', inputs: [15], kernel: 3, stride: 1, countIncludePad: 1 }, { op: 'gap', inputs: [16] },
  { op: 'linear', inputs: [17], cout: 5, bias: 1 },
]);

test('referenceHvp = a float64 central difference of the reference gradient, every op kind, a random direction over all parameters (1e-6)', (t) => {
  const x = referenceInput('input', 2, 0, 4, 3, 6);
  const labels = philoxLabels(2, 0, 4, 5);
  const w = referenceWeightsTorch(MIXED, 2, 0);
  const head = { kind: 'crossEntropy' as const, labels };
  const base = referenceLossGradients(MIXED, w, x, head);
  const v = randomDirection(w, 77);
  const hv = referenceHvp(MIXED, w, base.forward, base.gradients, v);
  const h = 1e-5;
  const gp = referenceLossGradients(MIXED, step(w, v, h), x, head).gradients.weights;
  const gm = referenceLossGradients(MIXED, step(w, v, -h), x, head).gradients.weights;
  let err = 0, norm = 0;
  hv.forEach((n, i) => {
    for (const f of ['weight', 'bias', 'gamma', 'beta'] as const) {
      if (!w[i]![f]) continue;
      t.truthy(n[f], `node ${i} ${f}: H v has the field`);
      n[f]!.forEach((a, j) => { const fd = (gp[i]![f]![j]! - gm[i]![f]![j]!) / (2 * h); err = Math.max(err, Math.abs(a - fd)); norm = Math.max(norm, Math.abs(fd)); });
    }
  });
  t.log(`max |Hv − FD| = ${err.toExponential(2)}, max |Hv| = ${norm.toExponential(2)}`);
  t.true(norm > 1e-3);
  t.true(err <= 1e-6 * norm, `${err} vs ${norm}`);
});

test('referenceHvp is symmetric: uᵀ(H v) = vᵀ(H u) for random u, v', (t) => {
  const x = referenceInput('input', 4, 1, 3, 3, 6);
  const w = referenceWeightsTorch(MIXED, 4, 1);
  const r = referenceLossGradients(MIXED, w, x, { kind: 'crossEntropy', labels: philoxLabels(4, 1, 3, 5) });
  const u = randomDirection(w, 11), v = randomDirection(w, 12);
  const a = dot(u, referenceHvp(MIXED, w, r.forward, r.gradients, v)), b = dot(v, referenceHvp(MIXED, w, r.forward, r.gradients, u));
  t.true(Math.abs(a - b) <= 1e-10 * Math.abs(a), `${a} vs ${b}`);
});

test('grasp reference: with bnEps 0 the term of a conv followed by train-mode BN is ‖∂L/∂W‖² (H W_l = −∂L/∂W_l, Euler for a scale-free layer)', (t) => {
  const g = lower(PLAIN);
  const x = referenceInput('input', 5, 0, 4, 3, 8);
  const w = referenceWeightsTorch(g, 5, 0);
  const r = referenceLossGradients(g, w, x, { kind: 'crossEntropy', labels: philoxLabels(5, 0, 4, 10) }, { bnEps: 0 });
  const dir = g.nodes.map((n, i): NodeWeights => (n.op === 'conv' || n.op === 'dwconv' || n.op === 'linear' ? { weight: r.gradients.weights[i]!.weight! } : {}));
  const terms = graspTerms(g, w, referenceHvp(g, w, r.forward, r.gradients, dir));
  const norms = gradNormTerms(g, r.gradients.weights);
  const layers = g.nodes.flatMap((n, i) => (n.op === 'conv' || n.op === 'dwconv' || n.op === 'linear' ? [i] : []));
  let checked = 0;
  layers.forEach((i, k) => {
    if (g.nodes[i]!.op === 'linear') return;
    t.is(g.nodes[i + 1]!.op, 'bn');
    t.true(Math.abs(terms[k]! - norms[k]! ** 2) <= 1e-8 * norms[k]! ** 2, `layer ${i}: ${terms[k]} vs ${norms[k]! ** 2}`);
    checked++;
  });
  t.true(checked >= 5);
});

test('grasp: engine (float32 R-operator) = float64 reference within 2e-4 (2e-3 with SE) — BN-followed convs, max pool, SE, depthwise, a BN-free conv stack, every op, several repeats; labels / input as data give the same scores', async (t) => {
  const bnFree = buildGraph(3, [
    { op: 'conv', inputs: [0], cout: 4, kernel: 3, stride: 2 }, { op: 'relu', inputs: [1] }, { op: 'conv', inputs: [2], cout: 6, kernel: 1, stride: 1 },
    { op: 'hswish', inputs: [3] }, { op: 'avgpool', inputs: [4], kernel: 3, stride: 1, countIncludePad: 0 }, { op: 'gap', inputs: [5] }, { op: 'linear', inputs: [6], cout: 10, bias: 1 },
  ]);
  const cases = [
    { g: lower(PLAIN), b: 6, r: 12, tol: TOL }, { g: lower(POOL), b: 5, r: 16, tol: TOL }, { g: lower(SE, true), b: 6, r: 12, tol: TOL_SE },
    { g: lower(DW), b: 6, r: 12, tol: TOL }, { g: bnFree, b: 4, r: 8, tol: TOL }, { g: MIXED, b: 3, r: 6, tol: TOL },
  ];
  let worst = 0;
  for (const c of cases) {
    const d = encodeDescriptor(c.g);
    const opts = { batchSize: c.b, resolution: c.r, seed: 21, firstRepeat: 1, repeats: 2 };
    const got = await engine.run('grasp', d, opts);
    const ref = proxyReference('grasp', d, { ...opts, float32Draws: true });
    got.scores.forEach((v, i) => {
      const e = Math.abs(v - ref.scores[i]!) / Math.abs(ref.scores[i]!);
      if (c.tol === TOL) worst = Math.max(worst, e);
      t.true(e <= c.tol, `B${c.b} R${c.r} repeat ${i}: ${v} vs ${ref.scores[i]} (${e.toExponential(2)})`);
      t.true(Math.abs(got.series.loss![i]! - ref.series.loss![i]!) <= 1e-6 * ref.series.loss![i]!);
    });
  }
  t.log(`worst relative difference without SE ${worst.toExponential(2)}`);
  const d = encodeDescriptor(lower(PLAIN));
  const opts = { batchSize: 4, resolution: 8, seed: 3 };
  const a = await engine.run('grasp', d, opts);
  const x = referenceInput('input', 3, 0, 4, 3, 8);
  const b = await engine.run('grasp', d, { ...opts, labels: philoxLabels(3, 0, 4, 10), input: Float32Array.from(x.data) });
  t.deepEqual(b.scores, a.scores);
  const one = new Engine({ threads: 1 });
  try {
    t.deepEqual((await one.run('grasp', d, opts)).scores, a.scores, 'the same bits on 1 and 2 threads');
  } finally {
    one.close();
  }
  await t.throwsAsync(engine.run('grasp', d, { batchSize: 1, resolution: 1 }), { code: 'E_OPTION', message: /single value per channel/ });
  await t.throwsAsync(engine.run('grasp', d, { ...opts, labels: Int32Array.from([0, 1, 2, 10]) }), { code: 'E_OPTION', message: /labels\[3\] = 10 is not a class/ });
});

test("grasp hvpPrecision 'float64' (own float64 buffers) = float64 reference within 1e-9 on every net of the float32 test, the same bits on 1 and 2 threads; option checks", async (t) => {
  const cases = [{ g: lower(PLAIN), b: 6, r: 12 }, { g: lower(POOL), b: 5, r: 16 }, { g: lower(SE, true), b: 6, r: 12 }, { g: lower(DW), b: 6, r: 12 }, { g: MIXED, b: 3, r: 6 }];
  let worst = 0;
  for (const c of cases) {
    const d = encodeDescriptor(c.g);
    const opts = { batchSize: c.b, resolution: c.r, seed: 21, firstRepeat: 1, repeats: 2 };
    const got = await engine.run('grasp', d, { ...opts, hvpPrecision: 'float64' });
    const ref = proxyReference('grasp', d, { ...opts, float32Draws: true });
    got.scores.forEach((v, i) => {
      const e = Math.abs(v - ref.scores[i]!) / Math.abs(ref.scores[i]!);
      worst = Math.max(worst, e);
      t.true(e <= 1e-9, `B${c.b} R${c.r} repeat ${i}: ${v} vs ${ref.scores[i]} (${e.toExponential(2)})`);
    });
  }
  t.log(`worst relative difference ${worst.toExponential(2)}`);
  const d = encodeDescriptor(lower(SE, true));
  const opts = { batchSize: 4, resolution: 8, seed: 3, hvpPrecision: 'float64' as const };
  const one = new Engine({ threads: 1 });
  try {
    t.deepEqual((await one.run('grasp', d, opts)).scores, (await engine.run('grasp', d, opts)).scores, 'the same bits on 1 and 2 threads');
  } finally {
    one.close();
  }
  await t.throwsAsync(engine.run('grasp', d, { ...opts, hvpPrecision: 'float16' as never }), { code: 'E_OPTION', message: /hvpPrecision/ });
  await t.throwsAsync(engine.run('snip', d, { batchSize: 4, resolution: 8, hvpPrecision: 'float64' } as never), { code: 'E_OPTION', message: /hvpPrecision/ });
});

function torchGrasp(d: Int32Array, batch: number, resolution: number, seed: number, repeat: number): Record<string, number> {
  const input = { net: decodeDescriptor(d), proxy: 'grasp', batch, resolution, seed, repeat, bnEps: 1e-5, labels: Array.from(philoxLabels(seed, repeat, batch, 10)) };
  const p = spawnSync(python!, [path.join(__dirname, 'torch/proxies.py')], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (p.status !== 0) throw new Error(`proxies.py failed: ${p.stderr}`);
  return JSON.parse(p.stdout) as Record<string, number>;
}

maybe('grasp vs PyTorch (grasp.py: autograd.grad, create_graph, z.backward): reference to 1e-9 and engine to 2e-4 (SE: 2e-3) on four nets (SE, max pool and depthwise included)', async (t) => {
  const seed = 21, repeat = 1, batch = 6, resolution = 12;
  for (const [s, se] of [[PLAIN, false], [POOL, false], [SE, true], [DW, false]] as const) {
    const d = encodeDescriptor(lower(s, se));
    const ref = torchGrasp(d, batch, resolution, seed, repeat);
    const mine = proxyReference('grasp', d, { batchSize: batch, resolution, seed, firstRepeat: repeat, float32Draws: true });
    const e = Math.abs(mine.scores[0]! - ref.score!) / Math.abs(ref.score!);
    t.log(`${s}: reference ${mine.scores[0]} torch ${ref.score} (relative ${e.toExponential(2)})`);
    t.true(e <= 1e-9, `${mine.scores[0]} vs ${ref.score}`);
    t.true(Math.abs(mine.series.loss![0]! - ref.loss!) <= 1e-12 * ref.loss!);
    const got = await engine.run('grasp', d, { batchSize: batch, resolution, seed, firstRepeat: repeat });
    t.true(Math.abs(got.scores[0]! - ref.score!) <= (se ? TOL_SE : TOL) * Math.abs(ref.score!), `engine ${got.scores[0]} vs torch ${ref.score}`);
  }
});
