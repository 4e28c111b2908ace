/**
 * Hand-written op lists in the slot style of descriptor v1 ([op, src, dst, aux, cin, cout, k, s],
 * slot 0 = input), encoded as descriptor v2 straight from the wire format (native/DESCRIPTOR.md),
 * independent of src/model and src/ops: the engine tests build their nets this way (`slots`, v1's
 * buffer count, is accepted and ignored: the native planner assigns buffers now).
 */
export const CONV = 1, DWCONV = 2, BN = 3, RELU = 4, MAXPOOL = 5, GAP = 6, LINEAR = 7, SIGMOID = 8, MUL = 9, ADD = 10, AVGPOOL = 11, SWISH = 12, IDENTITY = 13, ZERO = 14;
export type SlotOp = [op: number, src: number, dst: number, aux: number, cin: number, cout: number, k: number, stride: number];

/** Attributes per opcode, in schema order (the record's tail). */
function attrs(o: SlotOp): number[] {
  const [op, , , , , cout, k, s] = o;
  switch (op) {
    case CONV: return [cout, k, s];
    case DWCONV: case MAXPOOL: return [k, s];
    case AVGPOOL: return [k, s, 1];
    case LINEAR: return [cout, 0];
    default: return [];
  }
}

/** Encode: each op reads the value last written to its slot(s) and produces value i + 1. */
export function desc(ops: SlotOp[], o: { inputChannels?: number; output?: number; slots?: number } = {}): Int32Array {
  const valueIn = new Map<number, number>([[0, 0]]);
  const words: number[] = [0x5a4e4e32, 2, ops.length, o.inputChannels ?? 3, 1, 0, 0, 0];
  ops.forEach((op, i) => {
    const [code, src, dst, aux] = op;
    const inputs = [valueIn.get(src) ?? -1];
    if (code === MUL || code === ADD) inputs.push(valueIn.get(aux) ?? -1);
    const a = attrs(op);
    words.push(code, inputs.length, a.length, ...inputs, ...a);
    valueIn.set(dst, i + 1);
  });
  words.push(valueIn.get(o.output ?? 1) ?? -1);
  words[5] = words.length;
  return Int32Array.from(words);
}
