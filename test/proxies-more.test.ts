/**
 * The zero-shot proxies fisher, jacob_cov, tenas_ntk, tenas_lr and tenas (after zero-cost-nas and
 * TE-NAS / Zen-NAS): invariants that follow from their definitions (reference and engine), their
 * numeric helpers, and option handling. Engine = float64 reference per repeat is in
 * test/proxies.test.ts, PyTorch cross-checks in test/proxies-torch.test.ts.
 */
import test from 'ava';
import { parseStructure } from '../src/grammar/parse';
import { encodeDescriptor } from '../src/ops/descriptor';
import { PROXY_TABLE } from '../src/proxies/table';
import { lowerForProxy } from '../src/proxies/lowering';
import { corrcoef, fisherTerms, jacobCovScore, ntkCondition, proxyReference, referenceWeightsTorch, symmetricEigenvalues } from '../src/reference/proxies';
import { buildGraph, referenceInput, referenceLossGradients } from '../src/reference';
import { STREAM_INPUT, gaussianTensor, philoxLabels } from '../src/rng/philox';
import { Engine } from '../src/engine/engine';

const PLAIN = 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperResK1K3K1(16,16,1,8,1)';

const engine = new Engine({ threads: 2 });
test.after.always(() => engine.close());

test('fisher: scaling a conv followed by train-mode BN by c > 0 leaves every fisher term unchanged (act·∂L/∂act is scale-free)', (t) => {
  const g = lowerForProxy(parseStructure(PLAIN), PROXY_TABLE.fisher, { numClasses: 10 });
  const x = referenceInput('input', 4, 0, 5, 3, 8);
  const w = referenceWeightsTorch(g, 4, 0);
  const head = { kind: 'crossEntropy' as const, labels: philoxLabels(4, 0, 5, 10) };
  const layer = g.nodes.findIndex((n, i) => n.op === 'conv' && g.nodes[i + 1]?.op === 'bn' && i > 0);
  t.true(layer > 0);
  const w2 = w.map((n, i) => (i === layer ? { weight: n.weight!.map((v) => 3.5 * v) } : n));
  const a = referenceLossGradients(g, w, x, head, { bnEps: 0 });
  const b = referenceLossGradients(g, w2, x, head, { bnEps: 0 });
  const fa = fisherTerms(g, a.forward.values, a.gradients.values), fb = fisherTerms(g, b.forward.values, b.gradients.values);
  t.is(fa.length, g.nodes.filter((n) => n.op === 'conv' || n.op === 'dwconv' || n.op === 'linear').length);
  fa.forEach((v, i) => {
    t.true(v.term > 0);
    t.true(Math.abs(v.term - fb[i]!.term) <= 1e-9 * v.term, `term ${i}: ${v.term} vs ${fb[i]!.term}`);
  });
});

test('fisher: the classifier term is ½·mean_n(z·(softmax(z) − onehot)/N)² per class × cin; the engine agrees with the reference on given labels and data', async (t) => {
  const g = lowerForProxy(parseStructure(PLAIN), PROXY_TABLE.fisher, { numClasses: 10 });
  const d = encodeDescriptor(g);
  const N = 4, labels = philoxLabels(6, 0, N, 10);
  const x = referenceInput('input', 6, 0, N, 3, 8);
  const r = referenceLossGradients(g, referenceWeightsTorch(g, 6, 0), x, { kind: 'crossEntropy', labels }, { bnEps: 1e-5 });
  const z = r.forward.outputs[0]!;
  let want = 0;
  for (let k = 0; k < 10; k++) {
    let f = 0;
    for (let n = 0; n < N; n++) {
      let m = -Infinity, s = 0;
      for (let j = 0; j < 10; j++) m = Math.max(m, z.data[n * 10 + j]!);
      for (let j = 0; j < 10; j++) s += Math.exp(z.data[n * 10 + j]! - m);
      const p = Math.exp(z.data[n * 10 + k]! - m) / s;
      f += (z.data[n * 10 + k]! * (p - (labels[n] === k ? 1 : 0)) / N) ** 2;
    }
    want += (0.5 * f) / N;
  }
  const last = fisherTerms(g, r.forward.values, r.gradients.values).at(-1)!;
  const cin = g.nodes.at(-1)!.cin;
  t.true(Math.abs(last.term - want * cin) <= 1e-12 * want * cin, `${last.term} vs ${want * cin}`);
  const a = await engine.run('fisher', d, { resolution: 8, batchSize: N, seed: 6 });
  const b = await engine.run('fisher', d, { resolution: 8, batchSize: N, seed: 6, labels, input: Float32Array.from(x.data) });
  t.deepEqual(b.scores, a.scores, 'the Philox labels and images passed as data');
  t.true(a.scores[0]! > 0);
});

test('symmetricEigenvalues: the path-graph Laplacian-like tridiagonal matrix (known spectrum 2 − 2cos(kπ/(n+1))); corrcoef rows sum to n', (t) => {
  const n = 9;
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    A[i * n + i] = 2;
    if (i + 1 < n) A[i * n + i + 1] = A[(i + 1) * n + i] = -1;
  }
  const want = Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos(((k + 1) * Math.PI) / (n + 1))).sort((a, b) => a - b);
  symmetricEigenvalues(A, n).forEach((v, i) => t.true(Math.abs(v - want[i]!) < 1e-13, `${v} vs ${want[i]}`));
  const X = gaussianTensor(1, 5, 0, 5 * 40);
  const C = corrcoef(X, 5, 40)!;
  const v = symmetricEigenvalues(C, 5);
  t.true(Math.abs(v.reduce((a, b) => a + b, 0) - 5) < 1e-12, 'trace of a correlation matrix = n');
  t.true(v[0]! > 0);
  t.is(corrcoef([1, 1, 1, 2, 3, 4], 2, 3), null, 'a constant row');
  t.true(Math.abs(jacobCovScore([1 - 1e-5, 1 - 1e-5]) + 2) < 1e-12, 'f(v) = ln(v + k) + 1/(v + k) ≥ 1 with equality at v + k = 1');
});

test('jacob_cov: score ≤ −batchSize (f ≥ 1); the input scaled by 2 in front of conv + BN leaves it unchanged (J/2, corrcoef scale-free); B = 1 is E_OPTION', async (t) => {
  const d = encodeDescriptor(lowerForProxy(parseStructure(PLAIN), PROXY_TABLE.jacob_cov, { numClasses: 10 }));
  const B = 6, per = 3 * 8 * 8;
  const input = Float32Array.from(gaussianTensor(2, STREAM_INPUT, 0, B * per));
  const opts = { resolution: 8, batchSize: B, bnEps: 1e-12, seed: 2 };
  const a = await engine.run('jacob_cov', d, { ...opts, input });
  const b = await engine.run('jacob_cov', d, { ...opts, input: input.map((v) => 2 * v) });
  t.true(a.scores[0]! <= -B);
  t.true(Math.abs(a.scores[0]! - b.scores[0]!) <= 1e-5 * Math.abs(a.scores[0]!), `${a.scores[0]} vs ${b.scores[0]}`);
  const ref = proxyReference('jacob_cov', d, { ...opts, input: Array.from(input) });
  t.true(Math.abs(a.scores[0]! - ref.scores[0]!) <= 1e-4 * Math.abs(ref.scores[0]!));
  await t.throwsAsync(engine.run('jacob_cov', d, { ...opts, batchSize: 1, input: undefined }), { code: 'E_OPTION', message: /batchSize ≥ 2/ });
  await t.throwsAsync(engine.run('jacob_cov', d, { ...opts, labels: new Int32Array(B) } as never), { code: 'E_OPTION', message: /unknown jacob_cov option 'labels'/ });
});

/** conv 3→3 + BN + ReLU, conv 3→4 + BN + ReLU, GAP, Linear(4, 4): few ReLU units, so patterns repeat on 1×1 images. */
function tiny(): ReturnType<typeof buildGraph> {
  return buildGraph(3, [
    { op: 'conv', inputs: [0], cout: 3, kernel: 1, stride: 1 }, { op: 'bn', inputs: [1] }, { op: 'relu', inputs: [2] },
    { op: 'conv', inputs: [3], cout: 4, kernel: 1, stride: 1 }, { op: 'bn', inputs: [4] }, { op: 'relu', inputs: [5] },
    { op: 'gap', inputs: [6] }, { op: 'linear', inputs: [7], cout: 4, bias: 1 },
  ]);
}

test('tenas_lr: exact count of repeated patterns = reference; ≤ min(S, 2^units); more sample batches never fewer regions; input holds sampleBatches × batchSize images', async (t) => {
  const d = encodeDescriptor(tiny());
  const opts = { resolution: 1, batchSize: 16, seed: 5, repeats: 2 };
  const one = await engine.run('tenas_lr', d, opts);
  const three = await engine.run('tenas_lr', d, { ...opts, sampleBatches: 3 } as never);
  const ref = proxyReference('tenas_lr', d, { ...opts, sampleBatches: 3, float32Draws: true });
  t.deepEqual(three.scores, ref.scores);
  t.deepEqual(three.series.units, [7, 7]);
  for (let r = 0; r < 2; r++) {
    t.true(three.scores[r]! < 48 && three.scores[r]! <= 2 ** 7, `${three.scores[r]} regions`);
    t.true(three.scores[r]! >= one.scores[r]!, 'images [0, B) are the first batch of the three');
  }
  const input = Float32Array.from(gaussianTensor(5, STREAM_INPUT, 0, 48 * 3));
  const data = await engine.run('tenas_lr', d, { ...opts, repeats: 1, sampleBatches: 3, input } as never);
  t.is(data.scores[0], three.scores[0], 'the Gaussian images passed as data');
  await t.throwsAsync(engine.run('tenas_lr', d, { ...opts, input: input.slice(0, 20 * 3) }), { code: 'E_OPTION', message: /input must hold 16 images/ });
  await t.throwsAsync(engine.run('tenas_lr', d, { ...opts, sampleBatches: 3, input: input.slice(0, 16 * 3) } as never), { code: 'E_OPTION', message: /input must hold 48 images/ });
  await t.throwsAsync(engine.run('tenas_ntk', d, { ...opts, sampleBatches: 2 } as never), { code: 'E_OPTION', message: /unknown tenas_ntk option 'sampleBatches'/ });
  const noRelu = encodeDescriptor(buildGraph(3, [{ op: 'conv', inputs: [0], cout: 4, kernel: 3, stride: 1 }, { op: 'bn', inputs: [1] }, { op: 'gap', inputs: [2] }, { op: 'linear', inputs: [3], cout: 2, bias: 1 }]));
  await t.throwsAsync(engine.run('tenas_lr', noRelu, { resolution: 4, batchSize: 4 }), { code: 'E_STRUCTURE', message: /no ReLU/ });
});

test('tenas_ntk: permuting the batch permutes the NTK (same cond); B = 1 gives cond 1; an all-zero NTK (every ReLU dead) is NaN → 1e5 as TE-NAS maps it', async (t) => {
  const d = encodeDescriptor(lowerForProxy(parseStructure(PLAIN), PROXY_TABLE.tenas_ntk, { numClasses: 10 }));
  const B = 12, per = 3 * 6 * 6;
  const x = Float32Array.from(gaussianTensor(9, STREAM_INPUT, 0, B * per));
  const perm = new Float32Array(x.length);
  for (let i = 0; i < B; i++) perm.set(x.subarray(((i * 5) % B) * per, (((i * 5) % B) + 1) * per), i * per);
  const opts = { resolution: 6, batchSize: B, seed: 9 };
  const a = await engine.run('tenas_ntk', d, { ...opts, input: x });
  const b = await engine.run('tenas_ntk', d, { ...opts, input: perm });
  t.true(a.scores[0]! >= 1);
  t.true(Math.abs(a.scores[0]! - b.scores[0]!) <= 1e-5 * a.scores[0]!, `${a.scores[0]} vs ${b.scores[0]}`);
  const ref = proxyReference('tenas_ntk', d, { ...opts, input: Array.from(x) });
  t.true(Math.abs(a.scores[0]! - ref.scores[0]!) <= 1e-4 * ref.scores[0]!, `${a.scores[0]} vs reference ${ref.scores[0]}`);
  t.is((await engine.run('tenas_ntk', d, { resolution: 6, batchSize: 1 })).scores[0], 1);
  // 1×1 images, conv → ReLU → conv 3→2 → ReLU: for this seed every second-layer unit is ≤ 0, so G = 0 (the bias is no 'weight')
  const dead = encodeDescriptor(buildGraph(3, [
    { op: 'conv', inputs: [0], cout: 3, kernel: 1, stride: 1 }, { op: 'bn', inputs: [1] }, { op: 'relu', inputs: [2] },
    { op: 'maxpool', inputs: [3], kernel: 3, stride: 2 }, { op: 'conv', inputs: [4], cout: 2, kernel: 1, stride: 1 }, { op: 'relu', inputs: [5] },
    { op: 'gap', inputs: [6] }, { op: 'linear', inputs: [7], cout: 4, bias: 1 },
  ]));
  const z = await engine.run('tenas_ntk', dead, { resolution: 3, seed: 5, firstRepeat: 2, batchSize: 16 });
  t.deepEqual([z.scores[0], z.series.lambdaMax![0]], [1e5, 0]);
  t.deepEqual(proxyReference('tenas_ntk', dead, { resolution: 3, seed: 5, firstRepeat: 2, batchSize: 16 }).scores, [1e5]);
  t.is(ntkCondition(0, 0), 1e5);
  t.is(ntkCondition(0, 2), Number.MAX_VALUE);
});

test('tenas = tenas_lr − tenas_ntk on the same weights and images, per repeat (engine)', async (t) => {
  const d = encodeDescriptor(lowerForProxy(parseStructure(PLAIN), PROXY_TABLE.tenas, { numClasses: 10 }));
  const opts = { resolution: 6, batchSize: 6, seed: 3, repeats: 2, sampleBatches: 2 };
  const all = await engine.run('tenas', d, opts as never);
  const lr = await engine.run('tenas_lr', d, opts as never);
  const ntk = await engine.run('tenas_ntk', d, { resolution: 6, batchSize: 6, seed: 3, repeats: 2 });
  for (let r = 0; r < 2; r++) {
    t.is(all.series.linearRegions![r], lr.scores[r]);
    t.is(all.series.ntkCond![r], ntk.scores[r]);
    t.is(all.scores[r], lr.scores[r]! - ntk.scores[r]!);
  }
  t.is(lr.scores[0], 12, 'all 12 images distinct on a net this wide');
});

test('jacob_cov and tenas_ntk at batch 40: the engine\'s Householder + QL eigenvalues = the reference\'s Jacobi on 40×40 matrices', async (t) => {
  for (const name of ['jacob_cov', 'tenas_ntk'] as const) {
    const d = encodeDescriptor(lowerForProxy(parseStructure('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,8,2,8,1)'), PROXY_TABLE[name], { numClasses: 10 }));
    const opts = { resolution: 6, batchSize: 40, seed: 12 };
    const got = await engine.run(name, d, opts);
    const ref = proxyReference(name, d, { ...opts, float32Draws: true });
    for (const k of ['lambdaMin', 'lambdaMax'] as const) {
      const e = Math.abs(got.series[k]![0]! - ref.series[k]![0]!) / Math.abs(ref.series[k]![0]!);
      t.true(e <= 1e-4, `${name} ${k}: ${got.series[k]![0]} vs ${ref.series[k]![0]}`);
    }
    const e = Math.abs(got.scores[0]! - ref.scores[0]!) / Math.abs(ref.scores[0]!);
    t.log(`${name}: ${got.scores[0]} vs ${ref.scores[0]} (relative ${e.toExponential(2)})`);
    t.true(e <= 1e-4);
  }
});
