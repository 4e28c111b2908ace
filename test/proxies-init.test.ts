/**
 * Init 'torch' (PyTorch's default, DESCRIPTOR.md "Init 'torch'"): the TypeScript draw (known
 * answer, bounds, moments) and the native draw through the 'gradients' proxy (every weight
 * gradient = the float64 reference on the same torch-init weights); a cached plan shared with
 * init 'normal' gets its LINEAR biases back to 0.
 */
import test from 'ava';
import { buildGraph, decodeForReference, referenceInput, referenceLossGradients } from '../src/reference';
import { fanIn, referenceWeightsTorch, uniformTensor } from '../src/reference/proxies';
import { encodeDescriptor } from '../src/ops/descriptor';
import { parseStructure } from '../src/grammar/parse';
import { lowerAsTrained } from '../src/model/lower';
import { philoxLabels } from '../src/rng/philox';
import { Engine } from '../src/engine/engine';

test('uniformTensor: known answer (Philox ctr 0, key 0 → 6627e8d5 e169c58d bc57ac4c 9b00dbd8), lane order, offset', (t) => {
  const u = uniformTensor(0, 0, 0, 4, 1);
  const want = [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8].map((x) => 2 * ((x + 0.5) / 2 ** 32) - 1);
  t.deepEqual(Array.from(u), want);
  t.deepEqual(Array.from(uniformTensor(0, 0, 0, 2, 0.5, 2)), want.slice(2).map((v) => 0.5 * v));
  t.deepEqual(Array.from(uniformTensor(7, 3, 1, 9, 2).slice(5)), Array.from(uniformTensor(7, 3, 1, 4, 2, 5)));
});

test('uniformTensor: inside (−b, b), mean ≈ 0, variance ≈ b²/3', (t) => {
  const b = 0.125, n = 40000;
  const u = uniformTensor(3, 9, 0, n, b);
  let m = 0, v = 0;
  for (const x of u) { t.true(x > -b && x < b); m += x; }
  m /= n;
  for (const x of u) v += (x - m) ** 2;
  v /= n;
  t.true(Math.abs(m) < 4 * b / Math.sqrt(3 * n), `mean ${m}`);
  t.true(Math.abs(v / (b * b / 3) - 1) < 0.03, `variance ${v}`);
});

test('referenceWeightsTorch: bound 1/√fan_in per layer kind, bias continues the weight stream', (t) => {
  const g = buildGraph(3, [
    { op: 'conv', inputs: [0], cout: 4, kernel: 3, stride: 1 },
    { op: 'dwconv', inputs: [1], kernel: 5, stride: 1 },
    { op: 'bn', inputs: [2] },
    { op: 'gap', inputs: [3] },
    { op: 'linear', inputs: [4], cout: 6, bias: 1 },
  ]);
  t.deepEqual([0, 1, 4].map((i) => fanIn(g.nodes[i]!)), [27, 25, 4]);
  const w = referenceWeightsTorch(g, 5, 2);
  t.deepEqual(Array.from(w[0]!.weight!), Array.from(uniformTensor(5, 1, 2, 108, 1 / Math.sqrt(27))));
  t.deepEqual(Array.from(w[1]!.weight!), Array.from(uniformTensor(5, 2, 2, 100, 1 / 5)));
  t.deepEqual(Array.from(w[4]!.bias!), Array.from(uniformTensor(5, 5, 2, 30, 0.5).slice(24)));
  t.deepEqual(Array.from(w[2]!.gamma!), [1, 1, 1, 1]);
});

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i]! - b[i]!) ** 2; den += b[i]! ** 2; }
  return Math.sqrt(num / Math.max(den, 1e-300));
}

test("gradients with init 'torch': every parameter gradient = reference on the torch-init weights; a later 'normal' call on the cached plan has biases 0", async (t) => {
  const d = encodeDescriptor(lowerAsTrained(parseStructure('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperResIDWE2K3(16,16,1,8,1)'), { numClasses: 10 }));
  const net = decodeForReference(d);
  const seed = 13, repeat = 1, batch = 4, res = 8;
  const engine = new Engine({ threads: 2 });
  try {
    const opts = { batchSize: batch, resolution: res, seed, firstRepeat: repeat, loss: 'cross-entropy' as const, returnGradients: true };
    const normalBefore = await engine.run('gradients', d, opts);
    const got = await engine.run('gradients', d, { ...opts, init: 'torch' });
    const normalAfter = await engine.run('gradients', d, { ...opts, init: 'normal' });
    t.deepEqual(normalAfter.scores, normalBefore.scores, 'normal init after torch init on the same plan: identical');
    t.notDeepEqual(got.scores, normalBefore.scores);
    const x = referenceInput('input', seed, repeat, batch, net.inputChannels, res);
    const labels = philoxLabels(seed, repeat, batch, 10);
    const ref = referenceLossGradients(net, referenceWeightsTorch(net, seed, repeat), x, { kind: 'crossEntropy', labels }, { bnEps: 1e-5 });
    t.true(Math.abs(got.scores[0]! - ref.loss) <= 1e-6 * Math.abs(ref.loss), `loss ${got.scores[0]} vs ${ref.loss}`);
    for (const g of got.gradients!) {
      const w = ref.gradients.weights[g.op]!;
      const want = [...(w.weight ?? []), ...(w.bias ?? []), ...(w.gamma ?? []), ...(w.beta ?? [])];
      const e = relErr(g.data, want);
      t.true(e <= 1e-4, `op ${g.op} (${net.nodes[g.op]!.op}): relative error ${e.toExponential(2)}`);
    }
  } finally {
    engine.close();
  }
});
