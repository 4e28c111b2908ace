/**
 * The op schema: the one table every layer of zennas reads about ops (native/DESCRIPTOR.md v2).
 *
 * - `src/model/` lowers structures to graphs of these ops and `src/ops/graph.ts` validates them;
 * - `scripts/gen-op-schema.ts` turns this table into `native/ops/schema.generated.h`, from which the
 *   native validator (`native/common/graph.cc`) checks every descriptor (a test keeps it fresh);
 * - counting (params, FLOPs), the ONNX exporter and the float64 reference look rules up here.
 *
 * Adding an op = one entry here, its CPU and CUDA kernels (forward and backward), its float64
 * reference (forward and vector-Jacobian product) and its ONNX mapping.
 */

/** How an op's output shape follows from its inputs (per image, [C][H][W]). */
export type ShapeRule =
  | 'same'      // output = input 0
  | 'window'    // k×k window, stride, pad (k−1)/2 or the op's pad attribute: H' = floor((H + 2·pad − k)/stride) + 1
  | 'global'    // [C][1][1]
  | 'linear'    // needs [C][1][1]; output [cout][1][1]
  | 'gate'      // input 1 is [C][1][1] broadcast over input 0's H×W; output = input 0
  | 'elementwise' // every input has the same shape; output = that shape
  | 'concat'    // every input has the same H×W; output channels = the sum of the inputs' (input order)
  | 'crop';     // [C][H − offset][W − offset] (the first `offset` rows and columns dropped), or [C][H][W] with fill

/** Which learnable tensors an op has (all drawn from Philox stream op index + 1, see DESCRIPTOR.md). */
export type WeightKind =
  | 'none'
  | 'conv'       // [cout][cin][k][k]
  | 'depthwise'  // [C][1][k][k]
  | 'linear'     // [cout][cin], plus a bias [cout] when attribute bias = 1
  | 'bn';        // γ, β: [C] each (γ = 1, β = 0 at initialisation; nothing drawn)

/** An integer attribute of an op, stored in the descriptor record in schema order. */
export interface AttrSpec {
  readonly name: 'cout' | 'kernel' | 'stride' | 'bias' | 'countIncludePad' | 'pad' | 'dilation' | 'offset' | 'fill';
  readonly min: number;
  readonly max: number;
  /** Must be odd (symmetric padding (k−1)/2). */
  readonly odd?: boolean;
  /** Must be odd unless the record carries the op's `pad` attribute (then any k, with pad ≤ k/2 as PyTorch). */
  readonly oddUnlessPad?: boolean;
  /** Value when a lowering does not set it. */
  readonly default?: number;
  /**
   * A trailing attribute a record may omit (then it has its default: pad (k−1)/2, dilation 1), so
   * descriptors written before it existed keep their words and their meaning.
   */
  readonly optional?: boolean;
}

/** One op of the schema: opcode, inputs, attributes, shape rule, weights, ONNX mapping. */
export interface OpSpec {
  /** Opcode in descriptors (stable: never renumber). */
  readonly code: number;
  readonly name: string;
  /** Number of inputs: [min, max]; n-ary ops have max > min. */
  readonly inputs: readonly [number, number];
  readonly attrs: readonly AttrSpec[];
  readonly shape: ShapeRule;
  readonly weights: WeightKind;
  /** The backward pass propagates through it (every op here is). */
  readonly differentiable: boolean;
  /** Output may share input 0's buffer when input 0 is not read later (and no backward pass needs it). */
  readonly inPlace: boolean;
  /** ONNX operator(s) the exporter emits. */
  readonly onnx: string;
  /** One line for docs and `zennas` errors. */
  readonly doc: string;
}

const COUT: AttrSpec = { name: 'cout', min: 1, max: 65536 };
const KERNEL: AttrSpec = { name: 'kernel', min: 1, max: 15, odd: true };
const STRIDE: AttrSpec = { name: 'stride', min: 1, max: 8 };
/** AVGPOOL's explicit padding (e.g. NAS-Bench-201's AvgPool2d(2, 2, padding 0)): absent = (k−1)/2. */
const PAD: AttrSpec = { name: 'pad', min: 0, max: 7, optional: true };
/** DWCONV's dilation (DARTS's dil_conv_3x3 / 5x5: 2): taps d apart, pad d·(k−1)/2 ("same" at stride 1); absent = 1. */
const DILATION: AttrSpec = { name: 'dilation', min: 1, max: 8, default: 1, optional: true };

/** The table (opcode order; codes 1–10 are descriptor v1's). */
export const OP_SCHEMA = [
  { code: 1, name: 'conv', inputs: [1, 1], attrs: [COUT, KERNEL, STRIDE], shape: 'window', weights: 'conv', differentiable: true, inPlace: false, onnx: 'Conv', doc: 'k×k convolution, no bias, pad (k−1)/2' },
  { code: 2, name: 'dwconv', inputs: [1, 1], attrs: [KERNEL, STRIDE, DILATION], shape: 'window', weights: 'depthwise', differentiable: true, inPlace: false, onnx: 'Conv(group=C)', doc: 'depthwise k×k convolution, no bias; optional dilation d (pad d·(k−1)/2)' },
  { code: 3, name: 'bn', inputs: [1, 1], attrs: [], shape: 'same', weights: 'bn', differentiable: true, inPlace: true, onnx: 'BatchNormalization (folded)', doc: 'batch norm: training mode (batch statistics) or eval (running statistics)' },
  { code: 4, name: 'relu', inputs: [1, 1], attrs: [], shape: 'same', weights: 'none', differentiable: true, inPlace: true, onnx: 'Relu', doc: 'max(x, 0)' },
  { code: 5, name: 'maxpool', inputs: [1, 1], attrs: [KERNEL, STRIDE], shape: 'window', weights: 'none', differentiable: true, inPlace: false, onnx: 'MaxPool', doc: 'k×k max pool, pad (k−1)/2 with −∞' },
  { code: 6, name: 'gap', inputs: [1, 1], attrs: [], shape: 'global', weights: 'none', differentiable: true, inPlace: false, onnx: 'GlobalAveragePool', doc: 'global average pool to [C][1][1]' },
  { code: 7, name: 'linear', inputs: [1, 1], attrs: [COUT, { name: 'bias', min: 0, max: 1, default: 0 }], shape: 'linear', weights: 'linear', differentiable: true, inPlace: false, onnx: 'Gemm', doc: 'fully connected layer on a [C][1][1] input (bias optional)' },
  { code: 8, name: 'sigmoid', inputs: [1, 1], attrs: [], shape: 'same', weights: 'none', differentiable: true, inPlace: true, onnx: 'Sigmoid', doc: '1 / (1 + e^−x)' },
  { code: 9, name: 'mul', inputs: [2, 2], attrs: [], shape: 'gate', weights: 'none', differentiable: true, inPlace: true, onnx: 'Mul', doc: 'x ⊙ gate, gate [C][1][1] broadcast over H×W (squeeze-excitation)' },
  { code: 10, name: 'add', inputs: [2, 64], attrs: [], shape: 'elementwise', weights: 'none', differentiable: true, inPlace: true, onnx: 'Add / Sum', doc: 'sum of ≥ 2 tensors of one shape (residual links, cell nodes)' },
  { code: 11, name: 'avgpool', inputs: [1, 1], attrs: [{ name: 'kernel', min: 1, max: 15, oddUnlessPad: true }, STRIDE, { name: 'countIncludePad', min: 0, max: 1, default: 1 }, PAD], shape: 'window', weights: 'none', differentiable: true, inPlace: false, onnx: 'AveragePool', doc: 'k×k average pool, pad (k−1)/2 or the pad attribute (0 ≤ pad ≤ k/2; even k needs it); zeros counted unless countIncludePad = 0 (PyTorch’s default counts them)' },
  { code: 12, name: 'swish', inputs: [1, 1], attrs: [], shape: 'same', weights: 'none', differentiable: true, inPlace: true, onnx: 'Sigmoid + Mul', doc: 'x · sigmoid(x) (SiLU)' },
  { code: 13, name: 'identity', inputs: [1, 1], attrs: [], shape: 'same', weights: 'none', differentiable: true, inPlace: true, onnx: 'Identity', doc: 'y = x (skip connection of a cell)' },
  { code: 14, name: 'zero', inputs: [1, 1], attrs: [], shape: 'same', weights: 'none', differentiable: true, inPlace: false, onnx: 'Mul by 0', doc: 'y = 0 of the input’s shape (the “none” edge of a cell)' },
  { code: 15, name: 'hswish', inputs: [1, 1], attrs: [], shape: 'same', weights: 'none', differentiable: true, inPlace: true, onnx: 'HardSwish', doc: 'x · min(max(x + 3, 0), 6) / 6 (hard-swish, MobileNetV3)' },
  { code: 16, name: 'hsigmoid', inputs: [1, 1], attrs: [], shape: 'same', weights: 'none', differentiable: true, inPlace: true, onnx: 'HardSigmoid(α = 1/6, β = ½)', doc: 'min(max(x + 3, 0), 6) / 6 (hard-sigmoid, the SE gate of MobileNetV3 / HardCoRe-NAS)' },
  { code: 17, name: 'concat', inputs: [2, 64], attrs: [], shape: 'concat', weights: 'none', differentiable: true, inPlace: false, onnx: 'Concat(axis = 1)', doc: 'the inputs (one H×W) stacked along channels in input order (a DARTS cell’s output)' },
  { code: 18, name: 'crop', inputs: [1, 1], attrs: [{ name: 'offset', min: 1, max: 7 }, { name: 'fill', min: 0, max: 1, default: 0, optional: true }], shape: 'crop', weights: 'none', differentiable: true, inPlace: false, onnx: 'Slice(axes 2, 3) (+ Pad)', doc: 'x[:, :, o:, o:] (the shifted half of DARTS’s FactorizedReduce); fill 1 zero-pads it back to H×W at the bottom and right (TE-NAS’s ConstantPad2d before the slice)' },
] as const satisfies readonly OpSpec[];

/** The name of an op of the schema (`conv`, `bn`, `relu`, …). */
export type OpName = (typeof OP_SCHEMA)[number]['name'];
export type AttrName = AttrSpec['name'];

/** Op names in opcode order. */
export const OP_NAMES: readonly OpName[] = OP_SCHEMA.map((o) => o.name);

const BY_NAME = new Map<string, OpSpec>(OP_SCHEMA.map((o) => [o.name, o]));
const BY_CODE = new Map<number, OpSpec>(OP_SCHEMA.map((o) => [o.code, o]));

/** The schema entry of an op name (throws on a name not in the table: a bug). */
export function opSpec(name: OpName): OpSpec {
  return BY_NAME.get(name)!;
}

/** The schema entry of an opcode, or undefined. */
export function opSpecByCode(code: number): OpSpec | undefined {
  return BY_CODE.get(code);
}

/** The fields of a node the counting rules read. */
export interface CountedNode { op: OpName; cin: number; cout: number; kernel: number; bias?: number }

/**
 * Counting rules, one per weight kind (the schema's `weights` column), so a new op is counted by
 * its table entry alone: `weights` = the learnable tensor drawn from Philox, `params` = everything
 * learnable (bias, BN γ/β included), `macs` = multiply-adds per output position (the paper's
 * "FLOPs" count conv and linear layers only; 'linear' has one position).
 */
export const WEIGHT_RULES: Readonly<Record<WeightKind, {
  weights(n: CountedNode): number;
  params(n: CountedNode): number;
  macsPerPosition(n: CountedNode): number;
  /** Multiply-adds scale with the output's H×W (convolutions) or not (a linear layer on [C][1][1]). */
  spatial: boolean;
}>> = {
  none: { weights: () => 0, params: () => 0, macsPerPosition: () => 0, spatial: false },
  conv: { weights: (n) => n.cin * n.cout * n.kernel * n.kernel, params: (n) => n.cin * n.cout * n.kernel * n.kernel, macsPerPosition: (n) => n.cin * n.cout * n.kernel * n.kernel, spatial: true },
  depthwise: { weights: (n) => n.cout * n.kernel * n.kernel, params: (n) => n.cout * n.kernel * n.kernel, macsPerPosition: (n) => n.cout * n.kernel * n.kernel, spatial: true },
  linear: { weights: (n) => n.cin * n.cout, params: (n) => n.cin * n.cout + (n.bias ? n.cout : 0), macsPerPosition: (n) => n.cin * n.cout, spatial: false },
  bn: { weights: () => 0, params: (n) => 2 * n.cout, macsPerPosition: () => 0, spatial: false },
};

/** Elements of an op's learnable weight tensor (conv/linear weights; 0 for BN and parameter-free ops). */
export function opWeightCount(n: CountedNode): number {
  return WEIGHT_RULES[opSpec(n.op).weights].weights(n);
}

/** Learnable parameters of an op (weights, linear bias, BN γ and β). */
export function opParams(n: CountedNode): number {
  return WEIGHT_RULES[opSpec(n.op).weights].params(n);
}

/** Multiply-adds of an op whose output is `hout`×`wout` (the paper's FLOPs: conv and linear layers). */
export function opMacs(n: CountedNode, out: { hout: number; wout: number }): number {
  const r = WEIGHT_RULES[opSpec(n.op).weights];
  return r.macsPerPosition(n) * (r.spatial ? out.hout * out.wout : 1);
}

/** PyTorch's output size floor((H + 2·pad − k)/s) + 1, pad (k−1)/2 unless given (conv and pools alike). */
export function convOutSize(size: number, kernel: number, stride: number, pad: number = (kernel - 1) >> 1): number {
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}

/** The padding of a window op's node: its `pad` attribute (AVGPOOL) when set, else d·(k−1)/2 (d: DWCONV's dilation, else 1). */
export function windowPad(n: { kernel: number; pad?: number; dilation?: number }): number {
  return n.pad ?? (windowExtent(n) - 1) >> 1;
}

/** The window's extent d·(k−1) + 1 (k unless DWCONV's dilation d > 1): what the output size formula subtracts. */
export function windowExtent(n: { kernel: number; dilation?: number }): number {
  return (n.dilation ?? 1) * (n.kernel - 1) + 1;
}
