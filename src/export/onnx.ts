/**
 * ONNX export of a lowered network (a descriptor, native/DESCRIPTOR.md), so that other runtimes —
 * TensorRT through trtexec above all — can run the exact network zennas scores.
 *
 * The graph is the *inference* network (DESIGN §4): BN in eval mode (γ=1, β=0) folded into the
 * preceding convolution as W·s and bias −μ·s with s = 1/√(var+ε), the way deployment tools fold
 * it; a BN that follows no convolution stays a BatchNormalization node. Weights are the engine's
 * own Philox N(0,1) draws of repeat 0 (deterministic in the seed). BN running statistics:
 *   - 'calibrated' (default): the batch mean and variance of each BN in a training-mode forward
 *     of CALIBRATION_BATCH N(0,1) images at the export resolution (the engine's `bnStatistics`:
 *     the Zen-score's input x of repeat 0). On those images the exported eval network computes
 *     exactly the training-mode network; on any input every BN output is O(1), as in a trained
 *     network, so deep residual nets stay far from FP16 overflow (latency does not depend on
 *     the values, but inf/NaN everywhere would not be a realistic workload);
 *   - 'fresh': mean 0, var 1, the eval mode of a just-constructed model (activations grow
 *     with depth and overflow FP16 in deep nets).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ZennasError } from '../errors';
import { DecodedOp } from '../model/descriptor';
import { decodeForReference, weightCount } from '../reference/zen-reference';
import { loadNative, packageRoot } from '../engine/native';
import { convOutSize } from '../model/layers';
import { weightStream } from '../rng/philox';
import { checkInt, checkPositive, describe, optionError } from '../util/validate';
import { float32ToFloat16Bits } from './float16';
import {
  ATTR_FLOAT, ATTR_INT, ATTR_INTS, ONNX_FLOAT, ONNX_FLOAT16,
  OnnxAttribute, OnnxDim, OnnxModel, OnnxNode, OnnxTensor, OnnxValueInfo, onnxModelType,
} from './onnx-schema';

/** ONNX opset and IR version written (opset 17: TensorRT 8.6+, onnxruntime 1.14+). */
export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
/** Largest initializer payload written (protobuf's 2 GiB message limit, less room for the graph). */
export const ONNX_MAX_BYTES = 2 ** 31 - 2 ** 24;
/** Names of the graph's input and output. */
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'output';

/** Options of `exportOnnx`. */
export interface OnnxExportOptions {
  /** Input height = width (the graph is static in H, W). */
  resolution: number;
  /** Fixed batch size; omitted → a symbolic dimension 'batch'. */
  batchSize?: number;
  /** Element type of weights, input and output (default 'fp32'). */
  precision?: 'fp32' | 'fp16';
  /** BN running variance (default 'calibrated'; see the module comment). */
  bn?: 'calibrated' | 'fresh';
  /** Philox seed of the weights, integer in [0, 2^53) (default 0). */
  seed?: number;
  /** BN ε folded into the convolutions (default 1e-5). */
  bnEps?: number;
  /** Text stored as the model's doc_string (e.g. the structure string). */
  docString?: string;
}

/**
 * The engine's float32 weights of repeat 0 (native Philox fill: the values the CPU engine draws,
 * ~50× faster than the float64 reference's generator for 100M-weight nets).
 */
export function engineWeights(net: { ops: DecodedOp[] }, seed: number): (Float32Array | null)[] {
  const native = loadNative();
  const CHUNK = 1 << 26; // the fill's per-call limit
  return net.ops.map((o, i) => {
    const n = weightCount(o);
    if (n === 0) return null;
    const w = new Float32Array(n);
    for (let b = 0; b < n; b += CHUNK) w.set(native._gaussian(seed, weightStream(i), 0, b, Math.min(n, b + CHUNK)), b);
    return w;
  });
}

/** Images of the BN calibration forward (at the export resolution; BN needs batch·H·W ≥ 2). */
export const CALIBRATION_BATCH = 4;

/** BN running statistics of the export, per op index (null for other ops). */
export interface ExportBnStats {
  mean: (Float64Array | null)[];
  variance: (Float64Array | null)[];
}

/**
 * BN running statistics of the export: 'fresh' → mean 0, var 1; 'calibrated' → the batch
 * statistics of a training-mode forward of CALIBRATION_BATCH N(0,1) images at `resolution`
 * (native CPU engine, float32, FP64 accumulation).
 */
export async function exportBnStatistics(descriptor: Int32Array, mode: 'calibrated' | 'fresh', resolution: number, seed = 0, bnEps = 1e-5): Promise<ExportBnStats> {
  const net = decodeForReference(descriptor);
  const out: ExportBnStats = { mean: net.ops.map(() => null), variance: net.ops.map(() => null) };
  if (mode === 'fresh') {
    net.ops.forEach((o, i) => {
      if (o.op !== 'bn') return;
      out.mean[i] = new Float64Array(o.cout);
      out.variance[i] = new Float64Array(o.cout).fill(1);
    });
    return out;
  }
  if (!net.ops.some((o) => o.op === 'bn')) return out; // nothing to calibrate
  // Imported here, not at the top: engine.ts reaches this module through the TensorRT path.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Engine } = require('../engine/engine') as typeof import('../engine/engine');
  const engine = new Engine({ backend: 'cpu' });
  try {
    for (const s of await engine.bnStatistics(descriptor, { batchSize: CALIBRATION_BATCH, resolution, seed, bnEps })) {
      out.mean[s.op] = s.mean;
      out.variance[s.op] = s.variance;
    }
  } catch (e) {
    if ((e as { code?: string }).code === 'E_OUT_OF_MEMORY') {
      throw new ZennasError('E_OUT_OF_MEMORY', `BN calibration (a training-mode forward of ${CALIBRATION_BATCH} images at ${resolution}×${resolution}) does not fit in memory: ` +
        `export with bn 'fresh' (--bn fresh) or at a lower resolution (${(e as Error).message})`);
    }
    throw e;
  } finally {
    engine.close();
  }
  return out;
}

interface Value { name: string; c: number; h: number; w: number; rank: 2 | 4 }

function producerVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function checkOptions(o: OnnxExportOptions): Required<Omit<OnnxExportOptions, 'batchSize' | 'docString'>> & Pick<OnnxExportOptions, 'batchSize' | 'docString'> {
  if (o === null || typeof o !== 'object') optionError('export options must be an object');
  checkInt('resolution', o.resolution, 1, 4096);
  if (o.batchSize !== undefined) checkInt('batchSize', o.batchSize, 1, 4096);
  const precision = o.precision ?? 'fp32';
  if (precision !== 'fp32' && precision !== 'fp16') optionError(`precision must be 'fp32' or 'fp16', got ${describe(precision)}`);
  const bn = o.bn ?? 'calibrated';
  if (bn !== 'calibrated' && bn !== 'fresh') optionError(`bn must be 'calibrated' or 'fresh', got ${describe(bn)}`);
  const seed = checkInt('seed', o.seed ?? 0, 0, Number.MAX_SAFE_INTEGER);
  const bnEps = checkPositive('bnEps', o.bnEps ?? 1e-5);
  return { resolution: o.resolution, batchSize: o.batchSize, precision, bn, seed, bnEps, docString: o.docString };
}

/**
 * Builds the ONNX graph of a descriptor. Returns the model as plain objects (see onnx-schema.ts);
 * `exportOnnx` serialises it.
 */
export async function buildOnnxModel(descriptor: Int32Array, options: OnnxExportOptions): Promise<OnnxModel> {
  const o = checkOptions(options);
  const net = decodeForReference(descriptor);
  // protobuf messages (and so ONNX files without external data) hold at most 2 GiB: refuse before
  // drawing weights that could not be written anyway.
  const bytes = net.ops.reduce((a, op) => a + weightCount(op), 0) * (o.precision === 'fp16' ? 2 : 4);
  if (bytes > ONNX_MAX_BYTES) {
    throw new ZennasError('E_STRUCTURE', `the weights take ${(bytes / 2 ** 30).toFixed(2)} GiB but an ONNX file holds at most 2 GiB${o.precision === 'fp32' && bytes / 2 <= ONNX_MAX_BYTES ? ': export with precision fp16' : ''}`);
  }
  const weights = engineWeights(net, o.seed);
  const bnStats = await exportBnStatistics(descriptor, o.bn, o.resolution, o.seed, o.bnEps);
  const elemType = o.precision === 'fp16' ? ONNX_FLOAT16 : ONNX_FLOAT;

  const nodes: OnnxNode[] = [];
  const inits: OnnxTensor[] = [];
  const littleEndian = os.endianness() === 'LE';
  const tensor = (name: string, dims: number[], values: Float32Array | Float64Array): string => {
    // Typed-array conversions: 100M-weight ImageNet nets must export in seconds; raw_data is little-endian.
    const f32 = values instanceof Float32Array ? values : Float32Array.from(values);
    const typed = elemType === ONNX_FLOAT16 ? float32ToFloat16Bits(f32) : f32;
    let bytes: Uint8Array = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
    if (!littleEndian) bytes = swapBytes(bytes, elemType === ONNX_FLOAT16 ? 2 : 4);
    inits.push({ name, dims, dataType: elemType, rawData: bytes });
    return name;
  };
  const ints = (name: string, v: number[]): OnnxAttribute => ({ name, type: ATTR_INTS, ints: v });
  const int = (name: string, v: number): OnnxAttribute => ({ name, type: ATTR_INT, i: v });
  const float = (name: string, v: number): OnnxAttribute => ({ name, type: ATTR_FLOAT, f: v });
  const node = (opType: string, name: string, input: string[], attribute: OnnxAttribute[] = []): string => {
    const out = `${name}_out`;
    nodes.push({ opType, name, input, output: [out], attribute });
    return out;
  };
  const as4d = (v: Value, at: string): Value => {
    if (v.rank === 4) return v;
    const axes = tensorInt64(inits, `${at}_axes`, [2, 3]);
    return { ...v, rank: 4, name: node('Unsqueeze', `${at}_unsqueeze`, [v.name, axes]) };
  };

  const slots: (Value | undefined)[] = new Array(net.numSlots);
  slots[0] = { name: ONNX_INPUT, c: net.inputChannels, h: o.resolution, w: o.resolution, rank: 4 };
  const folded = new Set<number>();
  net.ops.forEach((op, i) => {
    const at = `op${i}_${op.op}`;
    let x = slots[op.src]!;
    let y: Value;
    switch (op.op) {
      case 'conv':
      case 'dwconv': {
        x = as4d(x, at);
        const next = net.ops[i + 1];
        // Fold a BN that reads this conv's output in place: nothing else can see the pre-BN value.
        const fold = next?.op === 'bn' && next.src === op.dst && next.dst === next.src;
        if (fold) folded.add(i + 1);
        const w = weights[i]!;
        const k = op.kernel, pad = (k - 1) >> 1;
        const cinPerGroup = op.op === 'dwconv' ? 1 : op.cin;
        const inputs = [x.name];
        if (fold) {
          const per = cinPerGroup * k * k;
          const scale = bnStats.variance[i + 1]!.map((v) => 1 / Math.sqrt(v + o.bnEps));
          const mean = bnStats.mean[i + 1]!;
          inputs.push(tensor(`${at}_weight`, [op.cout, cinPerGroup, k, k], w.map((x, j) => x * scale[Math.floor(j / per)]!)));
          inputs.push(tensor(`${at}_bias`, [op.cout], scale.map((sc, c) => -mean[c]! * sc)));
        } else {
          inputs.push(tensor(`${at}_weight`, [op.cout, cinPerGroup, k, k], w));
        }
        const attrs = [ints('kernel_shape', [k, k]), ints('strides', [op.stride, op.stride]), ints('pads', [pad, pad, pad, pad]), ints('dilations', [1, 1])];
        if (op.op === 'dwconv') attrs.push(int('group', op.cout));
        y = { name: node('Conv', at, inputs, attrs), c: op.cout, h: convOutSize(x.h, k, op.stride), w: convOutSize(x.w, k, op.stride), rank: 4 };
        break;
      }
      case 'bn': {
        if (folded.has(i)) { y = x; break; }
        x = as4d(x, at);
        const c = op.cout;
        y = {
          ...x,
          name: node('BatchNormalization', at, [x.name, tensor(`${at}_scale`, [c], new Float64Array(c).fill(1)), tensor(`${at}_bias`, [c], new Float64Array(c)),
            tensor(`${at}_mean`, [c], bnStats.mean[i]!), tensor(`${at}_var`, [c], bnStats.variance[i]!)], [float('epsilon', o.bnEps)]),
        };
        break;
      }
      case 'relu': y = { ...x, name: node('Relu', at, [x.name]) }; break;
      case 'sigmoid': y = { ...x, name: node('Sigmoid', at, [x.name]) }; break;
      case 'maxpool': {
        x = as4d(x, at);
        const k = op.kernel, pad = (k - 1) >> 1;
        y = {
          name: node('MaxPool', at, [x.name], [ints('kernel_shape', [k, k]), ints('strides', [op.stride, op.stride]), ints('pads', [pad, pad, pad, pad])]),
          c: x.c, h: convOutSize(x.h, k, op.stride), w: convOutSize(x.w, k, op.stride), rank: 4,
        };
        break;
      }
      case 'gap': x = as4d(x, at); y = { name: node('GlobalAveragePool', at, [x.name]), c: x.c, h: 1, w: 1, rank: 4 }; break;
      case 'linear': {
        if (x.h !== 1 || x.w !== 1) throw new ZennasError('E_STRUCTURE', `op ${i}: LINEAR needs a [N][C][1][1] input, got ${x.h}×${x.w}`);
        const flat = x.rank === 2 ? x.name : node('Flatten', `${at}_flatten`, [x.name], [int('axis', 1)]);
        const wName = tensor(`${at}_weight`, [op.cout, op.cin], weights[i]!);
        const bName = tensor(`${at}_bias`, [op.cout], new Float64Array(op.cout));
        y = { name: node('Gemm', at, [flat, wName, bName], [int('transB', 1)]), c: op.cout, h: 1, w: 1, rank: 2 };
        break;
      }
      case 'mul': y = { ...x, name: node('Mul', at, [x.name, as4d(slots[op.aux]!, `${at}_gate`).name]) }; break;
      case 'add': {
        // Both operands at rank 4, so a [N,C] value never broadcasts against [N,C,H,W] into [N,C,N,C].
        const a = as4d(slots[op.aux]!, `${at}_aux`);
        x = as4d(x, at);
        y = { ...x, name: node('Add', at, [x.name, a.name]) };
        break;
      }
    }
    slots[op.dst] = y!;
  });

  // The graph output gets a stable name: an Identity keeps every node's own name intact.
  const out = slots[net.outputSlot]!;
  nodes.push({ opType: 'Identity', name: 'output_identity', input: [out.name], output: [ONNX_OUTPUT] });
  const batchDim: OnnxDim = o.batchSize !== undefined ? { dimValue: o.batchSize } : { dimParam: 'batch' };
  const info = (name: string, dims: OnnxDim[]): OnnxValueInfo => ({ name, type: { tensorType: { elemType, shape: { dim: dims } } } });
  const outDims: OnnxDim[] = out.rank === 2 ? [batchDim, { dimValue: out.c }] : [batchDim, { dimValue: out.c }, { dimValue: out.h }, { dimValue: out.w }];

  return {
    irVersion: ONNX_IR_VERSION,
    producerName: 'zennas',
    producerVersion: producerVersion(),
    docString: o.docString ?? '',
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    metadataProps: [
      { key: 'zennas.weights', value: `Philox N(0,1), seed ${o.seed}, repeat 0` },
      { key: 'zennas.bn', value: `eval mode, folded into the preceding conv where there is one; running statistics ${o.bn === 'fresh' ? 'mean 0, var 1' : `of ${CALIBRATION_BATCH} N(0,1) images (seed ${o.seed})`}, eps ${o.bnEps}` },
    ],
    graph: {
      name: 'zennas',
      node: nodes,
      initializer: inits,
      input: [info(ONNX_INPUT, [batchDim, { dimValue: net.inputChannels }, { dimValue: o.resolution }, { dimValue: o.resolution }])],
      output: [info(ONNX_OUTPUT, outDims)],
    },
  };
}

/** Byte-swaps elements of `size` bytes (big-endian hosts only). */
function swapBytes(b: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i += size) for (let k = 0; k < size; k++) out[i + k] = b[i + size - 1 - k]!;
  return out;
}

/** An INT64 initializer (Unsqueeze axes); INT64 = 7. */
function tensorInt64(inits: OnnxTensor[], name: string, values: number[]): string {
  if (!inits.some((t) => t.name === name)) {
    const bytes = new Uint8Array(8 * values.length);
    const view = new DataView(bytes.buffer);
    values.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true));
    inits.push({ name, dims: [values.length], dataType: 7, rawData: bytes });
  }
  return name;
}

/** Serialise a descriptor's inference network as an ONNX model (protobuf bytes). */
export async function exportOnnx(descriptor: Int32Array, options: OnnxExportOptions): Promise<Uint8Array> {
  const model = await buildOnnxModel(descriptor, options);
  const type = onnxModelType();
  return type.encode(type.fromObject(model)).finish();
}

/** Decode ONNX bytes written by `exportOnnx` (for tests and tools; only the fields zennas writes). */
export function decodeOnnx(bytes: Uint8Array): OnnxModel {
  const type = onnxModelType();
  return type.toObject(type.decode(bytes), { longs: Number, defaults: false, arrays: true }) as OnnxModel;
}
