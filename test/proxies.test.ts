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
import { ReferenceProxyName, gradNormTerms, naswotRelus, proxyReference, referenceWeightsTorch, slogdet, snipTerms } from '../src/reference/proxies';
import { buildGraph, referenceInput, referenceLossGradients } from '../src/reference';
import { loadNative } from '../src/engine/native';
import { STREAM_INPUT, gaussianTensor, philoxLabels } from '../src/rng/philox';

const NETS = [
  { name: 'plain chain + bottleneck', s: 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperResK1K3K1(16,16,1,8,1)', se: false, res: 8 },
  { name: 'IDW + SE, max-pool', s: 'SuperConvK3BNRELU(3,8,1,1)MaxPool(8,8,3,2)SuperResIDWE2K3(8,16,1,8,1)', se: true, res: 12 },
];

/**
 * Relative tolerance of native vs reference per proxy (float32 vs float64). fisher squares
 * per-image sums Σ_hw act·∂L/∂act of mixed sign: the float32 backward's error in the gradients of
 * the first layers (≈ 2e-6 relative after ~40 ops) shows undamped, where snip's Σ|·| averages it.
 */
const TOL: Record<string, number> = { grad_norm: 1e-6, grad_norm_zc: 1e-6, snip: 1e-6, synflow: 1e-6, synflow_zc: 1e-6, naswot: 1e-4, gsnr: 1e-6, fisher: 1e-5, jacob_cov: 1e-4, tenas_ntk: 1e-4, tenas_lr: 0, tenas: 1e-4 };

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
      if (name === 'synflow' && net.se) {
        // SE's BN normalises one 1×1 value per channel of the single image: undefined (PyTorch refuses it too)
        await t.throwsAsync(engine.run(name, d, opts), { code: 'E_OPTION', message: /single value per channel/ });
        return;
      }
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

/** A bias-free chain of positively homogeneous layers: conv → ReLU → max-pool → dwconv → conv → GAP → linear. */
function chain(depth = 0, width = 8): ReturnType<typeof buildGraph> {
  const specs: Parameters<typeof buildGraph>[1][number][] = [{ op: 'conv', inputs: [0], cout: width, kernel: 3, stride: 1 }, { op: 'relu', inputs: [1] }];
  if (depth === 0) {
    specs.push({ op: 'maxpool', inputs: [2], kernel: 3, stride: 2 }, { op: 'dwconv', inputs: [3], kernel: 3, stride: 1 }, { op: 'conv', inputs: [4], cout: 6, kernel: 1, stride: 1 });
  } else {
    for (let i = 0; i < depth; i++) specs.push({ op: 'conv', inputs: [specs.length], cout: width, kernel: 3, stride: 1 }, { op: 'relu', inputs: [specs.length + 1] });
  }
  specs.push({ op: 'gap', inputs: [specs.length] }, { op: 'linear', inputs: [specs.length + 1], cout: 5, bias: 0 });
  return buildGraph(3, specs);
}

test('synflow_zc: Euler — on a bias-free chain of homogeneous layers score = (number of weight layers) × R (engine and reference)', async (t) => {
  const g = chain();
  const d = encodeDescriptor(g);
  const layers = g.nodes.filter((n) => n.op === 'conv' || n.op === 'dwconv' || n.op === 'linear').length;
  const opts = { resolution: 9, repeats: 2, seed: 8 };
  const ref = proxyReference('synflow_zc', d, opts);
  const got = await engine.run('synflow_zc', d, opts);
  for (let r = 0; r < 2; r++) {
    t.true(Math.abs(ref.series.logScore![r]! - ref.series.logR![r]! - Math.log(layers)) < 1e-12, 'reference');
    t.true(Math.abs(got.series.logScore![r]! - got.series.logR![r]! - Math.log(layers)) < 1e-6, `engine: ${got.series.logScore![r]} vs ${got.series.logR![r]! + Math.log(layers)}`);
  }
});

test('synflow_zc: a chain whose R is far beyond float32 (≈ e^250) runs in block floating point; = the float64 reference', async (t) => {
  const d = encodeDescriptor(chain(150, 24));
  const opts = { resolution: 4, seed: 1 };
  const ref = proxyReference('synflow_zc', d, { ...opts, float32Draws: true });
  const got = await engine.run('synflow_zc', d, opts);
  t.true(ref.series.logR![0]! > 2 * Math.log(3.4e38), `R = e^${ref.series.logR![0]} is beyond float32 squared`);
  t.true(Math.abs(got.series.logScore![0]! - ref.series.logScore![0]!) < 1e-6, `ln score ${got.series.logScore![0]} vs ${ref.series.logScore![0]}`);
  t.true(Math.abs(got.series.logR![0]! - ref.series.logR![0]!) < 1e-6, `ln R ${got.series.logR![0]} vs ${ref.series.logR![0]}`);
});

test('synflow: a train-mode BN over one 1×1 image is an error; synflow_zc at the addon refuses BN; input/labels do not apply', async (t) => {
  const g = buildGraph(3, [{ op: 'conv', inputs: [0], cout: 4, kernel: 3, stride: 2 }, { op: 'bn', inputs: [1] }, { op: 'gap', inputs: [2] }, { op: 'linear', inputs: [3], cout: 3, bias: 1 }]);
  const d = encodeDescriptor(g);
  await t.throwsAsync(engine.run('synflow', d, { resolution: 2 }), { code: 'E_OPTION', message: /single value per channel.*larger resolution/ });
  t.true((await engine.run('synflow', d, { resolution: 4 })).scores[0]! > 0);
  t.true((await engine.run('synflow_zc', d, { resolution: 2 })).scores[0]! > 0, 'BN → identity: defined on 1×1');
  const raw = new (loadNative().Engine)({ backend: 'cpu', threads: 1 });
  try {
    await t.throwsAsync(raw.run('synflow_zc', d, { batchSize: 64, resolution: 4, repeats: 1, seed: 0, bnEps: 1e-5 }), { code: 'E_DESCRIPTOR', message: /BN replaced by identity/ });
  } finally {
    raw.close();
  }
  await t.throwsAsync(engine.run('synflow', d, { resolution: 4, batchSize: 2 } as never), { code: 'E_OPTION', message: /unknown synflow option 'batchSize'/ });
});

test('naswot: coded ReLUs = every body ReLU, not SE\'s; slogdet of a known matrix', (t) => {
  const g = lowerForProxy(parseStructure(NETS[1]!.s), PROXY_TABLE.naswot, { se: true });
  const want = g.nodes.map((n, i) => (n.op === 'relu' && n.role !== 'se' ? i : -1)).filter((i) => i >= 0);
  t.true(g.nodes.some((n) => n.op === 'relu' && n.role === 'se'), 'the net has an SE ReLU');
  t.deepEqual(naswotRelus(g), want);
  const d = slogdet(Float64Array.from([4, 2, 0, 2, 5, 1, 0, 1, 3]), 3);
  t.is(d.sign, 1);
  t.true(Math.abs(d.logAbsDet - Math.log(4 * 14 - 2 * 6)) < 1e-12);
});

test('naswot: two identical input images make K singular (E_OPTION, engine and reference); a net without ReLU is E_STRUCTURE', async (t) => {
  const d = encodeDescriptor(lowerForProxy(parseStructure(NETS[0]!.s), PROXY_TABLE.naswot));
  const per = 3 * 8 * 8;
  const input = Float32Array.from(gaussianTensor(5, STREAM_INPUT, 0, 4 * per));
  input.copyWithin(2 * per, 1 * per, 2 * per);  // image 2 = image 1
  const opts = { resolution: 8, batchSize: 4, input };
  await t.throwsAsync(engine.run('naswot', d, opts), { code: 'E_OPTION', message: /images 1 and 2 have identical ReLU codes \(the input images are identical\)/ });
  t.throws(() => proxyReference('naswot', d, { ...opts, input: Array.from(input) }), { code: 'E_OPTION', message: /identical/ });
  const ok = await engine.run('naswot', d, { resolution: 8, batchSize: 4 });
  t.true(Number.isFinite(ok.scores[0]));
  const noRelu = encodeDescriptor(buildGraph(3, [{ op: 'conv', inputs: [0], cout: 4, kernel: 3, stride: 1 }, { op: 'bn', inputs: [1] }]));
  await t.throwsAsync(engine.run('naswot', noRelu, { resolution: 8 }), { code: 'E_STRUCTURE', message: /no ReLU/ });
});

for (const gsnrMode of ['official', 'sample'] as const) {
  test(`gsnr, gsnrMode '${gsnrMode}': engine = float64 reference`, async (t) => {
    const d = encodeDescriptor(lowerForProxy(parseStructure(NETS[0]!.s), PROXY_TABLE.gsnr, { numClasses: 10 }));
    const opts = { resolution: 8, batchSize: 5, numBatches: 4, gsnrMode, seed: 9, repeats: 2 };
    const got = await engine.run('gsnr', d, opts);
    const ref = proxyReference('gsnr', d, { ...opts, float32Draws: true });
    check(t, got.scores, ref.scores, 1e-6, 'score');
    t.deepEqual(got.series.layers, ref.series.layers);
  });
}

test('gsnr: labels / input hold numBatches × batchSize images (batchSize in mode sample); xi matters; numBatches ≥ 2', async (t) => {
  const d = encodeDescriptor(lowerForProxy(parseStructure(NETS[0]!.s), PROXY_TABLE.gsnr, { numClasses: 10 }));
  const opts = { resolution: 8, batchSize: 3, numBatches: 2 };
  const a = await engine.run('gsnr', d, { ...opts, labels: philoxLabels(0, 0, 6, 10) });
  t.deepEqual(a.scores, (await engine.run('gsnr', d, opts)).scores);
  await t.throwsAsync(engine.run('gsnr', d, { ...opts, labels: philoxLabels(0, 0, 3, 10) }), { code: 'E_OPTION', message: /6 labels/ });
  await t.notThrowsAsync(engine.run('gsnr', d, { ...opts, gsnrMode: 'sample', labels: philoxLabels(0, 0, 3, 10) }));
  const b = await engine.run('gsnr', d, { ...opts, xi: 1e-2 });
  t.true(b.scores[0]! < a.scores[0]!);
  await t.throwsAsync(engine.run('gsnr', d, { ...opts, numBatches: 1 }), { code: 'E_OPTION', message: /numBatches/ });
});

test('synflow_zc: a residual net (n-ary ADD of paths of different depth, LINEAR bias) in block floating point = the float64 reference', async (t) => {
  const specs: Parameters<typeof buildGraph>[1][number][] = [{ op: 'conv', inputs: [0], cout: 16, kernel: 3, stride: 1 }];
  let x = 1;
  for (let u = 0; u < 30; u++) {
    const a = specs.push({ op: 'conv', inputs: [x], cout: 16, kernel: 3, stride: 1 });
    const b = specs.push({ op: 'relu', inputs: [a] });
    const c = specs.push({ op: 'conv', inputs: [b], cout: 16, kernel: 3, stride: 1 });
    const p = specs.push({ op: 'avgpool', inputs: [x], kernel: 3, stride: 1, countIncludePad: 1 });
    x = specs.push({ op: 'add', inputs: [c, x, p] });
  }
  const gap = specs.push({ op: 'gap', inputs: [x] });
  specs.push({ op: 'linear', inputs: [gap], cout: 5, bias: 1 });
  const d = encodeDescriptor(buildGraph(3, specs));
  const opts = { resolution: 6, seed: 4 };
  const ref = proxyReference('synflow_zc', d, { ...opts, float32Draws: true });
  const got = await engine.run('synflow_zc', d, opts);
  t.true(ref.series.logR![0]! > Math.log(3.4e38), `R = e^${ref.series.logR![0]}`);
  t.true(Math.abs(got.series.logScore![0]! - ref.series.logScore![0]!) < 1e-6, `ln score ${got.series.logScore![0]} vs ${ref.series.logScore![0]}`);
  t.true(Math.abs(got.series.logR![0]! - ref.series.logR![0]!) < 1e-6, `ln R ${got.series.logR![0]} vs ${ref.series.logR![0]}`);
});
