/**
 * Zero-shot proxies: the native engine (float32) = the float64 reference (src/reference/proxies.ts)
 * on the same Philox draws, per repeat, on structures lowered as each proxy's table entry says
 * (src/proxies/lowering.ts); option handling of engine.run for them.
 */
import test from 'ava';
import { parseStructure } from '../src/grammar/parse';
import { encodeDescriptor } from '../src/ops/descriptor';
import { Engine } from '../src/engine/engine';
import { PROXY_TABLE } from '../src/proxies/table';
import { lowerForProxy } from '../src/proxies/lowering';
import { ReferenceProxyName, gradNormTerms, proxyReference, referenceWeightsTorch, snipTerms } from '../src/reference/proxies';
import { referenceInput, referenceLossGradients } from '../src/reference';
import { STREAM_INPUT, gaussianTensor, philoxLabels } from '../src/rng/philox';

const NETS = [
  { name: 'plain chain + bottleneck', s: 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperResK1K3K1(16,16,1,8,1)', se: false, res: 8 },
  { name: 'IDW + SE, max-pool', s: 'SuperConvK3BNRELU(3,8,1,1)MaxPool(8,8,3,2)SuperResIDWE2K3(8,16,1,8,1)', se: true, res: 12 },
];

/** Relative tolerance of native vs reference per proxy (float32 vs float64). */
const TOL: Record<string, number> = { grad_norm: 1e-6, grad_norm_zc: 1e-6, snip: 1e-6 };

const engine = new Engine({ threads: 2 });
test.after.always(() => engine.close());

function check(t: import('ava').ExecutionContext, got: number[], want: number[], tol: number, what: string) {
  t.is(got.length, want.length);
  let worst = 0;
  got.forEach((g, i) => {
    const e = Math.abs(g - want[i]!) / Math.max(Math.abs(want[i]!), 1e-300);
    worst = Math.max(worst, e);
    t.true(e <= tol, `${what} repeat ${i}: ${g} vs ${want[i]} (relative error ${e.toExponential(2)} > ${tol})`);
  });
  t.log(`${what}: largest relative error ${worst.toExponential(2)}`);
}

for (const name of Object.keys(TOL) as ReferenceProxyName[]) {
  for (const net of NETS) {
    test(`${name}: engine = float64 reference, ${net.name}`, async (t) => {
      const spec = PROXY_TABLE[name as keyof typeof PROXY_TABLE];
      const d = encodeDescriptor(lowerForProxy(parseStructure(net.s), spec, { se: net.se, numClasses: 10 }));
      const opts = { resolution: net.res, repeats: 2, firstRepeat: 1, seed: 77, ...(spec.batchSize ? { batchSize: 6 } : {}) };
      const got = await engine.run(name as never, d, opts);
      const ref = proxyReference(name, d, { ...opts, float32Draws: true });
      check(t, got.scores, ref.scores, TOL[name]!, 'score');
      for (const k of spec.series) if (ref.series[k]) check(t, got.series[k] ?? [], ref.series[k]!, Math.max(TOL[name]!, 1e-6), k);
    });
  }
}

test('grad_norm: given labels = the Philox labels; data input; option checks', async (t) => {
  const d = encodeDescriptor(lowerForProxy(parseStructure(NETS[0]!.s), PROXY_TABLE.grad_norm, { numClasses: 10 }));
  const opts = { resolution: 8, batchSize: 4, seed: 3 };
  const a = await engine.run('grad_norm', d, opts);
  const b = await engine.run('grad_norm', d, { ...opts, labels: philoxLabels(3, 0, 4, 10) });
  t.deepEqual(b.scores, a.scores);
  const input = Float32Array.from(gaussianTensor(3, STREAM_INPUT, 0, 4 * 3 * 64));
  const c = await engine.run('grad_norm', d, { ...opts, input });
  t.deepEqual(c.scores, a.scores, 'the Gaussian input passed as data');
  const ref = proxyReference('grad_norm', d, { ...opts, input: Array.from(input) });
  t.true(Math.abs(c.scores[0]! - ref.scores[0]!) <= 1e-6 * ref.scores[0]!);
  await t.throwsAsync(engine.run('grad_norm', d, { ...opts, labels: new Int32Array(3) }), { code: 'E_OPTION', message: /4 labels/ });
  await t.throwsAsync(engine.run('grad_norm', d, { ...opts, input: new Float32Array(10) }), { code: 'E_OPTION', message: /input must hold 4 images/ });
  await t.throwsAsync(engine.run('grad_norm', d, { ...opts, xi: 1 } as never), { code: 'E_OPTION', message: /unknown grad_norm option 'xi'/ });
  await t.throwsAsync(engine.run('grad_norm', d, { ...opts, init: 'kaiming' } as never), { code: 'E_OPTION', message: /init must be/ });
  const pre = encodeDescriptor(lowerForProxy(parseStructure(NETS[0]!.s), PROXY_TABLE.zen));
  await t.throwsAsync(engine.run('grad_norm', pre, opts), { code: 'E_STRUCTURE', message: /logits/ });
});

test('invariants: scaling a conv weight followed by train-mode BN by c > 0 leaves SNIP unchanged and divides its grad_norm_zc term by c', (t) => {
  const g = lowerForProxy(parseStructure(NETS[0]!.s), PROXY_TABLE.snip, { numClasses: 10 });
  const x = referenceInput('input', 4, 0, 5, 3, 8);
  const w = referenceWeightsTorch(g, 4, 0);
  const labels = philoxLabels(4, 0, 5, 10);
  const c = 7.25, layer = 3;  // a conv followed by BN
  t.is(g.nodes[layer]!.op, 'conv');
  t.is(g.nodes[layer + 1]!.op, 'bn');
  const w2 = w.map((n, i) => (i === layer ? { weight: n.weight!.map((v) => c * v) } : n));
  const head = { kind: 'crossEntropy' as const, labels };
  const a = referenceLossGradients(g, w, x, head, { bnEps: 0 });
  const b = referenceLossGradients(g, w2, x, head, { bnEps: 0 });
  t.true(Math.abs(a.loss - b.loss) <= 1e-12 * a.loss, 'the function is unchanged');
  const sa = snipTerms(g, w, a.gradients.weights), sb = snipTerms(g, w2, b.gradients.weights);
  sa.forEach((v, i) => t.true(Math.abs(v - sb[i]!) <= 1e-9 * Math.abs(v), `snip term ${i}: ${v} vs ${sb[i]}`));
  const na = gradNormTerms(g, a.gradients.weights), nb = gradNormTerms(g, b.gradients.weights);
  const k = g.nodes.slice(0, layer).filter((n) => n.op === 'conv' || n.op === 'dwconv' || n.op === 'linear').length;
  na.forEach((v, i) => {
    const want = i === k ? v / c : v;
    t.true(Math.abs(nb[i]! - want) <= 1e-9 * Math.abs(want), `grad_norm_zc term ${i}: ${nb[i]} vs ${want}`);
  });
});
