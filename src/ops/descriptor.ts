/**
 * Descriptor v2: a graph encoded as one Int32Array for the native engine (native/DESCRIPTOR.md).
 *
 *   header  [magic "ZNN2", version 2, nOps, inputChannels, nOutputs, totalWords, 0, 0]
 *   op i    [opcode, nInputs, nAttrs, input value ids…, attributes in schema order…]
 *   outputs [value id…] (nOutputs)
 *
 * Value 0 is the network input, op i produces value i + 1. No buffers are chosen here: the native
 * planner assigns them (liveness, in place) and keeps what a backward pass needs when one is asked.
 */
import { ZennasError } from '../errors';
import { Graph, GraphNode, attrValue } from './graph';
import { opSpec, opSpecByCode, OpName } from './schema';

/** "ZNN2". */
export const DESCRIPTOR_MAGIC = 0x5a4e4e32;
/** The descriptor format version the engine reads (2). */
export const DESCRIPTOR_VERSION = 2;
export const HEADER_WORDS = 8;
/** Header word 6, bit 0: the descriptor is a scoring view (Graph.view), not the network as trained. */
export const FLAG_SCORING_VIEW = 1;

/** True when `d` is a scoring view (lowerForScoring's), which exports and latency refuse by default. */
export function isScoringView(d: Int32Array): boolean {
  return d.length >= HEADER_WORDS && (d[6]! & FLAG_SCORING_VIEW) !== 0;
}

/**
 * E_OPTION unless `d` is the network as trained (or `allow`): exporting or timing the Zen-score's
 * view of a structure measures a network without its residual links and classifier.
 */
export function checkTrainedView(d: Int32Array, what: string, allow: boolean | undefined): void {
  if (isScoringView(d) && !allow) {
    throw new ZennasError('E_OPTION', `${what}: the descriptor is the Zen-score's scoring view (lowerForScoring: no residual links, no classifier), not the network as trained; use encodeDescriptor(lowerAsTrained(structure, { numClasses })) — or pass scoringView: true if that is really what you want`);
  }
}

/** Encode a graph (not validated here: the engine validates every descriptor it receives). */
export function encodeDescriptor(g: Graph): Int32Array {
  const words: number[] = [DESCRIPTOR_MAGIC, DESCRIPTOR_VERSION, g.nodes.length, g.inputChannels, g.outputs.length, 0, 0, 0];
  for (const n of g.nodes) {
    const spec = opSpec(n.op);
    // Optional trailing attributes (AVGPOOL's pad) are written only when the node sets them, so a
    // graph without them encodes to the words it always did.
    let nAttr = spec.attrs.length;
    while (nAttr > 0 && spec.attrs[nAttr - 1]!.optional && (n as unknown as Record<string, unknown>)[spec.attrs[nAttr - 1]!.name] === undefined) nAttr--;
    words.push(spec.code, n.inputs.length, nAttr, ...n.inputs, ...spec.attrs.slice(0, nAttr).map((a) => attrValue(n, a.name)));
  }
  words.push(...g.outputs);
  words[5] = words.length;
  if (g.view === 'scoring') words[6] = FLAG_SCORING_VIEW;
  return Int32Array.from(words);
}

/** A decoded op: the wire fields (block attribution is not part of the format). */
export type DecodedNode = Omit<GraphNode, 'block' | 'role'>;

/** Decode the wire format (structure only; `inferGraph` checks the rules). */
export function decodeDescriptor(d: Int32Array): { inputChannels: number; nodes: DecodedNode[]; outputs: number[]; view?: 'scoring' } {
  const bad = (msg: string): never => { throw new ZennasError('E_DESCRIPTOR', `invalid descriptor: ${msg}`); };
  if (!(d instanceof Int32Array)) bad('expected an Int32Array');
  if (d.length < HEADER_WORDS) bad(`too short (${d.length} words)`);
  if (d[0] !== DESCRIPTOR_MAGIC) bad(d[0] === 0x5a4e4e31 ? 'descriptor v1 (ZNN1) is no longer accepted: re-encode with encodeDescriptor' : 'bad magic');
  if (d[1] !== DESCRIPTOR_VERSION) bad(`unsupported version ${d[1]}`);
  const nOps = d[2]!, nOut = d[4]!;
  if (nOps < 1 || nOps > 1 << 20) bad(`op count ${nOps} out of range 1..${1 << 20}`);
  if (d[5] !== d.length) bad(`header says ${d[5]} words, the array has ${d.length}`);
  if ((d[6]! & ~FLAG_SCORING_VIEW) !== 0 || d[7] !== 0) bad('header word 6 (flags) may only have bit 0 set and word 7 (reserved) must be 0');
  let at = HEADER_WORDS;
  const word = (): number => { if (at >= d.length) bad('truncated'); return d[at++]!; };
  const nodes: DecodedNode[] = [];
  const channels: number[] = [d[3]!];
  for (let i = 0; i < nOps; i++) {
    const code = word();
    const spec = opSpecByCode(code);
    if (!spec) bad(`op ${i}: unknown opcode ${code}`);
    const nIn = word(), nAttr = word();
    if (nIn < 1 || nIn > 64) bad(`op ${i}: ${nIn} inputs`);
    const required = spec!.attrs.filter((a) => !a.optional).length;
    if (nAttr < required || nAttr > spec!.attrs.length) {
      bad(`op ${i} (${spec!.name}): ${nAttr} attributes, the schema has ${required === spec!.attrs.length ? required : `${required}..${spec!.attrs.length}`}`);
    }
    const inputs = Array.from({ length: nIn }, word);
    const n: DecodedNode = { op: spec!.name as OpName, inputs, cin: 0, cout: 0, kernel: 0, stride: 0 };
    for (const a of spec!.attrs.slice(0, nAttr)) (n as unknown as Record<string, number>)[a.name] = word();
    const src = inputs[0]!;
    n.cin = src >= 0 && src < channels.length ? channels[src]! : 0;
    if (spec!.shape === 'concat') n.cout = inputs.reduce((a, v) => a + (v >= 0 && v < channels.length ? channels[v]! : 0), 0);
    else if (!spec!.attrs.some((a) => a.name === 'cout')) n.cout = n.cin;
    channels.push(n.cout);
    nodes.push(n);
  }
  if (nOut < 1 || at + nOut !== d.length) bad(`${nOut} outputs do not fill the remaining ${d.length - at} words`);
  const outputs = Array.from({ length: nOut }, word);
  return { inputChannels: d[3]!, nodes, outputs, ...(isScoringView(d) ? { view: 'scoring' as const } : {}) };
}
