/**
 * The MBInvRes block family and the hard-swish / hard-sigmoid ops: grammar round-trip and errors,
 * counting (EfficientNet-B0 and MobileNetV2 fixtures against their published parameter counts),
 * both lowerings (and loweredOps), the float64 reference (known values; PyTorch's Hardswish /
 * Hardsigmoid forward and backward), the native CPU engine against the reference (Zen-score in
 * both modes, the 'gradients' proxy), and ONNX export run by onnxruntime.
 */
import test from 'ava';
import fc from 'fast-check';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { parseStructure } from '../src/grammar/parse';
import { formatStructure } from '../src/grammar/format';
import { makeDivisible, mbMidChannels, mbSeChannels } from '../src/grammar/mbinvres';
import { MBInvResBlock, Structure } from '../src/grammar/ast';
import { countModel } from '../src/model/count';
import { loweredOps, lowerAsTrained, lowerForScoring } from '../src/model/lower';
import { encodeDescriptor } from '../src/ops/descriptor';
import { Graph } from '../src/ops/graph';
import { elementwiseBackward, elementwiseForward } from '../src/reference/ops';
import {
  EvalBn, ReferenceNet, decodeForReference, referenceForward, referenceInput, referenceLossGradients, referenceWeights, tensorOf, zenScoreReference,
} from '../src/reference';
import { philoxLabels } from '../src/rng/philox';
import { Engine } from '../src/engine/engine';
import { calibrateBn, exportInferenceOnnx } from '../src/export/inference';
import { BnRunningStats, decodeOnnx } from '../src/export/onnx';
import { ZennasError } from '../src/errors';
import { findPython } from './helpers/python';

const FIXTURES = path.join(__dirname, 'fixtures');
const fixture = (f: string) => fs.readFileSync(path.join(FIXTURES, f), 'utf8').trim();

// ---- grammar ----------------------------------------------------------------------------------

test('every MBInvRes name round-trips byte-identically and parses to its attributes', (t) => {
  let n = 0;
  for (const e of [1, 3, 4, 6]) for (const k of [3, 5, 7]) for (const act of ['RELU', 'SWISH', 'HSWISH']) for (const se of ['', 'SE', 'HSE']) {
    const text = `ConvKX(3,16,3,2)MBInvResE${e}K${k}${act}${se}(16,24,2)MBInvResE${e}K${k}${act}${se}(24,24,1)SWISH(24)HSWISH(24)`;
    const s = parseStructure(text);
    t.is(formatStructure(s), text);
    const b = s.blocks[1] as MBInvResBlock;
    t.deepEqual([b.kind, b.expansion, b.kernel, b.act, b.se, b.in, b.out, b.stride], ['MBInvRes', e, k, act.toLowerCase(), se === '' ? 'none' : se.toLowerCase(), 16, 24, 2]);
    n++;
  }
  t.is(n, 108);
});

test('MBInvRes errors name the block and the field', (t) => {
  const bad: Array<[string, RegExp]> = [
    ['MBInvResE6K4RELU(16,24,2)', /kernel must be odd/],
    ['MBInvResE0K3RELU(16,24,2)', /expansion must be ≥ 1, got 0/],
    ['MBInvResE17K3RELU(16,24,2)', /expansion = 17 is absurd/],
    ['MBInvResE6K3GELU(16,24,2)', /unknown block 'MBInvResE6K3GELU'.*MBInvResE\{e\}K\{k\}\{RELU\|SWISH\|HSWISH\}\[SE\|HSE\]/],
    ['MBInvResE6K3RELUXSE(16,24,2)', /unknown block/],
    ['MBInvResE6K3RELU(16,24)', /takes 3 arguments \(in,out,stride\), got 2/],
    ['MBInvResE6K3RELU(16,24,0)', /stride must be ≥ 1/],
    ['MBInvResE16K3RELU(65536,8,1)', /expanded width make_divisible\(in·e, 8\) = 1048576 is absurd/],
    ['MBInvResE6K3RELU(16,24,1)MBInvResE6K3RELU(16,24,1)', /channel mismatch: block 2 \(MBInvResE6K3RELU\) takes 16 input channels but block 1 produces 24/],
    ['SWISH(0)', /'SWISH': channels must be ≥ 1/],
  ];
  for (const [text, re] of bad) {
    const e = t.throws(() => parseStructure(text), { instanceOf: ZennasError }, text);
    t.regex(e!.message, re, text);
  }
});

test('property (fixed seed): edits of MBInvRes strings either parse and round-trip or fail with a ZennasError', (t) => {
  const base = 'ConvKX(3,16,3,2)BN(16)HSWISH(16)MBInvResE6K5SWISHSE(16,24,2)MBInvResE4K3HSWISHHSE(24,24,1)SWISH(24)';
  let parsed = 0, refused = 0;
  fc.assert(fc.property(fc.nat({ max: base.length }), fc.nat({ max: 4 }), fc.string({ maxLength: 4 }), (at, cut, insert) => {
    const text = base.slice(0, at) + insert + base.slice(Math.min(base.length, at + cut));
    try {
      const s = parseStructure(text);
      t.is(formatStructure(parseStructure(formatStructure(s))), formatStructure(s));
      parsed++;
    } catch (e) {
      t.true(e instanceof ZennasError, `${text}: ${String(e)}`);
      refused++;
    }
  }), { numRuns: 500, seed: 3 });
  t.true(parsed > 0 && refused > 0, `${parsed} parsed, ${refused} refused`);
});

test('timm widths: make_divisible, the expanded width and both SE widths', (t) => {
  t.deepEqual([makeDivisible(18), makeDivisible(20), makeDivisible(12), makeDivisible(3), makeDivisible(8 * 0.25, 1), makeDivisible(6, 1)], [24, 24, 16, 8, 2, 6]);
  const b = (expansion: number, inC: number, se: MBInvResBlock['se']): MBInvResBlock => ({ kind: 'MBInvRes', expansion, kernel: 3, act: 'relu', se, in: inC, out: inC, stride: 1 });
  t.is(mbMidChannels(b(1, 32, 'none')), 32, 'e = 1: no expansion');
  t.is(mbMidChannels(b(6, 24, 'none')), 144);
  t.is(mbMidChannels(b(3, 20, 'none')), 64, 'make_divisible(60) = 64');
  t.is(mbSeChannels(b(6, 40, 'se')), 10, 'EfficientNet: ¼ of the block input');
  t.is(mbSeChannels(b(6, 40, 'hse')), 64, 'MobileNetV3 / HardCoRe: make_divisible(240/4, 8)');
  t.is(mbSeChannels(b(3, 24, 'hse')), 24, 'make_divisible(72/4 = 18, 8) = 16 < 0.9·18 → 24');
  t.is(mbSeChannels(b(6, 40, 'none')), 0);
});

// ---- counts -----------------------------------------------------------------------------------

test('EfficientNet-B0 and MobileNetV2 in the grammar: the published parameter counts (within 0.5 %) and FLOPs', (t) => {
  const cases = [
    // torchvision / timm efficientnet_b0: 5,288,548 params, 0.39 GFLOPs (Tan & Le 2019, Table 2: 5.3M, 0.39B).
    { file: 'efficientnet_b0_res224.txt', params: 5.29e6, exact: 5_288_548, flops: 0.39e9 },
    // torchvision mobilenet_v2: 3,504,872 params, 300M multiply-adds (Sandler et al. 2018, Table 4: 3.4M without the classifier bias … 300M).
    { file: 'mobilenet_v2_res224.txt', params: 3.50e6, exact: 3_504_872, flops: 0.30e9 },
  ];
  for (const c of cases) {
    const text = fixture(c.file);
    const s = parseStructure(text);
    t.is(formatStructure(s), text, `${c.file} round-trips`);
    const n = countModel(s, { resolution: 224, numClasses: 1000 });
    t.true(Math.abs(n.params - c.params) / c.params < 0.005, `${c.file}: ${n.params} params`);
    t.is(n.params, c.exact, `${c.file}: the reference implementation's exact count`);
    t.true(Math.abs(n.flops - c.flops) / c.flops < 0.02, `${c.file}: ${n.flops} FLOPs`);
  }
});

test('an SE block counts its two 1×1 convs with bias; the identity shortcut has no parameters', (t) => {
  const s = parseStructure('MBInvResE6K5SWISHSE(40,40,1)');
  // expand 40·240 + BN 480, dw 240·25 + BN 480, SE 240·10 + 10 + 10·240 + 240, project 240·40 + BN 80
  t.is(countModel(s, { resolution: 14, numClasses: 0 }).params, 9600 + 480 + 6000 + 480 + 2400 + 10 + 2400 + 240 + 9600 + 80);
  const h = parseStructure('MBInvResE6K5HSWISHHSE(40,40,1)');
  t.is(countModel(h, { resolution: 14, numClasses: 0 }).params, 9600 + 480 + 6000 + 480 + 240 * 64 + 64 + 64 * 240 + 240 + 9600 + 80);
});

// ---- lowering ---------------------------------------------------------------------------------

const arbMb = fc.record({
  e: fc.constantFrom(1, 3, 4, 6), k: fc.constantFrom(3, 5, 7), act: fc.constantFrom('RELU', 'SWISH', 'HSWISH'), se: fc.constantFrom('', 'SE', 'HSE'),
  out: fc.constantFrom(8, 12, 16), stride: fc.constantFrom(1, 1, 2),
});

function chain(specs: Array<{ e: number; k: number; act: string; se: string; out: number; stride: number }>): Structure {
  let c = 8;
  let text = 'ConvKX(3,8,3,1)BN(8)HSWISH(8)';
  for (const b of specs) { text += `MBInvResE${b.e}K${b.k}${b.act}${b.se}(${c},${b.out},${b.stride})`; c = b.out; }
  return parseStructure(text + `SWISH(${c})`);
}

test('property: loweredOps equals both lowerings; scoring has no ADD; trained adds exactly where stride 1 and in = out', (t) => {
  fc.assert(fc.property(fc.array(arbMb, { minLength: 1, maxLength: 5 }), fc.constantFrom(0, 10), (specs, numClasses) => {
    const s = chain(specs);
    const scored = lowerForScoring(s);
    const trained = lowerAsTrained(s, { numClasses });
    t.is(loweredOps(s, { trained: false }), scored.nodes.length);
    t.is(loweredOps(s, { trained: true, numClasses }), trained.nodes.length);
    t.false(scored.nodes.some((n) => n.op === 'add'));
    let c = 8, residuals = 0;
    for (const b of specs) { if (b.stride === 1 && b.out === c) residuals++; c = b.out; }
    t.is(trained.nodes.filter((n) => n.op === 'add').length, residuals);
    const se = specs.filter((b) => b.se !== '').length;
    t.is(scored.nodes.filter((n) => n.op === 'mul').length, se);
    t.is(scored.nodes.filter((n) => n.op === 'hsigmoid').length, specs.filter((b) => b.se === 'HSE').length);
    t.is(scored.nodes.filter((n) => n.op === 'linear' && n.bias === 1).length, 2 * se, 'SE convs with bias');
    t.is(scored.nodes.filter((n) => n.op === 'conv').length, 1 + specs.length + specs.filter((b) => b.e !== 1).length);
    t.is(countModel(s, { resolution: 16, numClasses }).params > 0, true);
  }), { numRuns: 200, seed: 15 });
});

test('lowering of one block: op sequence of HSWISH + HSE (ReLU inside the SE, hard-sigmoid gate)', (t) => {
  const g = lowerAsTrained(parseStructure('MBInvResE4K3HSWISHHSE(16,16,1)'));
  t.deepEqual(g.nodes.map((n) => n.op), ['conv', 'bn', 'hswish', 'dwconv', 'bn', 'hswish', 'gap', 'linear', 'relu', 'linear', 'hsigmoid', 'mul', 'conv', 'bn', 'add']);
  t.deepEqual(g.nodes.filter((n) => n.role === 'se').map((n) => n.op), ['gap', 'linear', 'relu', 'linear', 'hsigmoid']);
  t.deepEqual(g.nodes.map((n) => n.cout), [64, 64, 64, 64, 64, 64, 64, 16, 16, 64, 64, 64, 16, 16, 16]);
  const e = lowerForScoring(parseStructure('MBInvResE1K5SWISHSE(32,16,2)'));
  t.deepEqual(e.nodes.map((n) => n.op), ['dwconv', 'bn', 'swish', 'gap', 'linear', 'swish', 'linear', 'sigmoid', 'mul', 'conv', 'bn']);
  t.is(e.nodes[4]!.cout, 8, 'EfficientNet SE: ¼ of the 32 input channels');
});

// ---- float64 reference --------------------------------------------------------------------------

test('reference hard-swish / hard-sigmoid: values and PyTorch’s derivative rule at the kinks (0 at −3, 1 at 3)', (t) => {
  const xs = [-4, -3, -1.5, 0, 1, 3, 4];
  const x = tensorOf(1, 1, 1, xs.length, Float64Array.from(xs));
  const ones = tensorOf(1, 1, 1, xs.length, new Float64Array(xs.length).fill(1));
  t.deepEqual(Array.from(elementwiseForward('hswish', x).data).map((v) => v + 0), [0, 0, -0.375, 0, 2 / 3, 3, 4]);
  t.deepEqual(Array.from(elementwiseForward('hsigmoid', x).data), [0, 0, 0.25, 0.5, 4 / 6, 1, 1]);
  t.deepEqual(Array.from(elementwiseBackward('hswish', x, ones).data), [0, 0, 0, 0.5, 1 / 3 + 0.5, 1, 1]);
  t.deepEqual(Array.from(elementwiseBackward('hsigmoid', x, ones).data), [0, 0, 1 / 6, 1 / 6, 1 / 6, 0, 0]);
});

const torchPython = findPython(['torch']);
(torchPython ? test : test.skip)('reference hard-swish / hard-sigmoid = torch.nn.functional.hardswish / hardsigmoid (forward and autograd, float64)', (t) => {
  const xs = [-5, -3, -2.999, -1.25, -0.5, 0, 0.3, 2.5, 3, 3.001, 7];
  const script = `
import json, sys, torch
xs = json.load(sys.stdin)
out = {}
for name, f in (("hswish", torch.nn.functional.hardswish), ("hsigmoid", torch.nn.functional.hardsigmoid)):
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    y = f(x)
    y.sum().backward()
    out[name] = {"y": y.tolist(), "dx": x.grad.tolist()}
print(json.dumps(out))`;
  const r = spawnSync(torchPython!, ['-c', script], { input: JSON.stringify(xs), encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const torch = JSON.parse(r.stdout) as Record<'hswish' | 'hsigmoid', { y: number[]; dx: number[] }>;
  const x = tensorOf(1, 1, 1, xs.length, Float64Array.from(xs));
  const ones = tensorOf(1, 1, 1, xs.length, new Float64Array(xs.length).fill(1));
  for (const op of ['hswish', 'hsigmoid'] as const) {
    const y = elementwiseForward(op, x).data, dx = elementwiseBackward(op, x, ones).data;
    xs.forEach((v, i) => {
      t.true(Math.abs(y[i]! - torch[op].y[i]!) < 1e-15, `${op}(${v}): ${y[i]} vs ${torch[op].y[i]}`);
      // PyTorch multiplies by 1/6 as a float32 constant: agreement to 1e-7.
      t.true(Math.abs(dx[i]! - torch[op].dx[i]!) < 1e-7, `${op}'(${v}): ${dx[i]} vs ${torch[op].dx[i]}`);
    });
  }
});

// ---- native CPU engine vs the float64 reference --------------------------------------------------

const SMALL = 'ConvKX(3,8,3,1)BN(8)HSWISH(8)MBInvResE1K3RELU(8,8,1)MBInvResE3K5SWISHSE(8,16,2)MBInvResE4K3HSWISHHSE(16,16,1)MBInvResE6K3RELUHSE(16,24,2)SWISH(24)';
const NETS: Array<{ name: string; graph: () => Graph }> = [
  { name: 'scoring view (no residuals)', graph: () => lowerForScoring(parseStructure(SMALL)) },
  { name: 'as trained (residual ADDs) with a classifier', graph: () => lowerAsTrained(parseStructure(SMALL), { numClasses: 7 }) },
];

for (const mode of ['paper', 'official'] as const) {
  test(`Zen-score of an MBInvRes net (SE, HSE, swish, hswish, hsigmoid): engine (float32) = reference (float64), ${mode}`, async (t) => {
    const d = encodeDescriptor(NETS[0]!.graph());
    const opts = { batchSize: 4, resolution: 12, repeats: 2, seed: 77, mode, bnEps: 1e-5, alpha: 0.01 };
    const ref = zenScoreReference(d, opts);
    const engine = new Engine({ backend: 'cpu', threads: 2 });
    try {
      const got = await engine.zenScore(d, opts);
      for (let r = 0; r < 2; r++) {
        t.true(Math.abs(got.scores[r]! - ref.scores[r]!) < 1e-3, `score r${r}: ${got.scores[r]} vs ${ref.scores[r]}`);
        t.true(Math.abs(got.logDelta[r]! - ref.logDelta[r]!) < 1e-3, `ln Δ r${r}`);
        t.true(Math.abs(got.logSigmaSum[r]! - ref.logSigmaSum[r]!) < 1e-5, `Σ ln σ̄ r${r}`);
      }
    } finally {
      engine.close();
    }
  });
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) { num += (a[i]! - b[i]!) ** 2; den += b[i]! ** 2; }
  return a.length === b.length ? Math.sqrt(num / Math.max(den, 1e-300)) : Infinity;
}

for (const c of NETS) {
  test(`'gradients' proxy of an MBInvRes net: engine = reference (loss, every parameter gradient, input gradient), ${c.name}`, async (t) => {
    const d = encodeDescriptor(c.graph());
    const net: ReferenceNet = decodeForReference(d);
    const batch = 4, res = 12, seed = 3, repeat = 1;
    const classes = net.nodes[net.outputs[0]! - 1]!.cout;
    const loss = net.nodes[net.outputs[0]! - 1]!.op === 'linear' ? 'cross-entropy' as const : 'sum' as const;
    const engine = new Engine({ backend: 'cpu', threads: 2 });
    let got;
    try {
      got = await engine.run('gradients', d, { batchSize: batch, resolution: res, seed, firstRepeat: repeat, loss, returnGradients: true, inputGradient: true });
    } finally {
      engine.close();
    }
    const x = referenceInput('input', seed, repeat, batch, net.inputChannels, res);
    const head = loss === 'sum' ? { kind: 'sum' as const } : { kind: 'crossEntropy' as const, labels: philoxLabels(seed, repeat, batch, classes) };
    const ref = referenceLossGradients(net, referenceWeights(net, seed, repeat), x, head, { bnEps: 1e-5 });
    t.true(Math.abs(got.scores[0]! - ref.loss) <= 1e-4 * Math.max(1, Math.abs(ref.loss)), `loss ${got.scores[0]} vs ${ref.loss}`);
    const byOp = new Map((got.gradients ?? []).map((g) => [g.op, g.data]));
    let checked = 0;
    ref.gradients.weights.forEach((w, i) => {
      const want = [...(w.weight ?? []), ...(w.bias ?? []), ...(w.gamma ?? []), ...(w.beta ?? [])];
      if (!want.length) return;
      const e = relErr(byOp.get(i) ?? [], want);
      t.true(e <= 1e-4, `op ${i} (${net.nodes[i]!.op}): relative error ${e.toExponential(2)}`);
      checked++;
    });
    t.true(checked >= 20, `${checked} parameter tensors`);
    const ei = relErr(got.inputGradient ?? [], ref.gradients.input.data);
    t.true(ei <= 1e-4, `input gradient: relative error ${ei.toExponential(2)}`);
  });
}

// ---- ONNX export run by onnxruntime --------------------------------------------------------------

const ortPython = findPython(['onnx', 'onnxruntime', 'numpy']);
(ortPython ? test : test.skip)('ONNX export of MBInvRes nets (HardSwish, HardSigmoid, SE, residual): onnx.checker + onnxruntime = float64 reference', async (t) => {
  const engine = new Engine({ backend: 'cpu', threads: 1 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-mbinvres-onnx-'));
  try {
    for (const text of [SMALL, 'ConvKX(3,16,3,2)BN(16)SWISH(16)MBInvResE1K3SWISHSE(16,8,1)MBInvResE6K5SWISHSE(8,8,1)ConvKX(8,24,1,1)BN(24)HSWISH(24)AdaptiveAvgPool(24,1)Linear(24,32)HSWISH(32)']) {
      const d = encodeDescriptor(lowerAsTrained(parseStructure(text), { numClasses: 5 }));
      const resolution = 16, seed = 4, batch = 2;
      const model = await exportInferenceOnnx(engine, d, { resolution, seed });
      const types = decodeOnnx(model).graph.node.map((n) => n.opType);
      if (text === SMALL) {
        t.is(types.filter((o) => o === 'HardSwish').length, 3, 'the stem and the HSWISH block (expand, dw)');
        t.is(types.filter((o) => o === 'HardSigmoid').length, 2, 'two HSE gates');
        const hs = decodeOnnx(model).graph.node.find((n) => n.opType === 'HardSigmoid')!;
        t.deepEqual(hs.attribute!.map((a) => [a.name, Math.fround(a.f!)]), [['alpha', Math.fround(1 / 6)], ['beta', 0.5]]);
      }
      const net = decodeForReference(d);
      const stats: BnRunningStats[] = await calibrateBn(engine, d, { resolution, seed });
      const mean: (Float64Array | null)[] = net.nodes.map(() => null), variance: (Float64Array | null)[] = net.nodes.map(() => null);
      for (const s of stats) { mean[s.op] = Float64Array.from(s.mean); variance[s.op] = Float64Array.from(s.variance); }
      const bn: EvalBn = { mean, variance };
      const x = referenceInput('input', 9, 0, batch, 3, resolution);
      const want = referenceForward(net, referenceWeights(net, seed, 0), x, { bnEps: 1e-5, bn }).outputs[0]!.data;
      const mf = path.join(dir, 'm.onnx'), xf = path.join(dir, 'x.bin'), yf = path.join(dir, 'y.bin');
      fs.writeFileSync(mf, model);
      fs.writeFileSync(xf, new Uint8Array(Float32Array.from(x.data).buffer));
      const r = spawnSync(ortPython!, [path.join(__dirname, 'helpers/onnx_run.py')], { input: JSON.stringify({ model: mf, input: xf, shape: [batch, 3, resolution, resolution], dtype: 'float32', output: yf }), encoding: 'utf8' });
      t.is(r.status, 0, r.stderr);
      t.deepEqual(JSON.parse(r.stdout).shape, [batch, 5]);
      const b = fs.readFileSync(yf);
      const y = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      let scale = 0, err = 0;
      want.forEach((v, i) => { scale = Math.max(scale, Math.abs(v)); err = Math.max(err, Math.abs(v - y[i]!)); });
      t.true(err / scale < 1e-4, `${text.slice(0, 40)}…: relative error ${err / scale}`);
    }
  } finally {
    engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
