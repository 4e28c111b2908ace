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
import { corrcoef, fisherTerms, jacobCovScore, proxyReference, referenceWeightsTorch, symmetricEigenvalues } from '../src/reference/proxies';
import { referenceInput, referenceLossGradients } from '../src/reference';
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
