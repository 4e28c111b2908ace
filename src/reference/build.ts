/**
 * Small graphs written by hand (tests, examples): `buildGraph` fills in what follows from the
 * inputs (cin, and cout of ops without a cout attribute) so a test lists only what it means.
 */
import { Graph, GraphNode } from '../ops/graph';
import { OpName, opSpec } from '../ops/schema';

/** One node of `buildGraph`: op, input value ids, and the attributes the op has. */
export interface NodeSpec {
  op: OpName;
  /** Value ids (0 = input, i + 1 = node i). */
  inputs: number[];
  cout?: number;
  kernel?: number;
  stride?: number;
  bias?: number;
  countIncludePad?: number;
  /** AVGPOOL: explicit padding (absent: (k−1)/2). */
  pad?: number;
  /** DWCONV: dilation (absent: 1). */
  dilation?: number;
  /** CROP: rows / columns dropped at the top and left. */
  offset?: number;
  /** CROP: 1 = zero-filled back to H×W. */
  fill?: number;
}

/**
 * A graph from node specs: cin = channels of input 0; cout defaults to cin for ops without a
 * cout attribute; kernel / stride default to 0 (ops without them) — set them where the op has them.
 * Outputs default to the last node's value. Not validated here (`inferGraph` does that).
 */
export function buildGraph(inputChannels: number, specs: readonly NodeSpec[], outputs: number[] = [specs.length]): Graph {
  const channels = [inputChannels];
  const nodes = specs.map((s): GraphNode => {
    const cin = channels[s.inputs[0]!] ?? 0;
    const hasCout = opSpec(s.op).attrs.some((a) => a.name === 'cout');
    const derived = opSpec(s.op).shape === 'concat' ? s.inputs.reduce((a, v) => a + (channels[v] ?? 0), 0) : cin;  // CONCAT: Σ input channels
    const n: GraphNode = { op: s.op, inputs: [...s.inputs], cin, cout: hasCout ? s.cout ?? 0 : derived, kernel: s.kernel ?? 0, stride: s.stride ?? 0, block: 0, role: 'main' };
    if (s.bias !== undefined) n.bias = s.bias;
    if (s.countIncludePad !== undefined) n.countIncludePad = s.countIncludePad;
    if (s.pad !== undefined) n.pad = s.pad;
    if (s.dilation !== undefined) n.dilation = s.dilation;
    if (s.offset !== undefined) n.offset = s.offset;
    if (s.fill !== undefined) n.fill = s.fill;
    channels.push(n.cout);
    return n;
  });
  return { inputChannels, nodes, outputs };
}
