/**
 * The model graph (SSA: one value per op) and its one TypeScript validator, both driven by the op
 * schema. Value 0 is the network input; op i produces value i + 1. The native engine validates the
 * encoded graph again with the same rules (native/common/graph.cc, from the generated schema).
 */
import { ZennasError } from '../errors';
import { AttrName, OpName, OpSpec, convOutSize, opSpec, windowExtent, windowPad } from './schema';

/** Why a node exists; lets counting and reports attribute it. */
export type NodeRole = 'main' | 'shortcut' | 'se' | 'classifier';

/** One op of a graph. Attributes an op does not have are 0. */
export interface GraphNode {
  op: OpName;
  /** Value ids read (0 = network input, i + 1 = output of node i); earlier values only. */
  inputs: number[];
  /** Channels of input 0 (derived, kept for counting and exports). */
  cin: number;
  /** Output channels. */
  cout: number;
  kernel: number;
  stride: number;
  /** LINEAR: 1 = with bias. */
  bias?: number;
  /** AVGPOOL: 1 = padding zeros count in the mean (PyTorch's default). */
  countIncludePad?: number;
  /** AVGPOOL: explicit padding (0 ≤ pad ≤ k/2); absent = (k−1)/2 and the record omits it. */
  pad?: number;
  /** DWCONV: dilation d (taps d apart, pad d·(k−1)/2); absent = 1 and the record omits it. */
  dilation?: number;
  /** CROP: rows and columns dropped at the top and left. */
  offset?: number;
  /** CROP: 1 = zero-filled back to the input's H×W (absent: 0, the record omits it). */
  fill?: number;
  /** Index of the structure block this node came from; -1 for the classifier head. */
  block: number;
  role: NodeRole;
}

/** A lowered model. */
export interface Graph {
  inputChannels: number;
  nodes: GraphNode[];
  /** Value ids of the outputs; outputs[0] is what proxies read (pre-GAP feature map or logits). */
  outputs: number[];
  /**
   * 'scoring': the Zen-score's view of a structure (lowerForScoring: no residual links, no head),
   * not the network as trained. Carried into the descriptor (header flag), so exports and latency
   * refuse it unless asked for it explicitly. Absent: the network itself.
   */
  view?: 'scoring';
}

/** Per-image shape [C][H][W] of a value. */
export interface ValueShape { c: number; h: number; w: number }

/** Input/output shapes of a node at a given resolution. */
export interface NodeShape { cin: number; hin: number; win: number; cout: number; hout: number; wout: number }

/** The value of attribute `name` on node `n` (its default when unset: pad (k−1)/2, else the schema's or 0). */
export function attrValue(n: GraphNode, name: AttrName): number {
  if (name === 'pad') return windowPad(n);
  if (name === 'dilation') return n.dilation ?? 1;  // 1 for every op without the attribute
  const spec = opSpec(n.op).attrs.find((a) => a.name === name);
  const v = (n as unknown as Record<string, number | undefined>)[name];
  return v ?? spec?.default ?? 0;
}

function fail(code: 'E_DESCRIPTOR' | 'E_STRUCTURE', msg: string): never {
  throw new ZennasError(code, code === 'E_DESCRIPTOR' ? `invalid descriptor: ${msg}` : msg);
}

/**
 * Check a graph against the schema and infer every value's shape at `resolution` (square input).
 * Errors name the node and the rule: E_DESCRIPTOR for a malformed graph, E_STRUCTURE for shapes
 * that do not fit (e.g. LINEAR on a 7×7 map). Mode 'structure' checks the graph alone: every
 * spatial size is 1, so only resolution-independent rules can fail.
 */
export function inferGraph(g: Graph, resolution: number, mode: 'shapes' | 'structure' = 'shapes'): { values: ValueShape[]; nodes: NodeShape[] } {
  if (!Number.isInteger(g.inputChannels) || g.inputChannels < 1 || g.inputChannels > 65536) fail('E_DESCRIPTOR', `input channels ${g.inputChannels} out of range 1..65536`);
  if (g.nodes.length < 1) fail('E_DESCRIPTOR', 'the graph has no ops');
  const values: ValueShape[] = [{ c: g.inputChannels, h: resolution, w: resolution }];
  const nodes: NodeShape[] = [];
  g.nodes.forEach((n, i) => {
    const where = `op ${i} (${n.op})`;
    const spec: OpSpec | undefined = opSpec(n.op);
    if (!spec) fail('E_DESCRIPTOR', `${where}: unknown op`);
    const [lo, hi] = spec.inputs;
    if (n.inputs.length < lo || n.inputs.length > hi) fail('E_DESCRIPTOR', `${where}: ${n.inputs.length} inputs, expected ${lo === hi ? lo : `${lo}..${hi}`}`);
    for (const v of n.inputs) if (!Number.isInteger(v) || v < 0 || v > i) fail('E_DESCRIPTOR', `${where}: input value ${v} is not produced before it`);
    const hasPad = n.pad !== undefined && spec.attrs.some((a) => a.name === 'pad');
    for (const a of spec.attrs) {
      if (a.optional && (n as unknown as Record<string, unknown>)[a.name] === undefined) continue;
      const v = attrValue(n, a.name);
      const odd = a.odd || (a.oddUnlessPad && !hasPad);
      if (!Number.isInteger(v) || v < a.min || v > a.max || (odd && v % 2 === 0))
        fail('E_DESCRIPTOR', `${where}: ${a.name} ${v} out of range ${a.min}..${a.max}${odd ? (a.oddUnlessPad ? ' (odd unless pad is given)' : ' (odd)') : ''}`);
    }
    if (hasPad && 2 * n.pad! > n.kernel) fail('E_DESCRIPTOR', `${where}: pad ${n.pad} is more than half of kernel ${n.kernel} (PyTorch's rule)`);
    const x = values[n.inputs[0]!]!;
    if (n.cin !== x.c) fail('E_DESCRIPTOR', `${where}: cin ${n.cin} but its input has ${x.c} channels`);
    let out: ValueShape;
    switch (spec.shape) {
      case 'same': out = { ...x }; break;
      case 'window': {
        const p = windowPad(n);
        // 'structure': every map is 1×1 (no resolution-dependent E_STRUCTURE; a padded even window may not fit 1×1).
        const e = windowExtent(n);
        const h = mode === 'structure' ? 1 : convOutSize(x.h, e, n.stride, p), w = mode === 'structure' ? 1 : convOutSize(x.w, e, n.stride, p);
        if (h < 1 || w < 1) fail('E_STRUCTURE', `${where}: a ${x.h}×${x.w} input is too small for kernel ${n.kernel} stride ${n.stride}${n.pad !== undefined ? ` pad ${n.pad}` : ''}`);
        out = { c: spec.attrs.some((a) => a.name === 'cout') ? n.cout : x.c, h, w };
        break;
      }
      case 'global': out = { c: x.c, h: 1, w: 1 }; break;
      case 'linear':
        if (x.h !== 1 || x.w !== 1) fail('E_STRUCTURE', `${where} needs a 1×1 input but gets ${x.h}×${x.w}: add AdaptiveAvgPool before Linear`);
        out = { c: n.cout, h: 1, w: 1 };
        break;
      case 'gate': {
        const gt = values[n.inputs[1]!]!;
        if (gt.c !== x.c || gt.h !== 1 || gt.w !== 1) fail('E_DESCRIPTOR', `${where}: the gate must be [${x.c}][1][1], got [${gt.c}][${gt.h}][${gt.w}]`);
        out = { ...x };
        break;
      }
      case 'elementwise':
        for (const v of n.inputs) {
          const s = values[v]!;
          if (s.c !== x.c || s.h !== x.h || s.w !== x.w) fail('E_DESCRIPTOR', `${where}: inputs differ in shape ([${x.c}][${x.h}][${x.w}] vs [${s.c}][${s.h}][${s.w}])`);
        }
        out = { ...x };
        break;
      case 'concat': {
        let c = 0;
        for (const v of n.inputs) {
          const s = values[v]!;
          if (s.h !== x.h || s.w !== x.w) fail('E_DESCRIPTOR', `${where}: inputs differ in H×W ([${x.c}][${x.h}][${x.w}] vs [${s.c}][${s.h}][${s.w}])`);
          c += s.c;
        }
        if (c > 65536) fail('E_DESCRIPTOR', `${where}: ${c} output channels (at most 65536)`);
        out = { c, h: x.h, w: x.w };
        break;
      }
      case 'crop': {
        const o = attrValue(n, 'offset');
        if (mode === 'structure') { out = { ...x }; break; }
        if (x.h <= o || x.w <= o) fail('E_STRUCTURE', `${where}: a ${x.h}×${x.w} input is too small for offset ${o}`);
        out = attrValue(n, 'fill') === 1 ? { ...x } : { c: x.c, h: x.h - o, w: x.w - o };
        break;
      }
    }
    if (n.cout !== out.c) fail('E_DESCRIPTOR', `${where}: cout ${n.cout} but the op produces ${out.c} channels`);
    values.push(out);
    nodes.push({ cin: x.c, hin: x.h, win: x.w, cout: out.c, hout: out.h, wout: out.w });
  });
  if (g.outputs.length < 1) fail('E_DESCRIPTOR', 'the graph has no outputs');
  for (const v of g.outputs) if (!Number.isInteger(v) || v < 1 || v > g.nodes.length) fail('E_DESCRIPTOR', `output value ${v} is not produced by an op`);
  return { values, nodes };
}
