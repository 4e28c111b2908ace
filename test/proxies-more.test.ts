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
import { fisherTerms, referenceWeightsTorch } from '../src/reference/proxies';
import { referenceInput, referenceLossGradients } from '../src/reference';
import { philoxLabels } from '../src/rng/philox';
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
