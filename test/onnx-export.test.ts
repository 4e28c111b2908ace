/**
 * ONNX export (src/export/): the file decodes to the graph we meant (BN folded, weights as
 * documented, counts that add up), and — where a Python with onnx + onnxruntime exists (.ci/run
 * installs them from the local wheelhouse) — passes onnx.checker's full check and computes what
 * the float64 reference's eval-mode forward computes, for every op of the schema.
 */
import test from 'ava';
import fc from 'fast-check';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { getFloat16, setFloat16 } from '@petamoriken/float16';
import { buildOnnxModel, decodeOnnx, exportOnnx, ExportNodeWeights, BnRunningStats, ONNX_OPSET } from '../src/export/onnx';
import { CALIBRATION_BATCH, calibrateBn, exportInferenceOnnx, InferenceExportOptions } from '../src/export/inference';
import { drawWeights } from '../src/export/weights';
import { ONNX_FLOAT, ONNX_FLOAT16, OnnxModel } from '../src/export/onnx-schema';
import { EvalBn, NodeWeights, ReferenceNet, decodeForReference, referenceForward, referenceInput, referenceWeights } from '../src/reference/zen-reference';
import { Engine } from '../src/engine/engine';
import { encodeDescriptor } from '../src/ops/descriptor';
import { Graph, GraphNode, inferGraph } from '../src/ops/graph';
import { OpName } from '../src/ops/schema';
import { gaussianTensor } from '../src/rng/philox';
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

/** The CPU engine that calibrates BN (engine.bnStatistics), shared by the tests of this file. */
const engine = new Engine({ backend: 'cpu', threads: 1 });
test.after.always(() => engine.close());
const exportD = (d: Int32Array, o: InferenceExportOptions) => exportInferenceOnnx(engine, d, o);

/** BN statistics by node index, as the reference's eval mode reads them ('fresh': all null → mean 0, var 1). */
function evalBn(net: ReferenceNet, stats: 'fresh' | readonly BnRunningStats[]): EvalBn {
  const mean: (Float64Array | null)[] = net.nodes.map(() => null), variance: (Float64Array | null)[] = net.nodes.map(() => null);
  if (stats !== 'fresh') for (const s of stats) { mean[s.op] = Float64Array.from(s.mean); variance[s.op] = Float64Array.from(s.variance); }
  return { mean, variance };
}

function floats(t: { dataType: number; rawData: Uint8Array }): number[] {
  const v = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
  const n = t.rawData.byteLength / (t.dataType === ONNX_FLOAT16 ? 2 : 4);
  return Array.from({ length: n }, (_, i) => (t.dataType === ONNX_FLOAT16 ? getFloat16(v, 2 * i, true) : v.getFloat32(4 * i, true)));
}

const opTypes = (m: OnnxModel) => m.graph.node.map((n) => n.opType);

test('the file decodes to the model that was built (protobuf round trip)', async (t) => {
  const d = trained(SE_NET, 10, true);
  const net = decodeForReference(d);
  const built = buildOnnxModel(d, { resolution: 32, docString: SE_NET, weights: drawWeights(net, 0), bnStatistics: await calibrateBn(engine, d, { resolution: 32 }) });
  const m = decodeOnnx(await exportD(d, { resolution: 32, docString: SE_NET }));
  t.is(m.irVersion, 8);
  t.is(m.opsetImport.length, 1);
  t.is(m.opsetImport[0]!.version, ONNX_OPSET);
  t.is(m.opsetImport[0]!.domain ?? '', '', 'the default ONNX domain');
  t.is(m.producerName, 'zennas');
  t.is(m.docString, SE_NET);
  t.deepEqual(opTypes(m), opTypes(built));
  t.deepEqual(m.graph.node.map((n) => n.input), built.graph.node.map((n) => n.input));
  t.deepEqual(m.graph.initializer.map((i) => [i.name, i.dims]), built.graph.initializer.map((i) => [i.name, i.dims]));
  t.deepEqual(m.graph.initializer.map((i) => floats(i)), built.graph.initializer.map((i) => floats(i)), 'the pipeline = exportOnnx on drawWeights + calibrateBn');
  t.deepEqual(m.graph.input[0]!.type.tensorType.shape.dim, [{ dimParam: 'batch' }, { dimValue: 3 }, { dimValue: 32 }, { dimValue: 32 }]);
  t.deepEqual(m.graph.output[0]!.type.tensorType.shape.dim, [{ dimParam: 'batch' }, { dimValue: 10 }]);
  const meta = Object.fromEntries(m.metadataProps!.map((p) => [p.key, p.value]));
  t.is(meta['zennas.weights'], 'Philox N(0,1), seed 0, repeat 0');
  t.regex(meta['zennas.bn']!, /of 4 N\(0,1\) images \(seed 0\), eps 0\.00001/);
});

test('every BN that follows a conv is folded; one that follows none stays a BatchNormalization node', async (t) => {
  const d = trained(SE_NET, 10, true);
  const folded = decodeOnnx(await exportD(d, { resolution: 32 }));
  t.false(opTypes(folded).includes('BatchNormalization'));
  // SE: GAP → Conv → Relu → Conv → Sigmoid → Mul, once per SE of the lowered network.
  const ses = decodeForReference(d).nodes.filter((o) => o.op === 'sigmoid').length;
  t.true(ses >= 2);
  t.is(opTypes(folded).filter((o) => o === 'Sigmoid').length, ses);
  t.is(opTypes(folded).filter((o) => o === 'Mul').length, ses);
  t.is(opTypes(folded).filter((o) => o === 'GlobalAveragePool').length, ses + 1);
  const bnFirst = decodeOnnx(await exportD(trained('BN(3)RELU(3)SuperConvK3BNRELU(3,8,1,1)'), { resolution: 8, bn: 'fresh' }));
  t.deepEqual(opTypes(bnFirst).slice(0, 3), ['BatchNormalization', 'Relu', 'Conv']);
  t.is(opTypes(bnFirst).filter((o) => o === 'BatchNormalization').length, 1);
  // 'fresh': the unfolded BN's running statistics are mean 0, var 1 (γ = 1, β = 0).
  const init = (suffix: string) => floats(bnFirst.graph.initializer.find((i) => i.name === `op0_bn_${suffix}`)!);
  t.deepEqual([init('mean'), init('var'), init('scale'), init('bias')], [[0, 0, 0], [1, 1, 1], [1, 1, 1], [0, 0, 0]]);
});

test("weights are the engine's repeat-0 draws, scaled by 1/√(1+ε) where a 'fresh' BN is folded", async (t) => {
  const d = trained('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)', 10);
  const eps = 1e-3;
  const m = decodeOnnx(await exportInferenceOnnx(null, d, { resolution: 16, bn: 'fresh', seed: 42, bnEps: eps }));
  const net = decodeForReference(d);
  const raw = referenceWeights(net, 42, 0);
  const convIdx = net.nodes.map((o, i) => (o.op === 'conv' ? i : -1)).filter((i) => i >= 0);
  t.true(convIdx.length >= 4);
  for (const i of convIdx) {
    const w = floats(m.graph.initializer.find((x) => x.name === `op${i}_conv_weight`)!);
    const s = net.nodes.some((n) => n.op === 'bn' && n.inputs[0] === i + 1) ? 1 / Math.sqrt(1 + eps) : 1;
    const r = raw[i]!.weight!;
    t.is(w.length, r.length);
    // float32 engine draws times the BN scale: equal to the float64 value up to float32 rounding.
    t.true(w.every((v, j) => Math.abs(v - r[j]! * s) <= 2 ** -23 * Math.abs(r[j]! * s)), `op ${i}`);
  }
  // drawWeights is the native fill of the same numbers.
  const drawn = drawWeights(net, 42);
  for (const i of convIdx) t.true(drawn[i]!.weight.every((v, j) => v === Math.fround(raw[i]!.weight![j]!)), `op ${i}`);
  t.true(drawn.every((w, i) => (w === null) === !['conv', 'dwconv', 'linear'].includes(net.nodes[i]!.op)));
});

test("'calibrated' BN statistics are the training-mode batch statistics of the calibration images", async (t) => {
  // The engine's float32 statistics against the float64 reference's on the same images (the
  // Zen-score input x of repeat 0 of the seed), BN by BN, channel by channel.
  const d = trained(SE_NET, 10, true);
  const net = decodeForReference(d);
  const stats = await calibrateBn(engine, d, { resolution: 16, seed: 3 });
  const ref = referenceForward(net, referenceWeights(net, 3, 0), referenceInput('input', 3, 0, CALIBRATION_BATCH, 3, 16), { bnEps: 1e-5 }).bn;
  t.is(ref.length, net.nodes.filter((o) => o.op === 'bn').length);
  t.deepEqual(stats.map((s) => s.op), ref.map((r) => r.opIndex));
  for (const r of ref) {
    const s = stats.find((x) => x.op === r.opIndex)!;
    r.variance.forEach((rv, c) => t.true(Math.abs(s.variance[c]! - rv) <= 1e-4 * rv + 1e-9, `BN op ${r.opIndex} channel ${c}: var ${s.variance[c]} vs ${rv}`));
    r.mean.forEach((rm, c) => t.true(Math.abs(s.mean[c]! - rm) <= 1e-4 * Math.sqrt(r.variance[c]!) + 1e-9, `BN op ${r.opIndex} channel ${c}: mean ${s.mean[c]} vs ${rm}`));
  }
  t.deepEqual(await calibrateBn(engine, trained('SuperConvK3BNRELU(3,8,1,1)').slice(), { resolution: 8 }).then((s) => s.length), 1);
  // A net without BN needs no calibration (and no engine).
  const noBn = encodeDescriptor({ inputChannels: 3, nodes: [node('conv', [0], 3, 4, 3, 1)], outputs: [1] });
  t.deepEqual(await calibrateBn(null as never, noBn, { resolution: 8 }), []);
  t.true((await exportInferenceOnnx(null, noBn, { resolution: 8 })).length > 0);
  t.is((await t.throwsAsync(exportInferenceOnnx(null, d, { resolution: 8 })) as { code?: string }).code, 'E_OPTION', "'calibrated' without a source");
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
    const cal = evalBn(net, await calibrateBn(engine, d, { resolution: res }));
    const fwd = referenceForward(net, w, x, { bnEps: 1e-5, bn: cal });
    t.is(fwd.bn.length, net.nodes.filter((o) => o.op === 'bn').length);
    for (const b of fwd.bn) {
      const mu = cal.mean[b.opIndex]!, v = cal.variance[b.opIndex]!;
      let measured = 0, expected = 0;
      b.variance.forEach((bv, c) => { measured += bv + (b.mean[c]! - mu[c]!) ** 2; expected += v[c]!; });
      const r = measured / expected;
      // BNs on ≥ 4×4 maps saw ≥ 64 values per channel in calibration: their scale is pinned down.
      // SE's BNs on 1×1 maps saw 4 (one per image) and may be off by more, never by orders.
      if (b.count / x.n >= 16) t.true(r > 1 / 10 && r < 10, `BN op ${b.opIndex}: ${r}`);
      else t.true(r > 1 / 50 && r < 50, `BN op ${b.opIndex} (1×1 map): ${r}`);
    }
    const calibrated = Math.max(...fwd.outputs[0]!.data.map(Math.abs));
    const fresh = Math.max(...referenceForward(net, w, x, { bnEps: 1e-5, bn: evalBn(net, 'fresh') }).outputs[0]!.data.map(Math.abs));
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
    const bnChannels = list.nodes.filter((l) => l.op === 'bn').reduce((a, l) => a + l.cout, 0);
    const m = buildOnnxModel(list, { resolution: 32, weights: drawWeights(list, 0), bnStatistics: 'fresh' });
    const stored = m.graph.initializer.reduce((a, i) => a + i.dims.reduce((p, q) => p * q, 1), 0);
    t.is(stored, countModel(s, { resolution: 32, numClasses: 100 }).params - bnChannels, f);
  }
});

test('fixed batch and fp16 are written as asked', async (t) => {
  const m = decodeOnnx(await exportD(trained(SE_NET), { resolution: 32, batchSize: 64, precision: 'fp16' }));
  t.deepEqual(m.graph.input[0]!.type.tensorType.shape.dim[0], { dimValue: 64 });
  t.is(m.graph.input[0]!.type.tensorType.elemType, ONNX_FLOAT16);
  t.is(m.graph.output[0]!.type.tensorType.elemType, ONNX_FLOAT16);
  t.true(m.graph.initializer.filter((i) => i.name.endsWith('weight')).every((i) => i.dataType === ONNX_FLOAT16));
  const m32 = decodeOnnx(await exportD(trained(SE_NET), { resolution: 32 }));
  t.true(m32.graph.initializer.filter((i) => i.name.endsWith('weight')).every((i) => i.dataType === ONNX_FLOAT));
});

test('bad options and descriptors are specific errors', async (t) => {
  const d = trained(SE_NET);
  t.is((await t.throwsAsync(exportD(d, { resolution: 0 })))!.message, 'resolution must be an integer in [1, 4096], got 0');
  t.regex((await t.throwsAsync(exportD(d, { resolution: 32, precision: 'int8' as never })))!.message, /precision must be 'fp32' or 'fp16'/);
  t.regex((await t.throwsAsync(exportD(d, { resolution: 32, bn: 'train' as never })))!.message, /bn must be 'calibrated' or 'fresh'/);
  t.regex((await t.throwsAsync(exportD(d, { resolution: 32, seed: -1 })))!.message, /seed/);
  t.regex((await t.throwsAsync(exportD(d, { resolution: 32, bnEps: 0 })))!.message, /bnEps/);
  const broken = d.slice();
  broken[0] = 0;
  t.is(((await t.throwsAsync(exportD(broken, { resolution: 32 }))) as { code?: string }).code, 'E_DESCRIPTOR');
  // Over protobuf's 2 GiB: refused before any weight is drawn, with the way out when there is one.
  const big = trained('SuperConvK3BNRELU(3,8,1,1)SuperConvK3BNRELU(8,8192,1,1)SuperConvK3BNRELU(8192,8192,1,1)');
  const tooBig = await t.throwsAsync(exportD(big, { resolution: 8 }));
  t.is((tooBig as { code?: string }).code, 'E_STRUCTURE');
  t.regex(tooBig!.message, /2\.25 GiB but an ONNX file holds at most 2 GiB: export with precision fp16/);
  // Padding (k−1)/2 keeps every map ≥ 1×1, so even a 1×1 input exports (the output is still [batch, 10]).
  t.deepEqual(decodeOnnx(await exportD(d, { resolution: 1 })).graph.output[0]!.type.tensorType.shape.dim, [{ dimParam: 'batch' }, { dimValue: 10 }]);

  // exportOnnx checks what it is given against the graph.
  const net = decodeForReference(d);
  const w = drawWeights(net, 0);
  const stats = await calibrateBn(engine, d, { resolution: 8 });
  const conv = net.nodes.findIndex((n) => n.op === 'conv');
  const err = (o: Partial<Parameters<typeof exportOnnx>[1]>) => {
    const e = t.throws(() => exportOnnx(d, { resolution: 8, weights: w, bnStatistics: stats, ...o }));
    t.is((e as { code?: string }).code, 'E_OPTION', e!.message);
    return e!.message;
  };
  t.regex(err({ weights: w.map((x, i) => (i === conv ? null : x)) }), new RegExp(`weights\\[${conv}\\] \\(conv\\): no weight given`));
  t.regex(err({ weights: w.map((x, i) => (i === conv ? { weight: new Float32Array(3) } : x)) }), /weight must be a Float32Array or Float64Array of \d+ values/);
  t.regex(err({ bnStatistics: stats.slice(1) }), new RegExp(`no statistics for BN op ${stats[0]!.op}\\b`));
  t.regex(err({ bnStatistics: [...stats, { ...stats[0]!, op: conv }] }), new RegExp(`op ${conv} is not a BN node`));
  t.regex(err({ bnStatistics: [...stats, stats[0]!] }), /is given twice/);
  t.regex(err({ bnStatistics: stats.map((s, k) => (k === 0 ? { ...s, variance: s.variance.slice(1) } : s)) }), /needs a variance of \d+ channels/);
  t.regex(err({ bnStatistics: stats.map((s, k) => (k === 0 ? { ...s, variance: s.variance.map(() => -1) } : s)) }), /negative or non-finite variance/);
  t.regex(err({ bnStatistics: 'calibrated' as never }), /bnStatistics must be 'fresh' or a list/);
  t.notThrows(() => exportOnnx(d, { resolution: 8, weights: w, bnStatistics: stats }));
});

// ---- every op of the schema, hand-built --------------------------------------------------

/** A graph node with cin filled in later by `graph`. */
function node(op: OpName, inputs: number[], cin: number, cout: number, kernel = 0, stride = 0, extra: Partial<GraphNode> = {}): GraphNode {
  return { op, inputs, cin, cout, kernel, stride, block: 0, role: 'main', ...extra };
}

/**
 * Every op and every mapping case: folded conv+BN and dwconv+BN, a BN whose conv output is also
 * read elsewhere (not folded) and one whose conv output is a graph output, swish, both average
 * pools, identity, zero, a 3-input add (Sum), Linear with and without bias, BN on a Linear output
 * (rank 2), a [N,C] gate on a [N,C,H,W] map, adds mixing [N,C] and [N,C,1,1], three graph outputs.
 */
const ALL_OPS: Graph = {
  inputChannels: 3,
  nodes: [
    node('conv', [0], 3, 8, 3, 1), // 0 → v1 (also a graph output: its BN is not folded)
    node('bn', [1], 8, 8), // 1 → v2
    node('swish', [2], 8, 8), // 2 → v3
    node('avgpool', [3], 8, 8, 3, 1, { countIncludePad: 1 }), // 3 → v4
    node('avgpool', [3], 8, 8, 3, 2, { countIncludePad: 0 }), // 4 → v5 (4×4)
    node('dwconv', [4], 8, 8, 3, 2), // 5 → v6 (4×4)
    node('bn', [6], 8, 8), // 6 → v7 (folded into the dwconv)
    node('identity', [5], 8, 8), // 7 → v8
    node('zero', [7], 8, 8), // 8 → v9
    node('add', [7, 8, 9], 8, 8), // 9 → v10 (Sum)
    node('conv', [10], 8, 8, 1, 1), // 10 → v11 (read by the BN and the relu: not folded)
    node('bn', [11], 8, 8), // 11 → v12
    node('relu', [11], 8, 8), // 12 → v13
    node('add', [12, 13], 8, 8), // 13 → v14
    node('maxpool', [14], 8, 8, 3, 2), // 14 → v15 (2×2)
    node('gap', [15], 8, 8), // 15 → v16
    node('linear', [16], 8, 4, 0, 0, { bias: 0 }), // 16 → v17 [N,4]
    node('bn', [17], 4, 4), // 17 → v18
    node('sigmoid', [18], 4, 4), // 18 → v19
    node('linear', [19], 4, 8, 0, 0, { bias: 1 }), // 19 → v20
    node('sigmoid', [20], 8, 8), // 20 → v21 [N,8]
    node('mul', [15, 21], 8, 8), // 21 → v22 (2×2 map ⊙ [N,8] gate)
    node('add', [16, 21], 8, 8), // 22 → v23 ([N,8,1,1] + [N,8])
    node('linear', [23], 8, 5, 0, 0, { bias: 1 }), // 23 → v24
    node('identity', [24], 5, 5), // 24 → v25
    node('add', [25, 24], 5, 5), // 25 → v26 (both [N,5])
  ],
  outputs: [26, 22, 1],
};

/** Reference weights with non-trivial BN γ, β and LINEAR biases (so folding and biases are checked). */
function richWeights(net: ReferenceNet, seed: number): NodeWeights[] {
  return referenceWeights(net, seed, 0).map((w, i) => {
    const n = net.nodes[i]!;
    const g = (k: number, len: number) => gaussianTensor(seed, 0x30000000 + 4 * i + k, 0, len);
    if (n.op === 'bn') return { gamma: g(0, n.cout).map((v) => 1 + 0.3 * v), beta: g(1, n.cout).map((v) => 0.5 * v) };
    if (w.bias) return { ...w, bias: g(2, n.cout) };
    return w;
  });
}

/** Random positive BN running statistics for every BN node. */
function richStats(net: ReferenceNet, seed: number): BnRunningStats[] {
  return net.nodes.flatMap((n, i) => (n.op !== 'bn' ? [] : [{
    op: i, mean: gaussianTensor(seed, 0x31000000 + i, 0, n.cout), variance: gaussianTensor(seed, 0x32000000 + i, 0, n.cout).map((v) => 0.2 + v * v),
  }]));
}

test('every op of the schema maps to the ONNX operators of its `onnx` column', (t) => {
  inferGraph(ALL_OPS, 8);
  t.deepEqual(new Set(ALL_OPS.nodes.map((n) => n.op)).size, 14, 'the graph uses all 14 ops');
  const m = buildOnnxModel(ALL_OPS, { resolution: 8, weights: richWeights(ALL_OPS, 1), bnStatistics: richStats(ALL_OPS, 1) });
  const ops = opTypes(m);
  const count = (o: string) => ops.filter((x) => x === o).length;
  t.is(count('Conv'), 3);
  t.is(count('BatchNormalization'), 3, 'the BN of op 1 (its conv is a graph output), op 11 (two readers), op 17 (a Linear)');
  t.is(count('AveragePool'), 2);
  t.deepEqual(m.graph.node.filter((n) => n.opType === 'AveragePool').map((n) => n.attribute!.find((a) => a.name === 'count_include_pad')!.i), [1, 0]);
  t.is(count('Sum'), 1);
  t.is(count('Add'), 3);
  t.is(count('Gemm'), 3);
  t.deepEqual(m.graph.node.filter((n) => n.opType === 'Gemm').map((n) => n.input.length), [2, 3, 3], 'a bias input exactly where bias = 1');
  t.is(count('Identity'), 2 + 3, 'two identity ops and one per graph output');
  t.is(count('Sigmoid'), 3, 'two sigmoids and the swish');
  t.is(count('Mul'), 3, 'swish, zero, the gate');
  t.deepEqual(m.graph.output.map((o) => o.name), ['output', 'output_1', 'output_2']);
  t.deepEqual(m.graph.output.map((o) => o.type.tensorType.shape.dim.map((d) => d.dimValue ?? d.dimParam)), [['batch', 5], ['batch', 8, 2, 2], ['batch', 8, 8, 8]]);
  const zero = m.graph.initializer.find((i) => i.name === 'zero')!;
  t.deepEqual([zero.dims ?? [], floats(zero)], [[], [0]]);
});

// ---- onnx.checker + onnxruntime against the float64 reference ------------------------------

const python = findPython(['onnx', 'onnxruntime', 'numpy']);
const withOrt = python ? test : test.skip;
// Without such a Python the four tests below are reported as skipped (ZENNAS_PYTHON points elsewhere).

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
  const bn = o.bn === 'train' ? 'train' : evalBn(net, o.bn === 'fresh' ? 'fresh' : await calibrateBn(engine, d, { resolution: o.resolution, seed: o.seed, bnEps: o.bnEps }));
  const ref = referenceForward(net, w, x, { bnEps: o.bnEps, bn }).outputs[0]!;
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
  const own = await relErr(await exportD(d, { resolution: 32, seed: 5 }), d, { batch: CALIBRATION_BATCH, resolution: 32, bn: 'train', seed: 5, bnEps: 1e-5, inputSeed: 5 });
  t.true(own.err < 1e-4, `eval network on its calibration images vs training-mode reference: ${own.err}`);
  for (const bn of ['calibrated', 'fresh'] as const) {
    const r = await relErr(await exportD(d, { resolution: 32, bn, seed: 5 }), d, { batch: 3, resolution: 32, bn, seed: 5, bnEps: 1e-5 });
    t.deepEqual(r.shape, [3, 10]);
    t.true(r.err < 1e-5, `${bn}: relative error ${r.err}`);
  }
});

withOrt('fp16 export runs in onnxruntime: FP16 accuracy on an SE net, finite O(1) logits from a deep residual ZenNet', async (t) => {
  const d = trained(SE_NET, 10, true);
  const r = await relErr(await exportD(d, { resolution: 32, precision: 'fp16', batchSize: 2 }), d, { batch: 2, resolution: 32, bn: 'calibrated', seed: 0, bnEps: 1e-5, fp16: true });
  t.deepEqual(r.shape, [2, 10]);
  t.true(r.err < 3e-2, `relative error ${r.err}`);
  // A deep residual ZenNet in FP16 on new images: finite, O(1) logits. (Not compared digit by digit:
  // BN folding turns channels with a large mean and a small spread into x·s − μ·s, which cancels
  // in FP16 — a property of the random network, not of the export.)
  const zen = trained(parseStructure(fs.readFileSync(path.join(ZOO, 'zennet_cifar_model_size05M_res32.txt'), 'utf8')), 100);
  const x = referenceInput('input', 11, 0, 2, 3, 32);
  const y = runOrt(await exportD(zen, { resolution: 32, precision: 'fp16' }), x.data, [2, 3, 32, 32], true).y;
  t.is(y.length, 200);
  t.true(y.every((v) => Number.isFinite(v) && Math.abs(v) < 1000), `max |logit| ${Math.max(...Array.from(y, Math.abs))}`);
});

withOrt('random grammar structures (all block kinds, ±SE, with and without head): onnxruntime = reference', async (t) => {
  const cases = fc.sample(fc.tuple(arbStructureWithin({ maxChannels: 12, maxBlocks: 4, maxSubLayers: 2 }), fc.boolean(), fc.constantFrom(0, 7)), { numRuns: 24, seed: 2026 });
  const kinds = new Set<string>();
  for (const [s, se, classes] of cases) {
    s.blocks.forEach((b) => kinds.add(b.kind));
    const d = trained(s, classes, se);
    const r = await relErr(await exportD(d, { resolution: 16, seed: 1 }), d, { batch: 2, resolution: 16, bn: 'calibrated', seed: 1, bnEps: 1e-5 });
    t.true(r.err < 1e-4, `${JSON.stringify(s)}: relative error ${r.err}`);
  }
  t.true(kinds.size >= 8, `the sample covers only ${[...kinds].join(', ')}`);
});

/** onnx.checker (full) + onnxruntime on a model with any number of outputs; float32 input. */
const ORT_ALL = `
import json, sys
import numpy as np, onnx, onnxruntime as ort
req = json.load(sys.stdin)
onnx.checker.check_model(onnx.load(req["model"]), full_check=True)
x = np.fromfile(req["input"], dtype=np.float32).reshape(req["shape"])
o = ort.SessionOptions()
o.intra_op_num_threads = 1
o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
s = ort.InferenceSession(req["model"], o, providers=["CPUExecutionProvider"])
ys = s.run(None, {s.get_inputs()[0].name: x})
for k, y in enumerate(ys):
    y.astype(np.float32).tofile(req["output"] + "." + str(k))
print(json.dumps({"shapes": [list(y.shape) for y in ys], "names": [v.name for v in s.get_outputs()]}))
`;

function runOrtAll(model: Uint8Array, x: Float64Array, shape: number[]): { names: string[]; shapes: number[][]; ys: Float32Array[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-onnx-test-'));
  try {
    const mf = path.join(dir, 'm.onnx'), xf = path.join(dir, 'x.bin'), yf = path.join(dir, 'y');
    fs.writeFileSync(mf, model);
    fs.writeFileSync(xf, new Uint8Array(Float32Array.from(x).buffer));
    const r = spawnSync(python!, ['-c', ORT_ALL], { input: JSON.stringify({ model: mf, input: xf, shape, output: yf }), encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`onnxruntime failed:\n${r.stderr}`);
    const info = JSON.parse(r.stdout) as { names: string[]; shapes: number[][] };
    const ys = info.shapes.map((_, k) => { const b = fs.readFileSync(`${yf}.${k}`); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); });
    return { ...info, ys };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

withOrt('every op of the schema: onnxruntime = the reference eval-mode forward on all three outputs (γ, β, biases, statistics given)', async (t) => {
  const net = ALL_OPS, res = 8, batch = 3, eps = 1e-3;
  const w = richWeights(net, 4), stats = richStats(net, 4);
  const x = referenceInput('input', 6, 0, batch, 3, res);
  const ref = referenceForward(net, w, x, { bnEps: eps, bn: evalBn(net, stats) }).outputs;
  const out = runOrtAll(exportOnnx(net, { resolution: res, bnEps: eps, weights: w, bnStatistics: stats }), x.data, [batch, 3, res, res]);
  t.deepEqual(out.names, ['output', 'output_1', 'output_2']);
  t.deepEqual(out.shapes, [[batch, 5], [batch, 8, 2, 2], [batch, 8, res, res]]);
  ref.forEach((r, k) => {
    const scale = Math.max(...r.data.map(Math.abs));
    const err = Math.max(...Array.from(r.data, (v, i) => Math.abs(v - out.ys[k]![i]!)));
    t.is(out.ys[k]!.length, r.data.length);
    t.true(err <= 1e-5 * scale, `output ${k}: max error ${err} at scale ${scale}`);
  });
  // The pipeline on the same graph: the engine calibrates every BN (including on a Linear's
  // output) and the file computes the training-mode network on the calibration images.
  const d = encodeDescriptor(net);
  const cal = await calibrateBn(engine, d, { resolution: res, seed: 2, bnEps: eps });
  t.deepEqual(cal.map((s) => s.op), [1, 6, 11, 17]);
  const xc = referenceInput('input', 2, 0, CALIBRATION_BATCH, 3, res);
  const train = referenceForward(net, referenceWeights(net, 2, 0), xc, { bnEps: eps }).outputs;
  const own = runOrtAll(await exportD(d, { resolution: res, seed: 2, bnEps: eps }), xc.data, [CALIBRATION_BATCH, 3, res, res]);
  train.forEach((r, k) => {
    const scale = Math.max(...r.data.map(Math.abs));
    const err = Math.max(...Array.from(r.data, (v, i) => Math.abs(v - own.ys[k]![i]!)));
    t.true(err <= 1e-3 * scale, `calibrated output ${k}: max error ${err} at scale ${scale}`);
  });
});

/** AVGPOOL with its pad attribute: NAS-Bench-201's 2×2/2 pad 0, even windows with pad 1 / 2, pad 0 on a 3×3; both count modes. */
const PADDED_POOLS: Graph = {
  inputChannels: 3,
  nodes: [
    node('conv', [0], 3, 6, 3, 1), // 0 → v1 [6][10][10]
    node('bn', [1], 6, 6), // 1 → v2
    node('relu', [2], 6, 6), // 2 → v3
    node('avgpool', [3], 6, 6, 2, 2, { pad: 0 }), // 3 → v4 [6][5][5]
    node('avgpool', [3], 6, 6, 2, 1, { pad: 1, countIncludePad: 0 }), // 4 → v5 [6][11][11]
    node('avgpool', [5], 6, 6, 3, 2, { pad: 0, countIncludePad: 0 }), // 5 → v6 [6][5][5]
    node('avgpool', [5], 6, 6, 4, 2, { pad: 2, countIncludePad: 1 }), // 6 → v7 [6][6][6]
    node('add', [4, 6], 6, 6), // 7 → v8
    node('gap', [7], 6, 6), // 8 → v9
    node('linear', [9], 6, 4, 0, 0, { bias: 1 }), // 9 → v10
  ],
  outputs: [10, 7],
};

test('AVGPOOL pad → AveragePool pads [p, p, p, p] (kernel_shape even or odd), count_include_pad as given', (t) => {
  const net = PADDED_POOLS;
  const m = buildOnnxModel(net, { resolution: 10, weights: richWeights(net, 1), bnStatistics: richStats(net, 1) });
  const pools = m.graph.node.filter((n) => n.opType === 'AveragePool');
  const attr = (n: (typeof pools)[number], name: string) => n.attribute!.find((a) => a.name === name)!;
  t.deepEqual(pools.map((n) => attr(n, 'kernel_shape').ints!.map(Number)), [[2, 2], [2, 2], [3, 3], [4, 4]]);
  t.deepEqual(pools.map((n) => attr(n, 'pads').ints!.map(Number)), [[0, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0], [2, 2, 2, 2]]);
  t.deepEqual(pools.map((n) => Number(attr(n, 'count_include_pad').i)), [1, 0, 0, 1]);
});

withOrt('AVGPOOL with a pad attribute: onnxruntime = the reference forward (even kernels, both count modes)', (t) => {
  const net = PADDED_POOLS, res = 10, batch = 3, eps = 1e-5;
  const w = richWeights(net, 7), stats = richStats(net, 7);
  const x = referenceInput('input', 8, 0, batch, 3, res);
  const ref = referenceForward(net, w, x, { bnEps: eps, bn: evalBn(net, stats) }).outputs;
  const out = runOrtAll(exportOnnx(net, { resolution: res, bnEps: eps, weights: w, bnStatistics: stats }), x.data, [batch, 3, res, res]);
  t.deepEqual(out.shapes, [[batch, 4], [batch, 6, 6, 6]]);
  ref.forEach((r, k) => {
    const scale = Math.max(...r.data.map(Math.abs));
    const err = Math.max(...Array.from(r.data, (v, i) => Math.abs(v - out.ys[k]![i]!)));
    t.is(out.ys[k]!.length, r.data.length);
    t.true(err <= 1e-5 * scale, `output ${k}: max error ${err} at scale ${scale}`);
  });
});

/** CONCAT on maps (inputs of different widths, one twice) and on rank-2 LINEAR outputs. */
const CONCATS: Graph = {
  inputChannels: 3,
  nodes: [
    node('conv', [0], 3, 4, 3, 1), // 0 → v1 [4][8][8]
    node('bn', [1], 4, 4), // 1 → v2
    node('conv', [2], 4, 2, 1, 1), // 2 → v3 [2][8][8]
    node('concat', [3, 2, 3], 2, 8), // 3 → v4 [8][8][8]
    node('gap', [4], 8, 8), // 4 → v5
    node('linear', [5], 8, 3, 0, 0, { bias: 1 }), // 5 → v6 [N,3]
    node('linear', [5], 8, 2, 0, 0, { bias: 0 }), // 6 → v7 [N,2]
    node('concat', [6, 7], 3, 5), // 7 → v8 [N,5] (rank 2)
  ],
  outputs: [8, 4],
};

/** DWCONV with dilation (DARTS's dil_conv), k 3 / 5, stride 1 / 2. */
const DILATED: Graph = {
  inputChannels: 3,
  nodes: [
    node('conv', [0], 3, 4, 3, 1), // 0 → v1 [4][8][8]
    node('dwconv', [1], 4, 4, 3, 1, { dilation: 2 }), // 1 → v2 [4][8][8]
    node('bn', [2], 4, 4), // 2 → v3 (folded into the dilated dwconv)
    node('dwconv', [3], 4, 4, 5, 2, { dilation: 2 }), // 3 → v4 [4][4][4]
    node('dwconv', [1], 4, 4, 3, 2, { dilation: 3 }), // 4 → v5 [4][4][4]
    node('add', [4, 5], 4, 4), // 5 → v6
  ],
  outputs: [6],
};

withOrt('DWCONV dilation → ONNX Conv dilations [d, d], pads d·(k−1)/2: onnxruntime = the reference forward', (t) => {
  const net = DILATED, res = 8, batch = 2, eps = 1e-5;
  const w = richWeights(net, 5), stats = richStats(net, 5);
  const model = exportOnnx(net, { resolution: res, bnEps: eps, weights: w, bnStatistics: stats });
  const convs = decodeOnnx(model).graph.node.filter((n) => n.opType === 'Conv');
  const attr = (n: (typeof convs)[number], name: string) => n.attribute!.find((a) => a.name === name)!.ints!.map(Number);
  t.deepEqual(convs.map((n) => attr(n, 'dilations')), [[1, 1], [2, 2], [2, 2], [3, 3]]);
  t.deepEqual(convs.map((n) => attr(n, 'pads')), [[1, 1, 1, 1], [2, 2, 2, 2], [4, 4, 4, 4], [3, 3, 3, 3]]);
  const x = referenceInput('input', 6, 0, batch, 3, res);
  const ref = referenceForward(net, w, x, { bnEps: eps, bn: evalBn(net, stats) }).outputs[0]!;
  const out = runOrtAll(model, x.data, [batch, 3, res, res]);
  t.deepEqual(out.shapes, [[batch, 4, 4, 4]]);
  const scale = Math.max(...ref.data.map(Math.abs));
  const err = Math.max(...Array.from(ref.data, (v, i) => Math.abs(v - out.ys[0]![i]!)));
  t.true(err <= 1e-5 * scale, `max error ${err} at scale ${scale}`);
});

/** CROP in DARTS's FactorizedReduce (ReLU, conv 1×1/2 of x and of x[:, :, 1:, 1:], concat, BN), then a crop by 2. */
const CROPS: Graph = {
  inputChannels: 3,
  nodes: [
    node('conv', [0], 3, 6, 3, 1), // 0 → v1 [6][10][10]
    node('relu', [1], 6, 6), // 1 → v2
    node('conv', [2], 6, 4, 1, 2), // 2 → v3 [4][5][5]
    node('crop', [2], 6, 6, 0, 0, { offset: 1 }), // 3 → v4 [6][9][9]
    node('conv', [4], 6, 4, 1, 2), // 4 → v5 [4][5][5]
    node('concat', [3, 5], 4, 8), // 5 → v6 [8][5][5]
    node('bn', [6], 8, 8), // 6 → v7
    node('crop', [7], 8, 8, 0, 0, { offset: 2 }), // 7 → v8 [8][3][3]
    node('crop', [7], 8, 8, 0, 0, { offset: 1, fill: 1 }), // 8 → v9 [8][5][5] (Slice + Pad)
  ],
  outputs: [8, 9],
};

withOrt('CROP → ONNX Slice(axes 2, 3): onnxruntime = the reference forward (FactorizedReduce, a crop by 2)', (t) => {
  const net = CROPS, res = 10, batch = 2, eps = 1e-5;
  const w = richWeights(net, 9), stats = richStats(net, 9);
  const model = exportOnnx(net, { resolution: res, bnEps: eps, weights: w, bnStatistics: stats });
  t.is(decodeOnnx(model).graph.node.filter((n) => n.opType === 'Slice').length, 3);
  t.is(decodeOnnx(model).graph.node.filter((n) => n.opType === 'Pad').length, 1);
  const x = referenceInput('input', 2, 0, batch, 3, res);
  const refs = referenceForward(net, w, x, { bnEps: eps, bn: evalBn(net, stats) }).outputs;
  const out = runOrtAll(model, x.data, [batch, 3, res, res]);
  t.deepEqual(out.shapes, [[batch, 8, 3, 3], [batch, 8, 5, 5]]);
  refs.forEach((ref, k) => {
    const scale = Math.max(...ref.data.map(Math.abs));
    const err = Math.max(...Array.from(ref.data, (v, i) => Math.abs(v - out.ys[k]![i]!)));
    t.true(err <= 1e-5 * scale, `output ${k}: max error ${err} at scale ${scale}`);
  });
});

withOrt('CONCAT → ONNX Concat(axis 1): onnxruntime = the reference forward (maps and rank-2 vectors)', (t) => {
  const net = CONCATS, res = 8, batch = 3, eps = 1e-5;
  const w = richWeights(net, 3), stats = richStats(net, 3);
  const model = exportOnnx(net, { resolution: res, bnEps: eps, weights: w, bnStatistics: stats });
  t.is(decodeOnnx(model).graph.node.filter((n) => n.opType === 'Concat').length, 2);
  const x = referenceInput('input', 4, 0, batch, 3, res);
  const ref = referenceForward(net, w, x, { bnEps: eps, bn: evalBn(net, stats) }).outputs;
  const out = runOrtAll(model, x.data, [batch, 3, res, res]);
  t.deepEqual(out.shapes, [[batch, 5], [batch, 8, res, res]]);
  ref.forEach((r, k) => {
    const scale = Math.max(...r.data.map(Math.abs));
    const err = Math.max(...Array.from(r.data, (v, i) => Math.abs(v - out.ys[k]![i]!)));
    t.is(out.ys[k]!.length, r.data.length);
    t.true(err <= 1e-5 * scale, `output ${k}: max error ${err} at scale ${scale}`);
  });
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
