/**
 * ONNX export of a network graph (src/ops/graph.ts, or an encoded descriptor), so that other
 * runtimes — TensorRT through trtexec above all — can run the exact network zennas scores.
 *
 * The graph is the *inference* network (DESIGN §4): BN in eval mode with the running statistics
 * the caller gives, folded into the convolution it reads as W·s and bias β − μ·s with
 * s = γ/√(var+ε), the way deployment tools fold it; a BN whose input is not a convolution's output
 * read by that BN alone stays a BatchNormalization node.
 *
 * This module only writes what it is given: the weights (`weights`, e.g. `drawWeights` of
 * ./weights.ts: the engine's Philox draws) and the BN running statistics (`bnStatistics`, e.g.
 * `engine.bnStatistics`, or 'fresh'). `exportInferenceOnnx` (./inference.ts) is the whole pipeline
 * the CLI and the TensorRT runner use: draws, calibration, export.
 *
 * Op mapping (schema column `onnx`): CONV / DWCONV → Conv (group = C), BN → folded or
 * BatchNormalization, RELU → Relu, SIGMOID → Sigmoid, SWISH → Sigmoid + Mul, HSWISH → HardSwish (opset 14),
 * HSIGMOID → HardSigmoid (α = 1/6, β = ½), IDENTITY → Identity,
 * ZERO → Mul by a zero scalar, MAXPOOL → MaxPool, AVGPOOL → AveragePool (count_include_pad),
 * GAP → GlobalAveragePool, LINEAR → (Flatten +) Gemm (a bias input when attribute bias = 1),
 * MUL → Mul (the [N,C,1,1] gate broadcasts), ADD → Add (2 inputs) or Sum (more).
 */
import * as os from 'os';
import { ZennasError } from '../errors';
import { DecodedNode, decodeDescriptor, checkTrainedView } from '../ops/descriptor';
import { Graph, attrValue, inferGraph } from '../ops/graph';
import { packageVersion } from '../util/package';
import { checkInt, checkPositive, describe, optionError } from '../util/validate';
import { float32ToFloat16Bits } from './float16';
import { drawnWeightCount } from './weights';
import {
  ATTR_FLOAT, ATTR_INT, ATTR_INTS, ONNX_FLOAT, ONNX_FLOAT16,
  OnnxAttribute, OnnxDim, OnnxModel, OnnxNode, OnnxTensor, OnnxValueInfo, onnxModelType,
} from './onnx-schema';

/** ONNX opset and IR version written (opset 17: TensorRT 8.6+, onnxruntime 1.14+). */
export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
/** Largest initializer payload written (protobuf's 2 GiB message limit, less room for the graph). */
export const ONNX_MAX_BYTES = 2 ** 31 - 2 ** 24;
/** Names of the graph's input and (first) output; further graph outputs are `output_1`, `output_2`, … */
export const ONNX_INPUT = 'input';
/** Name of the graph's (first) output. */
export const ONNX_OUTPUT = 'output';

/** A network the exporter reads: a `Graph` or a decoded descriptor. */
export interface ExportNet {
  inputChannels: number;
  nodes: ReadonlyArray<DecodedNode>;
  outputs: ReadonlyArray<number>;
}

/** Float data of one tensor. */
export type FloatData = Float32Array | Float64Array;

/**
 * The learnable tensors of one node (src/reference's `NodeWeights` fits): CONV / DWCONV / LINEAR
 * `weight` (required; OIHW, [C][1][k][k], [cout][cin]); LINEAR `bias` [cout] (only with attribute
 * bias = 1; default zeros); BN `gamma`, `beta` [C] (default 1, 0).
 */
export interface ExportNodeWeights {
  weight?: FloatData;
  bias?: FloatData;
  gamma?: FloatData;
  beta?: FloatData;
}

/** Running statistics of one BN node (`engine.bnStatistics` returns a list of these). */
export interface BnRunningStats {
  /** Node index of the BN. */
  op: number;
  mean: FloatData;
  /** Biased (population) variance. */
  variance: FloatData;
}

/** Options of `exportOnnx` / `buildOnnxModel`. */
export interface OnnxExportOptions {
  /** Input height = width (the graph is static in H, W). */
  resolution: number;
  /** Export a scoring view (lowerForScoring's descriptor: no residuals, no head) on purpose; refused otherwise. */
  scoringView?: boolean;
  /** Fixed batch size; omitted → a symbolic dimension 'batch'. */
  batchSize?: number;
  /** Element type of weights, input and output (default 'fp32'). */
  precision?: 'fp32' | 'fp16';
  /** BN ε (folded into the convolutions or written on BatchNormalization; default 1e-5). */
  bnEps?: number;
  /** Text stored as the model's doc_string (e.g. the structure string). */
  docString?: string;
  /** The tensors of every node, by node index (entries of weight-free nodes may be null). */
  weights: ReadonlyArray<ExportNodeWeights | null | undefined>;
  /** BN running statistics: one entry per BN node, or 'fresh' (mean 0, var 1 everywhere). */
  bnStatistics: 'fresh' | ReadonlyArray<BnRunningStats>;
  /** Extra metadata_props (key → value; a key given here replaces the exporter's own). */
  metadata?: Readonly<Record<string, string>>;
}

interface Checked { resolution: number; batchSize?: number; precision: 'fp32' | 'fp16'; bnEps: number; docString?: string }

/** Validate the plain options shared by `exportOnnx` and `exportInferenceOnnx` (E_OPTION naming the key). */
export function checkExportOptions(o: { resolution: number; batchSize?: number; precision?: string; bnEps?: number; docString?: string; scoringView?: boolean }): Checked {
  if (o === null || typeof o !== 'object') optionError('export options must be an object');
  if (o.scoringView !== undefined && typeof o.scoringView !== 'boolean') optionError(`scoringView must be a boolean, got ${describe(o.scoringView)}`);
  checkInt('resolution', o.resolution, 1, 4096);
  if (o.batchSize !== undefined) checkInt('batchSize', o.batchSize, 1, 4096);
  const precision = o.precision ?? 'fp32';
  if (precision !== 'fp32' && precision !== 'fp16') optionError(`precision must be 'fp32' or 'fp16', got ${describe(precision)}`);
  const bnEps = checkPositive('bnEps', o.bnEps ?? 1e-5);
  if (o.docString !== undefined && typeof o.docString !== 'string') optionError(`docString must be a string, got ${describe(o.docString)}`);
  return { resolution: o.resolution, batchSize: o.batchSize, precision, bnEps, docString: o.docString };
}

/** A descriptor decoded, or a network as given. */
export function toExportNet(net: Int32Array | ExportNet, scoringView?: boolean): ExportNet {
  if (net instanceof Int32Array) {
    checkTrainedView(net, 'export', scoringView);
    return decodeDescriptor(net);
  }
  if (net === null || typeof net !== 'object' || !Array.isArray(net.nodes) || !Array.isArray(net.outputs)) {
    throw new ZennasError('E_DESCRIPTOR', 'invalid descriptor: expected an Int32Array or a graph { inputChannels, nodes, outputs }');
  }
  return net;
}

function asGraph(net: ExportNet): Graph {
  return { inputChannels: net.inputChannels, nodes: net.nodes.map((n) => ({ ...n, inputs: [...n.inputs], block: 0, role: 'main' as const })), outputs: [...net.outputs] };
}

/**
 * protobuf messages (and so ONNX files without external data) hold at most 2 GiB: E_STRUCTURE
 * when the weights of `net` would not fit, with the way out when there is one.
 */
export function checkOnnxSize(net: ExportNet, precision: 'fp32' | 'fp16'): void {
  const bytes = net.nodes.reduce((a, n) => a + drawnWeightCount(n), 0) * (precision === 'fp16' ? 2 : 4);
  if (bytes > ONNX_MAX_BYTES) {
    throw new ZennasError('E_STRUCTURE', `the weights take ${(bytes / 2 ** 30).toFixed(2)} GiB but an ONNX file holds at most 2 GiB${precision === 'fp32' && bytes / 2 <= ONNX_MAX_BYTES ? ': export with precision fp16' : ''}`);
  }
}

interface Value { name: string; c: number; h: number; w: number; rank: 2 | 4 }

function producerVersion(): string {
  return packageVersion();
}

function allFiniteNonNegative(a: FloatData): boolean {
  for (let i = 0; i < a.length; i++) if (!(a[i]! >= 0 && Number.isFinite(a[i]!))) return false;
  return true;
}

/** The per-BN running statistics by node index, checked against the graph. */
function bnTable(net: ExportNet, given: OnnxExportOptions['bnStatistics']): Map<number, { mean: FloatData; variance: FloatData }> {
  const out = new Map<number, { mean: FloatData; variance: FloatData }>();
  const bns = net.nodes.map((n, i) => (n.op === 'bn' ? i : -1)).filter((i) => i >= 0);
  if (given === 'fresh') {
    for (const i of bns) {
      const c = net.nodes[i]!.cout;
      out.set(i, { mean: new Float64Array(c), variance: new Float64Array(c).fill(1) });
    }
    return out;
  }
  if (!Array.isArray(given)) optionError(`bnStatistics must be 'fresh' or a list of { op, mean, variance } (engine.bnStatistics), got ${describe(given)}`);
  for (const s of given) {
    const n = net.nodes[s?.op];
    if (!n || n.op !== 'bn') optionError(`bnStatistics: op ${describe(s?.op)} is not a BN node`);
    if (out.has(s.op)) optionError(`bnStatistics: BN op ${s.op} is given twice`);
    for (const k of ['mean', 'variance'] as const) {
      const a = s[k] as unknown;
      if (!(a instanceof Float32Array || a instanceof Float64Array) || a.length !== n.cout) optionError(`bnStatistics: BN op ${s.op} needs a ${k} of ${n.cout} channels`);
    }
    if (!allFiniteNonNegative(s.variance)) optionError(`bnStatistics: BN op ${s.op} has a negative or non-finite variance`);
    out.set(s.op, { mean: s.mean, variance: s.variance });
  }
  const missing = bns.filter((i) => !out.has(i));
  if (missing.length) optionError(`bnStatistics: no statistics for BN op${missing.length > 1 ? 's' : ''} ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', …' : ''} (pass one entry per BN, or 'fresh')`);
  return out;
}

/** The node's tensors with defaults filled and lengths checked. */
function nodeTensors(net: ExportNet, weights: OnnxExportOptions['weights'], i: number): { weight?: FloatData; bias?: FloatData; gamma?: FloatData; beta?: FloatData } {
  const n = net.nodes[i]!;
  const w = weights[i] ?? {};
  const take = (k: keyof ExportNodeWeights, len: number, fill: number | null): FloatData => {
    const a = w[k] as unknown;
    if (a === undefined) {
      if (fill === null) optionError(`weights[${i}] (${n.op}): no ${k} given (${len} values expected)`);
      return new Float64Array(len).fill(fill);
    }
    if (!(a instanceof Float32Array || a instanceof Float64Array) || a.length !== len) optionError(`weights[${i}] (${n.op}): ${k} must be a Float32Array or Float64Array of ${len} values`);
    return a;
  };
  switch (n.op) {
    case 'conv': case 'dwconv': return { weight: take('weight', drawnWeightCount(n), null) };
    case 'linear': return { weight: take('weight', drawnWeightCount(n), null), ...(attrValue(n as Graph['nodes'][number], 'bias') === 1 ? { bias: take('bias', n.cout, 0) } : {}) };
    case 'bn': return { gamma: take('gamma', n.cout, 1), beta: take('beta', n.cout, 0) };
    default: return {};
  }
}

/**
 * Builds the ONNX graph of a network with the given weights and BN statistics. Returns the model
 * as plain objects (see onnx-schema.ts); `exportOnnx` serialises it.
 */
export function buildOnnxModel(network: Int32Array | ExportNet, options: OnnxExportOptions): OnnxModel {
  const o = checkExportOptions(options);
  const net = toExportNet(network, options.scoringView);
  // Validates the graph and gives every value's shape (E_DESCRIPTOR / E_STRUCTURE naming the node).
  const shapes = inferGraph(asGraph(net), o.resolution).values;
  checkOnnxSize(net, o.precision);
  if (!Array.isArray(options.weights)) optionError(`weights must be a list with one entry per node (drawWeights), got ${describe(options.weights)}`);
  const bnStats = bnTable(net, options.bnStatistics);
  if (options.metadata !== undefined && (options.metadata === null || typeof options.metadata !== 'object')) optionError('metadata must be an object of strings');
  const elemType = o.precision === 'fp16' ? ONNX_FLOAT16 : ONNX_FLOAT;

  const nodes: OnnxNode[] = [];
  const inits: OnnxTensor[] = [];
  const littleEndian = os.endianness() === 'LE';
  const tensor = (name: string, dims: number[], values: FloatData): string => {
    // Typed-array conversions: 100M-weight ImageNet nets must export in seconds; raw_data is little-endian.
    const f32 = values instanceof Float32Array ? values : Float32Array.from(values);
    const typed = elemType === ONNX_FLOAT16 ? float32ToFloat16Bits(f32) : f32;
    let bytes: Uint8Array = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
    if (!littleEndian) bytes = swapBytes(bytes, elemType === ONNX_FLOAT16 ? 2 : 4);
    inits.push({ name, dims, dataType: elemType, rawData: bytes });
    return name;
  };
  const shared = (name: string, make: () => string): string => (inits.some((t) => t.name === name) ? name : make());
  const ints = (name: string, v: number[]): OnnxAttribute => ({ name, type: ATTR_INTS, ints: v });
  const int = (name: string, v: number): OnnxAttribute => ({ name, type: ATTR_INT, i: v });
  const float = (name: string, v: number): OnnxAttribute => ({ name, type: ATTR_FLOAT, f: v });
  const node = (opType: string, name: string, input: string[], attribute: OnnxAttribute[] = []): string => {
    const out = `${name}_out`;
    nodes.push({ opType, name, input, output: [out], attribute });
    return out;
  };

  // values[v]: the ONNX tensor holding value v; a Gemm output is [N, C] (rank 2), everything else [N, C, H, W].
  const values: Value[] = [{ name: ONNX_INPUT, c: net.inputChannels, h: o.resolution, w: o.resolution, rank: 4 }];
  const unsqueezed = new Map<number, Value>();
  /** Value v at rank 4 (one Unsqueeze per value, shared by its consumers). */
  const four = (v: number, at: string): Value => {
    const x = values[v]!;
    if (x.rank === 4) return x;
    let u = unsqueezed.get(v);
    if (!u) {
      const axes = shared('unsqueeze_axes', () => tensorInt64(inits, 'unsqueeze_axes', [2, 3]));
      u = { ...x, rank: 4, name: node('Unsqueeze', `${at}_unsqueeze`, [x.name, axes]) };
      unsqueezed.set(v, u);
    }
    return u;
  };
  /** Several values at one rank: rank 2 when all are [N, C], else all at rank 4 (no [N,C] vs [N,C,1,1] broadcast). */
  const sameRank = (vs: readonly number[], at: string): Value[] => (vs.every((v) => values[v]!.rank === 2) ? vs.map((v) => values[v]!) : vs.map((v, k) => four(v, `${at}_in${k}`)));

  // BN folding: a BN whose input is a conv's output read by nothing else (no other node, not a graph output).
  const readers = new Array<number>(net.nodes.length + 1).fill(0);
  for (const n of net.nodes) for (const v of n.inputs) readers[v]!++;
  for (const v of net.outputs) readers[v]! += 2;
  const foldInto = new Map<number, number>(); // conv node → BN node
  const folded = new Set<number>();
  net.nodes.forEach((n, j) => {
    const src = n.inputs[0]!;
    if (n.op !== 'bn' || src === 0 || readers[src] !== 1) return;
    const conv = net.nodes[src - 1]!;
    if (conv.op === 'conv' || conv.op === 'dwconv') { foldInto.set(src - 1, j); folded.add(j); }
  });

  net.nodes.forEach((op, i) => {
    const at = `op${i}_${op.op}`;
    const shape = shapes[i + 1]!;
    const p = nodeTensors(net, options.weights, i);
    let y: Value;
    switch (op.op) {
      case 'conv':
      case 'dwconv': {
        const x = four(op.inputs[0]!, at);
        const w = p.weight!;
        const k = op.kernel, d = attrValue(op as Graph['nodes'][number], 'dilation'), pad = attrValue(op as Graph['nodes'][number], 'pad');  // d·(k−1)/2
        const cinPerGroup = op.op === 'dwconv' ? 1 : op.cin;
        const inputs = [x.name];
        const bn = foldInto.get(i);
        if (bn !== undefined) {
          // BN(conv(x)) = conv(x; W·s) + (β − μ·s), s = γ/√(var + ε), per output channel.
          const st = bnStats.get(bn)!, g = nodeTensors(net, options.weights, bn);
          const per = cinPerGroup * k * k;
          const scale = new Float64Array(op.cout), bias = new Float64Array(op.cout);
          for (let c = 0; c < op.cout; c++) {
            scale[c] = g.gamma![c]! / Math.sqrt(st.variance[c]! + o.bnEps);
            bias[c] = g.beta![c]! - st.mean[c]! * scale[c]!;
          }
          const sw = new Float32Array(w.length);
          for (let c = 0, j = 0; c < op.cout; c++) for (let e = 0; e < per; e++, j++) sw[j] = w[j]! * scale[c]!;
          inputs.push(tensor(`${at}_weight`, [op.cout, cinPerGroup, k, k], sw));
          inputs.push(tensor(`${at}_bias`, [op.cout], bias));
        } else {
          inputs.push(tensor(`${at}_weight`, [op.cout, cinPerGroup, k, k], w));
        }
        const attrs = [ints('kernel_shape', [k, k]), ints('strides', [op.stride, op.stride]), ints('pads', [pad, pad, pad, pad]), ints('dilations', [d, d])];
        if (op.op === 'dwconv') attrs.push(int('group', op.cout));
        y = { name: node('Conv', at, inputs, attrs), ...shape, rank: 4 };
        break;
      }
      case 'bn': {
        if (folded.has(i)) { y = values[op.inputs[0]!]!; break; } // the conv above wrote BN(conv(x))
        const x = four(op.inputs[0]!, at);
        const c = op.cout, st = bnStats.get(i)!;
        y = {
          ...x,
          name: node('BatchNormalization', at, [x.name, tensor(`${at}_scale`, [c], p.gamma!), tensor(`${at}_bias`, [c], p.beta!),
            tensor(`${at}_mean`, [c], st.mean), tensor(`${at}_var`, [c], st.variance)], [float('epsilon', o.bnEps)]),
        };
        break;
      }
      case 'relu': { const x = values[op.inputs[0]!]!; y = { ...x, name: node('Relu', at, [x.name]) }; break; }
      case 'sigmoid': { const x = values[op.inputs[0]!]!; y = { ...x, name: node('Sigmoid', at, [x.name]) }; break; }
      case 'swish': {
        // Opset 17 has no SiLU: x · Sigmoid(x) (TensorRT fuses the pair).
        const x = values[op.inputs[0]!]!;
        y = { ...x, name: node('Mul', at, [x.name, node('Sigmoid', `${at}_sigmoid`, [x.name])]) };
        break;
      }
      case 'hswish': { const x = values[op.inputs[0]!]!; y = { ...x, name: node('HardSwish', at, [x.name]) }; break; }
      case 'hsigmoid': {
        // ONNX HardSigmoid is max(0, min(1, αx + β)); PyTorch's relu6(x + 3)/6 is α = 1/6, β = ½.
        const x = values[op.inputs[0]!]!;
        y = { ...x, name: node('HardSigmoid', at, [x.name], [float('alpha', 1 / 6), float('beta', 0.5)]) };
        break;
      }
      case 'identity': { const x = values[op.inputs[0]!]!; y = { ...x, name: node('Identity', at, [x.name]) }; break; }
      case 'zero': {
        const x = values[op.inputs[0]!]!;
        const zero = shared('zero', () => tensor('zero', [], new Float32Array(1)));
        y = { ...x, name: node('Mul', at, [x.name, zero]) };
        break;
      }
      case 'maxpool':
      case 'avgpool': {
        const x = four(op.inputs[0]!, at);
        const k = op.kernel, pad = attrValue(op as Graph['nodes'][number], 'pad');  // (k−1)/2 unless AVGPOOL sets it
        const attrs = [ints('kernel_shape', [k, k]), ints('strides', [op.stride, op.stride]), ints('pads', [pad, pad, pad, pad])];
        if (op.op === 'avgpool') attrs.push(int('count_include_pad', attrValue(op as Graph['nodes'][number], 'countIncludePad')));
        y = { name: node(op.op === 'maxpool' ? 'MaxPool' : 'AveragePool', at, [x.name], attrs), ...shape, rank: 4 };
        break;
      }
      case 'gap': { const x = four(op.inputs[0]!, at); y = { name: node('GlobalAveragePool', at, [x.name]), ...shape, rank: 4 }; break; }
      case 'linear': {
        const x = values[op.inputs[0]!]!; // 1×1 (inferGraph checked it)
        const flat = x.rank === 2 ? x.name : node('Flatten', `${at}_flatten`, [x.name], [int('axis', 1)]);
        const inputs = [flat, tensor(`${at}_weight`, [op.cout, op.cin], p.weight!)];
        if (p.bias) inputs.push(tensor(`${at}_bias`, [op.cout], p.bias));
        y = { name: node('Gemm', at, inputs, [int('transB', 1)]), ...shape, rank: 2 };
        break;
      }
      case 'mul': {
        const [x, g] = sameRank(op.inputs, at);
        y = { ...x!, name: node('Mul', at, [x!.name, g!.name]) };
        break;
      }
      case 'add': {
        const xs = sameRank(op.inputs, at);
        y = { ...xs[0]!, name: node(xs.length === 2 ? 'Add' : 'Sum', at, xs.map((x) => x.name)) };
        break;
      }
      case 'crop': {
        // x[:, :, o:, o:]: Slice on axes 2, 3 from o to the (static) end.
        const x = four(op.inputs[0]!, at);
        const o = attrValue(op as Graph['nodes'][number], 'offset');
        const starts = tensorInt64(inits, `${at}_starts`, [o, o]), ends = tensorInt64(inits, `${at}_ends`, [x.h, x.w]);
        const axes = shared('slice_axes_hw', () => tensorInt64(inits, 'slice_axes_hw', [2, 3]));
        const fill = attrValue(op as Graph['nodes'][number], 'fill') === 1;
        const sliced = node('Slice', fill ? `${at}_slice` : at, [x.name, starts, ends, axes]);
        // fill: zeros at the end of H and W (pads = [begins of N, C, H, W, ends of N, C, H, W]).
        y = { name: fill ? node('Pad', at, [sliced, tensorInt64(inits, `${at}_pads`, [0, 0, 0, 0, 0, 0, o, o])]) : sliced, ...shape, rank: 4 };
        break;
      }
      case 'concat': {
        // Along channels: axis 1 of [N, C, H, W] (and of a rank-2 [N, C] when every input is one).
        const xs = sameRank(op.inputs, at);
        y = { name: node('Concat', at, xs.map((x) => x.name), [int('axis', 1)]), ...shape, rank: xs[0]!.rank };
        break;
      }
      default: {
        const never: never = op.op;
        throw new ZennasError('E_INTERNAL', `no ONNX mapping for op ${String(never)}`);
      }
    }
    values.push(y);
  });

  // Graph outputs get stable names: an Identity each keeps every node's own name intact.
  const batchDim: OnnxDim = o.batchSize !== undefined ? { dimValue: o.batchSize } : { dimParam: 'batch' };
  const info = (name: string, dims: OnnxDim[]): OnnxValueInfo => ({ name, type: { tensorType: { elemType, shape: { dim: dims } } } });
  const outputs = net.outputs.map((v, k) => {
    const out = values[v]!;
    const name = k === 0 ? ONNX_OUTPUT : `${ONNX_OUTPUT}_${k}`;
    nodes.push({ opType: 'Identity', name: `${name}_identity`, input: [out.name], output: [name] });
    return info(name, out.rank === 2 ? [batchDim, { dimValue: out.c }] : [batchDim, { dimValue: out.c }, { dimValue: out.h }, { dimValue: out.w }]);
  });

  const fresh = options.bnStatistics === 'fresh';
  const metadata: Record<string, string> = {
    'zennas.bn': `eval mode, folded into the preceding conv where there is one; running statistics ${fresh ? 'mean 0, var 1' : 'as given'}, eps ${o.bnEps}`,
    ...(options.metadata ?? {}),
  };
  return {
    irVersion: ONNX_IR_VERSION,
    producerName: 'zennas',
    producerVersion: producerVersion(),
    docString: o.docString ?? '',
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value: String(value) })),
    graph: {
      name: 'zennas',
      node: nodes,
      initializer: inits,
      input: [info(ONNX_INPUT, [batchDim, { dimValue: net.inputChannels }, { dimValue: o.resolution }, { dimValue: o.resolution }])],
      output: outputs,
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
  const bytes = new Uint8Array(8 * values.length);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true));
  inits.push({ name, dims: [values.length], dataType: 7, rawData: bytes });
  return name;
}

/** Serialise a network's inference graph with the given weights and BN statistics as an ONNX model (protobuf bytes). */
export function exportOnnx(network: Int32Array | ExportNet, options: OnnxExportOptions): Uint8Array {
  const model = buildOnnxModel(network, options);
  const type = onnxModelType();
  return type.encode(type.fromObject(model)).finish();
}

/** Decode ONNX bytes written by `exportOnnx` (for tests and tools; only the fields zennas writes). */
export function decodeOnnx(bytes: Uint8Array): OnnxModel {
  const type = onnxModelType();
  return type.toObject(type.decode(bytes), { longs: Number, defaults: false, arrays: true }) as OnnxModel;
}
