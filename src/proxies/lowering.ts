/**
 * Lowering a structure the way a proxy's table entry says (src/proxies/table.ts), and the one
 * descriptor rewrite a proxy needs (BN → identity for synflow_zc).
 */
import { Structure } from '../grammar/ast';
import { ZennasError } from '../errors';
import { Graph, GraphNode } from '../ops/graph';
import { HEADER_WORDS } from '../ops/descriptor';
import { opSpec } from '../ops/schema';
import { lowerAsTrained, lowerForScoring } from '../model/lower';
import { ProxySpec } from './table';

/** Options of `lowerForProxy`. */
export interface ProxyLowerOptions {
  /** Classes of the GAP + Linear head (default 10, CIFAR-10). */
  numClasses?: number;
  /** SE modules in residual super blocks (as lowerForScoring / lowerAsTrained). */
  se?: boolean;
}

/** GAP + Linear(C, classes) with bias after the graph's output (the Zen-NAS masternet's head). */
export function appendHead(g: Graph, numClasses: number): Graph {
  const out = g.outputs[0]!;
  const c = out === 0 ? g.inputChannels : g.nodes[out - 1]!.cout;
  const nodes: GraphNode[] = [...g.nodes];
  const gap: GraphNode = { op: 'gap', inputs: [out], cin: c, cout: c, kernel: 0, stride: 0, block: -1, role: 'classifier' };
  nodes.push(gap);
  nodes.push({ op: 'linear', inputs: [nodes.length], cin: c, cout: numClasses, kernel: 0, stride: 0, bias: 1, block: -1, role: 'classifier' });
  return { inputChannels: g.inputChannels, nodes, outputs: [nodes.length] };
}

/** The graph a proxy scores: its lowering, head and BN treatment. */
export function lowerForProxy(s: Structure, spec: ProxySpec, o: ProxyLowerOptions = {}): Graph {
  const numClasses = o.numClasses ?? 10;
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > 65536) throw new ZennasError('E_OPTION', `numClasses must be an integer in [1, 65536], got ${numClasses}`);
  let g: Graph;
  if (spec.lowering === 'no-residual') {
    g = lowerForScoring(s, { se: o.se });
    if (spec.head) g = appendHead(g, numClasses);
  } else {
    const last = s.blocks[s.blocks.length - 1];
    g = lowerAsTrained(s, { se: o.se, numClasses: last?.kind === 'Linear' ? 0 : numClasses });
  }
  if (spec.bn === 'identity') g = { ...g, nodes: g.nodes.map((n) => (n.op === 'bn' ? { ...n, op: 'identity' as const } : n)) };
  return g;
}

const BN_CODE = opSpec('bn').code;
const IDENTITY_CODE = opSpec('identity').code;

/**
 * A copy of a v2 descriptor with every BN record turned into IDENTITY (both: one input, no
 * attributes, so only the opcode word changes). Malformed descriptors are returned as they are
 * (the native validation reports them).
 */
export function bnToIdentity(d: Int32Array): Int32Array {
  const out = d.slice();
  const nOps = d[2] ?? 0;
  let at = HEADER_WORDS;
  for (let i = 0; i < nOps && at + 2 < out.length; i++) {
    const nIn = out[at + 1]!, nAttr = out[at + 2]!;
    if (nIn < 0 || nAttr < 0) break;
    if (out[at] === BN_CODE) out[at] = IDENTITY_CODE;
    at += 3 + nIn + nAttr;
  }
  return out;
}
