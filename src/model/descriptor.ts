import { ZennasError } from '../errors';
import { Layer, LayerList, OP_NAMES, OpName } from './layers';

/** "ZNN1" — see native/DESCRIPTOR.md. */
export const DESCRIPTOR_MAGIC = 0x5a4e4e31;
export const DESCRIPTOR_VERSION = 1;
export const HEADER_WORDS = 8;
export const OP_WORDS = 8;

/** Encode a layer list as the compact Int32Array the native engine consumes. */
export function encodeDescriptor(list: LayerList): Int32Array {
  const d = new Int32Array(HEADER_WORDS + OP_WORDS * list.layers.length);
  d.set([DESCRIPTOR_MAGIC, DESCRIPTOR_VERSION, list.layers.length, list.numSlots, list.inputChannels, list.outputSlot, 0, 0]);
  list.layers.forEach((l, i) => {
    d.set([OP_NAMES.indexOf(l.op) + 1, l.src, l.dst, l.aux, l.cin, l.cout, l.kernel, l.stride], HEADER_WORDS + OP_WORDS * i);
  });
  return d;
}

/** A decoded descriptor op (block attribution is not part of the wire format). */
export type DecodedOp = Omit<Layer, 'block' | 'role'>;

/** Decode (and structurally check) a descriptor; the inverse of encodeDescriptor. */
export function decodeDescriptor(d: Int32Array): { inputChannels: number; numSlots: number; outputSlot: number; ops: DecodedOp[] } {
  const bad = (msg: string): never => { throw new ZennasError('E_DESCRIPTOR', `invalid descriptor: ${msg}`); };
  if (!(d instanceof Int32Array)) bad('expected an Int32Array');
  if (d.length < HEADER_WORDS) bad(`too short (${d.length} words)`);
  if (d[0] !== DESCRIPTOR_MAGIC) bad('bad magic');
  if (d[1] !== DESCRIPTOR_VERSION) bad(`unsupported version ${d[1]}`);
  const n = d[2]!;
  if (n < 1 || d.length !== HEADER_WORDS + OP_WORDS * n) bad(`length ${d.length} does not match ${n} ops`);
  const ops: DecodedOp[] = [];
  for (let i = 0; i < n; i++) {
    const o = HEADER_WORDS + OP_WORDS * i;
    const op: OpName | undefined = OP_NAMES[d[o]! - 1];
    if (!op) bad(`op ${i}: unknown opcode ${d[o]}`);
    ops.push({ op: op!, src: d[o + 1]!, dst: d[o + 2]!, aux: d[o + 3]!, cin: d[o + 4]!, cout: d[o + 5]!, kernel: d[o + 6]!, stride: d[o + 7]! });
  }
  return { inputChannels: d[4]!, numSlots: d[3]!, outputSlot: d[5]!, ops };
}
