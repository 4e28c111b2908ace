/**
 * ONNX export (src/export/onnx.ts): the file decodes to the graph we meant (BN folded, weights as
 * documented, counts that add up), and — where a Python with onnx + onnxruntime exists (.ci/run
 * installs them from the local wheelhouse) — passes onnx.checker's full check and computes what
 * the float64 reference's eval-mode forward computes.
 */
import test from 'ava';
import fc from 'fast-check';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { getFloat16, setFloat16 } from '@petamoriken/float16';
import { buildOnnxModel, CALIBRATION_BATCH, decodeOnnx, exportBnStatistics, exportOnnx, ONNX_OPSET } from '../src/export/onnx';
import { ONNX_FLOAT, ONNX_FLOAT16, OnnxModel } from '../src/export/onnx-schema';
import { decodeForReference, referenceForward, referenceInput, referenceWeights } from '../src/reference/zen-reference';
import { encodeDescriptor } from '../src/model/descriptor';
import { lowerAsTrained } from '../src/model/lower';
import { countModel } from '../src/model/count';
import { parseStructure } from '../src/grammar/parse';
import { Structure } from '../src/grammar/ast';
import { arbStructureWithin, ZOO } from './helpers/arbitraries';
import { findPython } from './helpers/python';
import { zennas } from './helpers/cli';

const SE_NET = 'SuperConvK3BNRELU(3,16,2,1)MaxPool(16,16,3,2)SuperResIDWE2K3(16,24,2,16,1)SuperResK1K5K1(24,32,1,8,1)SuperConvK1BNRELU(32,64,1,1)';
const trained = (s: string | Structure, numClasses = 10, se = false) =>
  encodeDescriptor(lowerAsTrained(typeof s === 'string' ? parseStructure(s) : s, { numClasses, se }));

function floats(t: { dataType: number; rawData: Uint8Array }): number[] {
  const v = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
  const n = t.rawData.byteLength / (t.dataType === ONNX_FLOAT16 ? 2 : 4);
  return Array.from({ length: n }, (_, i) => (t.dataType === ONNX_FLOAT16 ? getFloat16(v, 2 * i, true) : v.getFloat32(4 * i, true)));
}

const opTypes = (m: OnnxModel) => m.graph.node.map((n) => n.opType);

test('the file decodes to the model that was built (protobuf round trip)', async (t) => {
  const d = trained(SE_NET, 10, true);
  const built = await buildOnnxModel(d, { resolution: 32, docString: SE_NET });
  const m = decodeOnnx(await exportOnnx(d, { resolution: 32, docString: SE_NET }));
  t.is(m.irVersion, 8);
  t.is(m.opsetImport.length, 1);
  t.is(m.opsetImport[0]!.version, ONNX_OPSET);
  t.is(m.opsetImport[0]!.domain ?? '', '', 'the default ONNX domain');
  t.is(m.producerName, 'zennas');
  t.is(m.docString, SE_NET);
  t.deepEqual(opTypes(m), opTypes(built));
  t.deepEqual(m.graph.node.map((n) => n.input), built.graph.node.map((n) => n.input));
  t.deepEqual(m.graph.initializer.map((i) => [i.name, i.dims]), built.graph.initializer.map((i) => [i.name, i.dims]));
  t.deepEqual(m.graph.input[0]!.type.tensorType.shape.dim, [{ dimParam: 'batch' }, { dimValue: 3 }, { dimValue: 32 }, { dimValue: 32 }]);
  t.deepEqual(m.graph.output[0]!.type.tensorType.shape.dim, [{ dimParam: 'batch' }, { dimValue: 10 }]);
});

test('every BN that follows a conv is folded; one that follows none stays a BatchNormalization node', async (t) => {
  const d = trained(SE_NET, 10, true);
  const folded = decodeOnnx(await exportOnnx(d, { resolution: 32 }));
  t.false(opTypes(folded).includes('BatchNormalization'));
  // SE: GAP → Conv → Relu → Conv → Sigmoid → Mul, once per SE of the lowered network.
  const ses = decodeForReference(d).ops.filter((o) => o.op === 'sigmoid').length;
  t.true(ses >= 2);
  t.is(opTypes(folded).filter((o) => o === 'Sigmoid').length, ses);
  t.is(opTypes(folded).filter((o) => o === 'Mul').length, ses);
  t.is(opTypes(folded).filter((o) => o === 'GlobalAveragePool').length, ses + 1);
  const bnFirst = decodeOnnx(await exportOnnx(trained('BN(3)RELU(3)SuperConvK3BNRELU(3,8,1,1)'), { resolution: 8 }));
  t.deepEqual(opTypes(bnFirst).slice(0, 3), ['BatchNormalization', 'Relu', 'Conv']);
  t.is(opTypes(bnFirst).filter((o) => o === 'BatchNormalization').length, 1);
});

test("weights are the engine's repeat-0 draws, scaled by 1/√(1+ε) where a 'fresh' BN is folded", async (t) => {
  const d = trained('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)', 10);
  const eps = 1e-3;
  const m = await buildOnnxModel(d, { resolution: 16, bn: 'fresh', seed: 42, bnEps: eps });
  const net = decodeForReference(d);
  const raw = referenceWeights(net, 42, 0);
  const convIdx = net.ops.map((o, i) => (o.op === 'conv' ? i : -1)).filter((i) => i >= 0);
  for (const i of convIdx) {
    const w = floats(m.graph.initializer.find((x) => x.name === `op${i}_conv_weight`)!);
    const s = net.ops[i + 1]?.op === 'bn' ? 1 / Math.sqrt(1 + eps) : 1;
    t.is(w.length, raw[i]!.length);
    // float32 engine draws times the BN scale: equal to the float64 value up to float32 rounding.
    t.true(w.every((v, j) => Math.abs(v - raw[i]![j]! * s) <= 2 ** -23 * Math.abs(raw[i]![j]! * s)), `op ${i}`);
  }
});

test("'calibrated' BN statistics are the training-mode batch statistics of the calibration images", async (t) => {
  // The engine's float32 statistics against the float64 reference's on the same images (the
  // Zen-score input x of repeat 0 of the seed), BN by BN, channel by channel.
  const d = trained(SE_NET, 10, true);
  const net = decodeForReference(d);
  const stats = await exportBnStatistics(d, 'calibrated', 16, 3);
  const ref: Array<{ i: number; mean: Float64Array; variance: Float64Array }> = [];
  referenceForward(net, referenceWeights(net, 3, 0), referenceInput('input', 3, 0, CALIBRATION_BATCH, 3, 16), 1e-5, (b) => ref.push({ i: b.opIndex, ...b }));
  t.is(ref.length, net.ops.filter((o) => o.op === 'bn').length);
  for (const r of ref) {
    const m = stats.mean[r.i]!, v = stats.variance[r.i]!;
    r.variance.forEach((rv, c) => t.true(Math.abs(v[c]! - rv) <= 1e-4 * rv + 1e-9, `BN op ${r.i} channel ${c}: var ${v[c]} vs ${rv}`));
    r.mean.forEach((rm, c) => t.true(Math.abs(m[c]! - rm) <= 1e-4 * Math.sqrt(r.variance[c]!) + 1e-9, `BN op ${r.i} channel ${c}: mean ${m[c]} vs ${rm}`));
  }
  const fresh = await exportBnStatistics(d, 'fresh', 16);
  t.true(fresh.variance.every((v, i) => (v === null) === (net.ops[i]!.op !== 'bn') && (!v || v.every((x) => x === 1))));
});

test("'calibrated' BN keeps every BN output O(1) on new images; 'fresh' BN lets a deep net's logits grow", async (t) => {
  // The smallest CIFAR ZenNet (deep, residual) and an SE net, run on seed 7's images after
  // calibration on seed 0's (float64 reference, eval mode): every BN input's mean square about
  // its running mean is within 10× of its running variance (a random deep net gives each image its
  // own channel means, so 4 calibration images fix the scale, not the digits).
  const zen = fs.readFileSync(path.join(ZOO, 'zennet_cifar_model_size05M_res32.txt'), 'utf8');
  for (const [s, se, res] of [[zen, false, 16], [SE_NET, true, 32]] as const) {
    const d = trained(s, 100, se);
    const net = decodeForReference(d);
    const w = referenceWeights(net, 0, 0);
    const x = referenceInput('input', 7, 0, 2, 3, res);
    const cal = await exportBnStatistics(d, 'calibrated', res);
    let checked = 0;
    const out = referenceForward(net, w, x, 1e-5, (b) => {
      const mu = cal.mean[b.opIndex]!, v = cal.variance[b.opIndex]!;
      let measured = 0, expected = 0;
      b.variance.forEach((bv, c) => { measured += bv + (b.mean[c]! - mu[c]!) ** 2; expected += v[c]!; });
      const r = measured / expected;
      // BNs on ≥ 4×4 maps saw ≥ 64 values per channel in calibration: their scale is pinned down.
      // SE's BNs on 1×1 maps saw 4 (one per image) and may be off by more, never by orders.
      if (b.count / x.n >= 16) t.true(r > 1 / 10 && r < 10, `BN op ${b.opIndex}: ${r}`);
      else t.true(r > 1 / 50 && r < 50, `BN op ${b.opIndex} (1×1 map): ${r}`);
      checked++;
    }, cal)[net.outputSlot]!;
    t.is(checked, net.ops.filter((o) => o.op === 'bn').length);
    const calibrated = Math.max(...out.data.map(Math.abs));
    const fresh = Math.max(...referenceForward(net, w, x, 1e-5, undefined, await exportBnStatistics(d, 'fresh', res))[net.outputSlot]!.data.map(Math.abs));
    t.true(calibrated < 100, `calibrated logits up to ${calibrated}`);
    if (s === zen) t.true(fresh > 100 * calibrated, `fresh ${fresh} vs calibrated ${calibrated}: fresh BN does not normalise`);
  }
});

test('weights in the file add up to the as-trained params with each BN (γ, β) replaced by one bias', async (t) => {
  const files = fs.readdirSync(ZOO).filter((f) => f.startsWith('zennet_cifar'));
  t.true(files.length >= 3);
  for (const f of files) {
    const s = parseStructure(fs.readFileSync(path.join(ZOO, f), 'utf8'));
    const list = lowerAsTrained(s, { numClasses: 100 });
    const bnChannels = list.layers.filter((l) => l.op === 'bn').reduce((a, l) => a + l.cout, 0);
    const m = await buildOnnxModel(encodeDescriptor(list), { resolution: 32 });
    const stored = m.graph.initializer.reduce((a, i) => a + i.dims.reduce((p, q) => p * q, 1), 0);
    t.is(stored, countModel(s, { resolution: 32, numClasses: 100 }).params - bnChannels, f);
  }
});

test('fixed batch and fp16 are written as asked', async (t) => {
  const m = decodeOnnx(await exportOnnx(trained(SE_NET), { resolution: 32, batchSize: 64, precision: 'fp16' }));
  t.deepEqual(m.graph.input[0]!.type.tensorType.shape.dim[0], { dimValue: 64 });
  t.is(m.graph.input[0]!.type.tensorType.elemType, ONNX_FLOAT16);
  t.is(m.graph.output[0]!.type.tensorType.elemType, ONNX_FLOAT16);
  t.true(m.graph.initializer.filter((i) => i.name.endsWith('weight')).every((i) => i.dataType === ONNX_FLOAT16));
  const m32 = decodeOnnx(await exportOnnx(trained(SE_NET), { resolution: 32 }));
  t.true(m32.graph.initializer.filter((i) => i.name.endsWith('weight')).every((i) => i.dataType === ONNX_FLOAT));
});

test('bad options and descriptors are specific errors', async (t) => {
  const d = trained(SE_NET);
  t.is((await t.throwsAsync(exportOnnx(d, { resolution: 0 })))!.message, 'resolution must be an integer in [1, 4096], got 0');
  t.regex((await t.throwsAsync(exportOnnx(d, { resolution: 32, precision: 'int8' as never })))!.message, /precision must be 'fp32' or 'fp16'/);
  t.regex((await t.throwsAsync(exportOnnx(d, { resolution: 32, bn: 'train' as never })))!.message, /bn must be 'calibrated' or 'fresh'/);
  t.regex((await t.throwsAsync(exportOnnx(d, { resolution: 32, seed: -1 })))!.message, /seed/);
  t.regex((await t.throwsAsync(exportOnnx(d, { resolution: 32, bnEps: 0 })))!.message, /bnEps/);
  const broken = d.slice();
  broken[0] = 0;
  t.is(((await t.throwsAsync(exportOnnx(broken, { resolution: 32 }))) as { code?: string }).code, 'E_DESCRIPTOR');
  // Over protobuf's 2 GiB: refused before any weight is drawn, with the way out when there is one.
  const big = trained('SuperConvK3BNRELU(3,8,1,1)SuperConvK3BNRELU(8,8192,1,1)SuperConvK3BNRELU(8192,8192,1,1)');
  const tooBig = await t.throwsAsync(exportOnnx(big, { resolution: 8 }));
  t.is((tooBig as { code?: string }).code, 'E_STRUCTURE');
  t.regex(tooBig!.message, /2\.25 GiB but an ONNX file holds at most 2 GiB: export with precision fp16/);
  // Padding (k−1)/2 keeps every map ≥ 1×1, so even a 1×1 input exports (the output is still [batch, 10]).
  t.deepEqual(decodeOnnx(await exportOnnx(d, { resolution: 1 })).graph.output[0]!.type.tensorType.shape.dim, [{ dimParam: 'batch' }, { dimValue: 10 }]);
});

// ---- onnx.checker + onnxruntime against the float64 reference ------------------------------

const python = findPython(['onnx', 'onnxruntime', 'numpy']);
const withOrt = python ? test : test.skip;
// Without such a Python the three tests below are reported as skipped (ZENNAS_PYTHON points elsewhere).

function runOrt(model: Uint8Array, x: Float64Array, shape: number[], fp16 = false): { y: Float32Array; shape: number[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-onnx-test-'));
  try {
    const mf = path.join(dir, 'm.onnx'), xf = path.join(dir, 'x.bin'), yf = path.join(dir, 'y.bin');
    fs.writeFileSync(mf, model);
    if (fp16) {
      const b = new Uint8Array(2 * x.length), v = new DataView(b.buffer);
      x.forEach((e, i) => setFloat16(v, 2 * i, e, true));
      fs.writeFileSync(xf, b);
    } else {
      fs.writeFileSync(xf, new Uint8Array(Float32Array.from(x).buffer));
    }
    const r = spawnSync(python!, [path.join(__dirname, 'helpers/onnx_run.py')], {
      input: JSON.stringify({ model: mf, input: xf, shape, dtype: fp16 ? 'float16' : 'float32', output: yf }), encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`onnx_run.py failed:\n${r.stderr}`);
    const info = JSON.parse(r.stdout) as { shape: number[]; dtype: string };
    const bytes = fs.readFileSync(yf);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const y = info.dtype === 'float16'
      ? Float32Array.from({ length: bytes.byteLength / 2 }, (_, i) => getFloat16(view, 2 * i, true))
      : new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    return { y, shape: info.shape };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** max |ORT − reference| relative to max |reference|. */
async function relErr(model: Uint8Array, d: Int32Array, o: { batch: number; resolution: number; bn: 'calibrated' | 'fresh' | 'train'; seed: number; bnEps: number; fp16?: boolean; inputSeed?: number }): Promise<{ err: number; shape: number[] }> {
  const net = decodeForReference(d);
  const x = referenceInput('input', o.inputSeed ?? 9, 0, o.batch, net.inputChannels, o.resolution);
  const w = referenceWeights(net, o.seed, 0);
  // 'train': the reference in training mode (batch statistics of x itself).
  const bn = o.bn === 'train' ? 'train' : await exportBnStatistics(d, o.bn, o.resolution, o.seed, o.bnEps);
  const ref = referenceForward(net, w, x, o.bnEps, undefined, bn)[net.outputSlot]!;
  const out = runOrt(model, x.data, [o.batch, net.inputChannels, o.resolution, o.resolution], o.fp16);
  let scale = 0, err = 0;
  for (let i = 0; i < ref.data.length; i++) {
    scale = Math.max(scale, Math.abs(ref.data[i]!));
    err = Math.max(err, Math.abs(ref.data[i]! - out.y[i]!));
  }
  if (out.y.length !== ref.data.length) throw new Error(`ORT gave ${out.y.length} values, the reference ${ref.data.length}`);
  return { err: err / scale, shape: out.shape };
}

withOrt('onnxruntime computes the reference eval-mode forward (SE, IDW, bottleneck, max-pool; dynamic batch)', async (t) => {
  const d = trained(SE_NET, 10, true);
  // On the calibration images themselves, the calibrated eval network is the training-mode network.
  const own = await relErr(await exportOnnx(d, { resolution: 32, seed: 5 }), d, { batch: CALIBRATION_BATCH, resolution: 32, bn: 'train', seed: 5, bnEps: 1e-5, inputSeed: 5 });
  t.true(own.err < 1e-4, `eval network on its calibration images vs training-mode reference: ${own.err}`);
  for (const bn of ['calibrated', 'fresh'] as const) {
    const r = await relErr(await exportOnnx(d, { resolution: 32, bn, seed: 5 }), d, { batch: 3, resolution: 32, bn, seed: 5, bnEps: 1e-5 });
    t.deepEqual(r.shape, [3, 10]);
    t.true(r.err < 1e-5, `${bn}: relative error ${r.err}`);
  }
});

withOrt('fp16 export runs in onnxruntime: FP16 accuracy on an SE net, finite O(1) logits from a deep residual ZenNet', async (t) => {
  const d = trained(SE_NET, 10, true);
  const r = await relErr(await exportOnnx(d, { resolution: 32, precision: 'fp16', batchSize: 2 }), d, { batch: 2, resolution: 32, bn: 'calibrated', seed: 0, bnEps: 1e-5, fp16: true });
  t.deepEqual(r.shape, [2, 10]);
  t.true(r.err < 3e-2, `relative error ${r.err}`);
  // A deep residual ZenNet in FP16 on new images: finite, O(1) logits. (Not compared digit by digit:
  // BN folding turns channels with a large mean and a small spread into x·s − μ·s, which cancels
  // in FP16 — a property of the random network, not of the export.)
  const zen = trained(parseStructure(fs.readFileSync(path.join(ZOO, 'zennet_cifar_model_size05M_res32.txt'), 'utf8')), 100);
  const x = referenceInput('input', 11, 0, 2, 3, 32);
  const y = runOrt(await exportOnnx(zen, { resolution: 32, precision: 'fp16' }), x.data, [2, 3, 32, 32], true).y;
  t.is(y.length, 200);
  t.true(y.every((v) => Number.isFinite(v) && Math.abs(v) < 1000), `max |logit| ${Math.max(...Array.from(y, Math.abs))}`);
});

withOrt('random grammar structures (all block kinds, ±SE, with and without head): onnxruntime = reference', async (t) => {
  const cases = fc.sample(fc.tuple(arbStructureWithin({ maxChannels: 12, maxBlocks: 4, maxSubLayers: 2 }), fc.boolean(), fc.constantFrom(0, 7)), { numRuns: 24, seed: 2026 });
  const kinds = new Set<string>();
  for (const [s, se, classes] of cases) {
    s.blocks.forEach((b) => kinds.add(b.kind));
    const d = trained(s, classes, se);
    const r = await relErr(await exportOnnx(d, { resolution: 16, seed: 1 }), d, { batch: 2, resolution: 16, bn: 'calibrated', seed: 1, bnEps: 1e-5 });
    t.true(r.err < 1e-4, `${JSON.stringify(s)}: relative error ${r.err}`);
  }
  t.true(kinds.size >= 8, `the sample covers only ${[...kinds].join(', ')}`);
});

// ---- CLI -----------------------------------------------------------------------------------

test('zennas export writes a file, refuses to overwrite it, and reports JSON', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-export-cli-'));
  try {
    const out = path.join(dir, 'net.onnx');
    const r = zennas('export', SE_NET, '-o', out, '-r', '32', '-c', '10', '-b', '8', '--json');
    t.is(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { bytes: number; batchSize: number; params: number };
    t.is(summary.bytes, fs.statSync(out).size);
    t.is(summary.batchSize, 8);
    const m = decodeOnnx(fs.readFileSync(out));
    t.deepEqual(m.graph.input[0]!.type.tensorType.shape.dim, [{ dimValue: 8 }, { dimValue: 3 }, { dimValue: 32 }, { dimValue: 32 }]);
    const again = zennas('export', SE_NET, '-o', out);
    t.is(again.code, 2);
    t.regex(again.stderr, /exists: pass --overwrite/);
    t.is(fs.statSync(out).size, summary.bytes, 'the existing file is untouched');
    t.is(zennas('export', SE_NET, '-o', out, '--overwrite', '-r', '32').code, 0);
    t.deepEqual(fs.readdirSync(dir), ['net.onnx'], 'no temporary files left');
    const bad = zennas('export', SE_NET, '-o', out, '--precision', 'int8');
    t.is(bad.code, 2);
    t.regex(bad.stderr, /--precision must be 'fp32' or 'fp16'/);
    t.regex(zennas('export', SE_NET, '-o', path.join(dir, 'missing/x.onnx')).stderr, /does not exist/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
