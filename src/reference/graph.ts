/**
 * Float64 forward and reverse pass over a v2 graph (src/ops/graph.ts): the test oracle of the
 * native engine's forward and backward passes. Every op of the schema, plain loops (ops.ts);
 * slow, but exact to float64 and written as the definitions.
 *
 * A network is a `Graph` (from the lowering) or a decoded descriptor (`decodeForReference`):
 * value 0 is the input, node i produces value i + 1. Weights follow native/DESCRIPTOR.md: the
 * weights of node i (CONV, DWCONV, LINEAR) are Philox stream i + 1, row-major OIHW / [cout][cin];
 * a LINEAR bias and BN's γ, β start at 0, 1, 0 and are not drawn.
 */
import { ZennasError } from '../errors';
import { Graph, GraphNode, attrValue, inferGraph } from '../ops/graph';
import { DecodedNode, decodeDescriptor } from '../ops/descriptor';
import { OpName, opWeightCount } from '../ops/schema';
import { gaussianTensor, weightStream } from '../rng/philox';
import { Tensor4, checkReferenceSize, float64Array, sameShape, zerosLike } from './tensor';
import {
  BnGroupStats, addForward, avgPoolBackward, concatBackward, concatForward, cropBackward, cropForward, avgPoolForward, bnBatchStats, bnEvalBackward, bnEvalForward, bnTrainBackward,
  bnTrainForward, convBackward, convForward, elementwiseBackward, elementwiseForward, gapBackward, gapForward, linearBackward,
  linearForward, maxPoolBackward, maxPoolForward, mulBackward, mulForward,
} from './ops';

/** A network the reference runs: a `Graph` or a decoded descriptor (nodes without block/role). */
export interface ReferenceNet {
  inputChannels: number;
  nodes: readonly DecodedNode[];
  outputs: readonly number[];
}

/**
 * The learnable tensors of one node (fields the op does not have are absent):
 * CONV `weight` [cout][cin][k][k]; DWCONV `weight` [C][1][k][k]; LINEAR `weight` [cout][cin] and,
 * with attribute bias = 1, `bias` [cout]; BN `gamma`, `beta` [C].
 */
export interface NodeWeights {
  weight?: Float64Array;
  bias?: Float64Array;
  gamma?: Float64Array;
  beta?: Float64Array;
}

/**
 * Weights of a network, by node index. Entries of weight-free nodes may be null/undefined; a
 * missing BN γ / β or LINEAR bias means its initial value (1, 0, 0). CONV / DWCONV / LINEAR
 * `weight` is required.
 */
export type ReferenceWeights = ReadonlyArray<NodeWeights | null | undefined>;

/** Eval-mode BN: running statistics by node index (BN nodes only; null → mean 0, variance 1). */
export interface EvalBn {
  mean: ReadonlyArray<Float64Array | null>;
  variance: ReadonlyArray<Float64Array | null>;
}

/** Options of `referenceForward`. */
export interface ForwardOptions {
  /** BN ε (default 1e-5; 0 is allowed here, for hand-computed tests). */
  bnEps?: number;
  /**
   * Training-mode BN groups G ≥ 1 (default 1): the batch of N images is split into G consecutive
   * groups of N/G images, each normalised with its own batch statistics (the Zen-score's clean and
   * perturbed halves of one 2B batch are G = 2). N must be a multiple of G.
   */
  bnGroups?: number;
  /** 'train' (biased batch statistics, default) or eval mode with the given running statistics. */
  bn?: 'train' | EvalBn;
}

/** The options a forward ran with. */
export interface ResolvedForwardOptions {
  bnEps: number;
  bnGroups: number;
  bn: 'train' | EvalBn;
}

/** Batch statistics of one BN input in one group (biased variance over count = (N/G)·H·W values). */
export interface BnStats extends BnGroupStats {
  /** Node index of the BN. */
  opIndex: number;
  /** Group (0 .. bnGroups − 1). */
  group: number;
}

/** What `referenceForward` returns (and `referenceBackward` reads). */
export interface ForwardResult {
  /** Every value: values[0] = x, values[i + 1] = output of node i. */
  values: Tensor4[];
  /** The values named by `net.outputs`, in order (outputs[0] is what proxies and heads read). */
  outputs: Tensor4[];
  /** Batch statistics of every BN's input, in node order then group order (computed in eval mode too). */
  bn: BnStats[];
  options: ResolvedForwardOptions;
}

/** Gradients of a scalar loss, from `referenceBackward`. */
export interface Gradients {
  /** ∂L/∂x (= values[0]). */
  input: Tensor4;
  /** ∂L/∂(every value), same indexing as ForwardResult.values. */
  values: Tensor4[];
  /** ∂L/∂(every weight tensor), by node index: every field the node has is present. */
  weights: NodeWeights[];
}

type WeightedOp = Extract<OpName, 'conv' | 'dwconv' | 'linear'>;

function isWeighted(op: OpName): op is WeightedOp {
  return op === 'conv' || op === 'dwconv' || op === 'linear';
}

/** Number of drawn weights of a node: CONV cout·cin·k², DWCONV C·k², LINEAR cout·cin (its bias is not drawn); 0 otherwise. */
export function weightCount(n: DecodedNode): number {
  return opWeightCount(n);
}

/** The graph `inferGraph` checks (decoded nodes carry no block/role; it does not read them). */
function asGraph(net: ReferenceNet): Graph {
  return { inputChannels: net.inputChannels, nodes: net.nodes.map((n) => ({ ...n, block: 0, role: 'main' as const })), outputs: [...net.outputs] };
}

/**
 * Decode a v2 descriptor and check it with `inferGraph` (structure only: resolution-dependent
 * shape errors surface when a forward runs at a resolution). Throws E_DESCRIPTOR.
 */
export function decodeForReference(descriptor: Int32Array): ReferenceNet {
  const net = decodeDescriptor(descriptor);
  inferGraph(asGraph(net), 1, 'structure');
  return net;
}

/** A descriptor decoded and checked, or a graph as given. */
export function toReferenceNet(net: Int32Array | ReferenceNet): ReferenceNet {
  return net instanceof Int32Array ? decodeForReference(net) : net;
}

/**
 * The initial weights of repeat `repeat`: node i's CONV / DWCONV / LINEAR weight is Philox stream
 * i + 1 (N(0, 1), row-major); LINEAR bias 0 (bias = 1); BN γ = 1, β = 0; `{}` for other nodes.
 */
export function referenceWeights(net: ReferenceNet, seed: number, repeat: number): NodeWeights[] {
  return net.nodes.map((n, i): NodeWeights => {
    if (isWeighted(n.op)) {
      checkReferenceSize(weightCount(n));
      const weight = gaussianTensor(seed, weightStream(i), repeat, weightCount(n));
      return n.op === 'linear' && attr(n, 'bias') === 1 ? { weight, bias: new Float64Array(n.cout) } : { weight };
    }
    if (n.op === 'bn') return { gamma: new Float64Array(n.cout).fill(1), beta: new Float64Array(n.cout) };
    return {};
  });
}

/** Attribute of a decoded node (schema default when unset). */
function attr(n: DecodedNode, name: 'bias' | 'countIncludePad' | 'pad' | 'dilation' | 'offset' | 'fill'): number {
  return attrValue(n as GraphNode, name);
}

/** A node's parameters with defaults filled and lengths checked. */
function params(net: ReferenceNet, weights: ReferenceWeights, i: number): { weight: Float64Array; bias: Float64Array | null; gamma: Float64Array; beta: Float64Array } {
  const n = net.nodes[i]!;
  const w = weights[i] ?? {};
  const check = (name: string, a: Float64Array | undefined, len: number, fill: number | null): Float64Array => {
    if (a === undefined) {
      if (fill === null) throw new ZennasError('E_INTERNAL', `node ${i} (${n.op}): no ${name} given (${len} values expected)`);
      return float64Array(len).fill(fill);
    }
    if (a.length !== len) throw new ZennasError('E_INTERNAL', `node ${i} (${n.op}): ${name} has ${a.length} values, expected ${len}`);
    return a;
  };
  const none = new Float64Array(0);
  if (isWeighted(n.op)) {
    const bias = n.op === 'linear' && attr(n, 'bias') === 1 ? check('bias', w.bias, n.cout, 0) : null;
    return { weight: check('weight', w.weight, weightCount(n), null), bias, gamma: none, beta: none };
  }
  if (n.op === 'bn') return { weight: none, bias: null, gamma: check('gamma', w.gamma, n.cout, 1), beta: check('beta', w.beta, n.cout, 0) };
  return { weight: none, bias: null, gamma: none, beta: none };
}

function resolveOptions(o: ForwardOptions): ResolvedForwardOptions {
  const r: ResolvedForwardOptions = { bnEps: o.bnEps ?? 1e-5, bnGroups: o.bnGroups ?? 1, bn: o.bn ?? 'train' };
  if (!(r.bnEps >= 0) || !Number.isFinite(r.bnEps)) throw new ZennasError('E_OPTION', `bnEps must be a finite number ≥ 0, got ${r.bnEps}`);
  if (!Number.isInteger(r.bnGroups) || r.bnGroups < 1) throw new ZennasError('E_OPTION', `bnGroups must be an integer ≥ 1, got ${r.bnGroups}`);
  return r;
}

/** Eval-mode running statistics of BN node i (null → mean 0, variance 1). */
function runningStats(bn: EvalBn, i: number, c: number): { mean: Float64Array; variance: Float64Array } {
  const m = bn.mean[i] ?? new Float64Array(c), v = bn.variance[i] ?? new Float64Array(c).fill(1);
  if (m.length !== c || v.length !== c) throw new ZennasError('E_OPTION', `eval BN node ${i}: running statistics need ${c} channels`);
  return { mean: m, variance: v };
}

/**
 * The forward pass of `net` on x [N][Cin][H][W] (the graph is checked with `inferGraph` first).
 * Training-mode BN normalises each of `bnGroups` groups with its own biased batch statistics; eval
 * mode uses the given running statistics (the batch statistics are still reported in `bn`).
 */
export function referenceForward(net: ReferenceNet, weights: ReferenceWeights, x: Tensor4, options: ForwardOptions = {}): ForwardResult {
  const o = resolveOptions(options);
  if (x.c !== net.inputChannels) throw new ZennasError('E_OPTION', `input has ${x.c} channels, the net expects ${net.inputChannels}`);
  if (x.n < 1 || x.n % o.bnGroups !== 0) throw new ZennasError('E_OPTION', `batch ${x.n} is not a positive multiple of bnGroups ${o.bnGroups}`);
  if (x.data.length !== x.n * x.c * x.h * x.w) throw new ZennasError('E_OPTION', `input data has ${x.data.length} values for [${x.n}][${x.c}][${x.h}][${x.w}]`);
  // Every shape rule acts on H and W separately, so the square checks at H and at W cover H×W.
  const g = asGraph(net);
  inferGraph(g, x.h);
  if (x.w !== x.h) inferGraph(g, x.w);
  const values: Tensor4[] = [x];
  const bn: BnStats[] = [];
  net.nodes.forEach((n, i) => {
    const xs = n.inputs.map((v) => values[v]!);
    const src = xs[0]!;
    const p = params(net, weights, i);
    let y: Tensor4;
    switch (n.op) {
      case 'conv': y = convForward(src, p.weight, n.cout, n.kernel, n.stride, false); break;
      case 'dwconv': y = convForward(src, p.weight, n.cout, n.kernel, n.stride, true, attr(n, 'dilation')); break;
      case 'bn': {
        const stats = bnBatchStats(src, o.bnGroups);
        stats.forEach((s, group) => bn.push({ opIndex: i, group, ...s }));
        if (o.bn === 'train') y = bnTrainForward(src, p.gamma, p.beta, o.bnEps, stats);
        else { const r = runningStats(o.bn, i, n.cout); y = bnEvalForward(src, p.gamma, p.beta, o.bnEps, r.mean, r.variance); }
        break;
      }
      case 'relu': case 'sigmoid': case 'swish': case 'hswish': case 'hsigmoid': case 'identity': case 'zero': y = elementwiseForward(n.op, src); break;
      case 'maxpool': y = maxPoolForward(src, n.kernel, n.stride); break;
      case 'avgpool': y = avgPoolForward(src, n.kernel, n.stride, attr(n, 'countIncludePad') === 1, attr(n, 'pad')); break;
      case 'gap': y = gapForward(src); break;
      case 'linear': y = linearForward(src, p.weight, p.bias, n.cout); break;
      case 'mul': y = mulForward(src, xs[1]!); break;
      case 'add': y = addForward(xs); break;
      case 'concat': y = concatForward(xs); break;
      case 'crop': y = cropForward(src, attr(n, 'offset'), attr(n, 'fill') === 1); break;
      default: { const never: never = n.op; throw new ZennasError('E_INTERNAL', `no reference for op ${String(never)}`); }
    }
    values.push(y);
  });
  return { values, outputs: net.outputs.map((v) => values[v]!), bn, options: o };
}

function addInto(acc: Tensor4, d: Tensor4): void {
  for (let j = 0; j < acc.data.length; j++) acc.data[j]! += d.data[j]!;
}

/**
 * The reverse pass (vector-Jacobian product) of a forward: given ∂L/∂(output k) for each
 * `net.outputs[k]` (null/undefined: that output does not enter L), returns ∂L/∂x, ∂L/∂(every
 * value) and ∂L/∂(every weight tensor), including BN γ, β and LINEAR bias. Training-mode BN
 * differentiates through its batch statistics, per group. Gradients of a value read by several
 * nodes add up.
 */
export function referenceBackward(net: ReferenceNet, weights: ReferenceWeights, fwd: ForwardResult, outputGrads: ReadonlyArray<Tensor4 | null | undefined>): Gradients {
  const { values } = fwd;
  if (values.length !== net.nodes.length + 1) throw new ZennasError('E_INTERNAL', 'the forward result does not belong to this network');
  const gv = values.map(zerosLike);
  net.outputs.forEach((v, k) => {
    const g = outputGrads[k];
    if (!g) return;
    if (!sameShape(g, values[v]!)) throw new ZennasError('E_OPTION', `gradient of output ${k} is [${g.n}][${g.c}][${g.h}][${g.w}], the output is [${values[v]!.n}][${values[v]!.c}][${values[v]!.h}][${values[v]!.w}]`);
    addInto(gv[v]!, g);
  });
  const gw: NodeWeights[] = net.nodes.map(() => ({}));
  const o = fwd.options;
  for (let i = net.nodes.length - 1; i >= 0; i--) {
    const n = net.nodes[i]!;
    const gy = gv[i + 1]!;
    const xs = n.inputs.map((v) => values[v]!);
    const src = xs[0]!;
    const into = (k: number, d: Tensor4) => addInto(gv[n.inputs[k]!]!, d);
    const p = params(net, weights, i);
    switch (n.op) {
      case 'conv': case 'dwconv': {
        const r = convBackward(src, p.weight, gy, n.kernel, n.stride, n.op === 'dwconv', attr(n, 'dilation'));
        into(0, r.dx);
        gw[i] = { weight: r.dw };
        break;
      }
      case 'bn': {
        let r: { dx: Tensor4; dgamma: Float64Array; dbeta: Float64Array };
        if (o.bn === 'train') r = bnTrainBackward(src, p.gamma, o.bnEps, fwd.bn.filter((s) => s.opIndex === i), gy);
        else { const s = runningStats(o.bn, i, n.cout); r = bnEvalBackward(src, p.gamma, o.bnEps, s.mean, s.variance, gy); }
        into(0, r.dx);
        gw[i] = { gamma: r.dgamma, beta: r.dbeta };
        break;
      }
      case 'relu': case 'sigmoid': case 'swish': case 'hswish': case 'hsigmoid': case 'identity': case 'zero': into(0, elementwiseBackward(n.op, src, gy)); break;
      case 'maxpool': into(0, maxPoolBackward(src, gy, n.kernel, n.stride)); break;
      case 'avgpool': into(0, avgPoolBackward(src, gy, n.kernel, n.stride, attr(n, 'countIncludePad') === 1, attr(n, 'pad'))); break;
      case 'gap': into(0, gapBackward(src, gy)); break;
      case 'linear': {
        const r = linearBackward(src, p.weight, gy);
        into(0, r.dx);
        gw[i] = p.bias ? { weight: r.dw, bias: r.dbias } : { weight: r.dw };
        break;
      }
      case 'mul': {
        const r = mulBackward(src, xs[1]!, gy);
        into(0, r.dx);
        into(1, r.dgate);
        break;
      }
      case 'add': n.inputs.forEach((_, k) => into(k, gy)); break;
      case 'concat': concatBackward(xs, gy).forEach((d, k) => into(k, d)); break;
      case 'crop': into(0, cropBackward(src, gy, attr(n, 'offset'))); break;
      default: { const never: never = n.op; throw new ZennasError('E_INTERNAL', `no reference VJP for op ${String(never)}`); }
    }
  }
  return { input: gv[0]!, values: gv, weights: gw };
}
