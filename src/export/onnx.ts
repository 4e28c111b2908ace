/**
 * ONNX export of a lowered network (a descriptor, native/DESCRIPTOR.md), so that other runtimes —
 * TensorRT through trtexec above all — can run the exact network zennas scores.
 *
 * The graph is the *inference* network (DESIGN §4): BN in eval mode with fresh statistics
 * (γ=1, β=0, running mean 0, running var 1) folded into the preceding convolution as
 * W·1/√(1+ε) and a zero bias, the way deployment tools fold it. A BN that follows no
 * convolution stays a BatchNormalization node. Weights are deterministic (Philox, seed):
 *   - 'he' (default): N(0, 2/fan_in), so activations stay O(1) through any depth and an FP16
 *     engine sees realistic magnitudes (latency is independent of the values, overflow is not);
 *   - 'philox': the engine's own N(0,1) draws of repeat 0, for bit-level cross-checks.
 */
import { setFloat16 } from '@petamoriken/float16';
import * as fs from 'fs';
import * as path from 'path';
import { ZennasError } from '../errors';
import { DecodedOp } from '../model/descriptor';
import { decodeForReference, ReferenceNet, referenceWeights } from '../reference/zen-reference';
import { packageRoot } from '../engine/native';
import {
  ATTR_FLOAT, ATTR_INT, ATTR_INTS, ONNX_FLOAT, ONNX_FLOAT16,
  OnnxAttribute, OnnxDim, OnnxModel, OnnxNode, OnnxTensor, OnnxValueInfo, onnxModelType,
} from './onnx-schema';

/** ONNX opset and IR version written (opset 17: TensorRT 8.6+, onnxruntime 1.14+). */
export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
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
  /** Weight values (default 'he'; see the module comment). */
  weights?: 'he' | 'philox';
  /** Philox seed of the weights, integer in [0, 2^53) (default 0). */
  seed?: number;
  /** BN ε folded into the convolutions (default 1e-5). */
  bnEps?: number;
  /** Text stored as the model's doc_string (e.g. the structure string). */
  docString?: string;
}

/** Fan-in of an op's weights (He initialisation). */
export function fanIn(o: DecodedOp): number {
  switch (o.op) {
    case 'conv': return o.cin * o.kernel * o.kernel;
    case 'dwconv': return o.kernel * o.kernel;
    case 'linear': return o.cin;
    default: return 1;
  }
}

/** The weights the export uses, op by op (null for weight-free ops), before BN folding. */
export function exportWeights(net: ReferenceNet, kind: 'he' | 'philox', seed: number): (Float64Array | null)[] {
  const w = referenceWeights(net, seed, 0);
  if (kind === 'philox') return w;
  return w.map((t, i) => {
    if (!t) return null;
    const s = Math.sqrt(2 / fanIn(net.ops[i]!));
    return t.map((v) => v * s);
  });
}

interface Value { name: string; c: number; h: number; w: number; rank: 2 | 4 }

function outSize(size: number, k: number, stride: number): number {
  return Math.floor((size + 2 * ((k - 1) >> 1) - k) / stride) + 1;
}

function producerVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function checkOptions(o: OnnxExportOptions): Required<Omit<OnnxExportOptions, 'batchSize' | 'docString'>> & Pick<OnnxExportOptions, 'batchSize' | 'docString'> {
  const bad = (m: string): never => { throw new ZennasError('E_OPTION', m); };
  if (o === null || typeof o !== 'object') bad('export options must be an object');
  const int = (name: string, v: unknown, lo: number, hi: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) bad(`${name} must be an integer in [${lo}, ${hi}], got ${String(v)}`);
  };
  int('resolution', o.resolution, 1, 4096);
  if (o.batchSize !== undefined) int('batchSize', o.batchSize, 1, 4096);
  const precision = o.precision ?? 'fp32';
  if (precision !== 'fp32' && precision !== 'fp16') bad(`precision must be 'fp32' or 'fp16', got ${String(precision)}`);
  const weights = o.weights ?? 'he';
  if (weights !== 'he' && weights !== 'philox') bad(`weights must be 'he' or 'philox', got ${String(weights)}`);
  const seed = o.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) bad(`seed must be an integer in [0, 2^53), got ${String(seed)}`);
  const bnEps = o.bnEps ?? 1e-5;
  if (typeof bnEps !== 'number' || !(bnEps > 0) || !Number.isFinite(bnEps)) bad(`bnEps must be a positive number, got ${String(bnEps)}`);
  return { resolution: o.resolution, batchSize: o.batchSize, precision, weights, seed, bnEps, docString: o.docString };
}

/**
 * Builds the ONNX graph of a descriptor. Returns the model as plain objects (see onnx-schema.ts);
 * `exportOnnx` serialises it.
 */
export function buildOnnxModel(descriptor: Int32Array, options: OnnxExportOptions): OnnxModel {
  const o = checkOptions(options);
  const net = decodeForReference(descriptor);
  const weights = exportWeights(net, o.weights, o.seed);
  const elemType = o.precision === 'fp16' ? ONNX_FLOAT16 : ONNX_FLOAT;
  const bnScale = 1 / Math.sqrt(1 + o.bnEps);

  const nodes: OnnxNode[] = [];
  const inits: OnnxTensor[] = [];
  const tensor = (name: string, dims: number[], values: ArrayLike<number>): string => {
    const n = values.length;
    const bytes = new Uint8Array(n * (elemType === ONNX_FLOAT16 ? 2 : 4));
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < n; i++) {
      if (elemType === ONNX_FLOAT16) setFloat16(view, 2 * i, values[i]!, true);
      else view.setFloat32(4 * i, values[i]!, true);
    }
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
        const wName = tensor(`${at}_weight`, [op.cout, cinPerGroup, k, k], fold ? w.map((v) => v * bnScale) : w);
        const inputs = [x.name, wName];
        if (fold) inputs.push(tensor(`${at}_bias`, [op.cout], new Float64Array(op.cout)));
        const attrs = [ints('kernel_shape', [k, k]), ints('strides', [op.stride, op.stride]), ints('pads', [pad, pad, pad, pad]), ints('dilations', [1, 1])];
        if (op.op === 'dwconv') attrs.push(int('group', op.cout));
        y = { name: node('Conv', at, inputs, attrs), c: op.cout, h: outSize(x.h, k, op.stride), w: outSize(x.w, k, op.stride), rank: 4 };
        break;
      }
      case 'bn': {
        if (folded.has(i)) { y = x; break; }
        x = as4d(x, at);
        const c = op.cout;
        const ones = new Float64Array(c).fill(1), zeros = new Float64Array(c);
        y = {
          ...x,
          name: node('BatchNormalization', at, [x.name, tensor(`${at}_scale`, [c], ones), tensor(`${at}_bias`, [c], zeros),
            tensor(`${at}_mean`, [c], zeros), tensor(`${at}_var`, [c], ones)], [float('epsilon', o.bnEps)]),
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
          c: x.c, h: outSize(x.h, k, op.stride), w: outSize(x.w, k, op.stride), rank: 4,
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
        const a = slots[op.aux]!;
        y = { ...x, name: node('Add', at, [x.name, a.rank === x.rank ? a.name : as4d(a, `${at}_aux`).name]) };
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
      { key: 'zennas.weights', value: o.weights },
      { key: 'zennas.seed', value: String(o.seed) },
      { key: 'zennas.bn', value: `eval, folded (running mean 0, var 1, eps ${o.bnEps})` },
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
export function exportOnnx(descriptor: Int32Array, options: OnnxExportOptions): Uint8Array {
  const model = buildOnnxModel(descriptor, options);
  const type = onnxModelType();
  return type.encode(type.fromObject(model)).finish();
}

/** Decode ONNX bytes written by `exportOnnx` (for tests and tools; only the fields zennas writes). */
export function decodeOnnx(bytes: Uint8Array): OnnxModel {
  const type = onnxModelType();
  return type.toObject(type.decode(bytes), { longs: Number, defaults: false, arrays: true }) as OnnxModel;
}
