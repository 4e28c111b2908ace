/**
 * Random valid descriptor-v2 graphs over every schema op (native/DESCRIPTOR.md), encoded straight
 * from the wire format (independent of src/model and src/ops), and tampered copies of them.
 */
import fc from 'fast-check';

export const OP = { CONV: 1, DWCONV: 2, BN: 3, RELU: 4, MAXPOOL: 5, GAP: 6, LINEAR: 7, SIGMOID: 8, MUL: 9, ADD: 10, AVGPOOL: 11, SWISH: 12, IDENTITY: 13, ZERO: 14 } as const;
export const ALL_OPS = Object.values(OP);

export interface Graph {
  /** The encoded descriptor. */
  d: Int32Array;
  /** Resolution the shapes were planned for (LINEAR needs [C][1][1] at this resolution). */
  resolution: number;
  /** Opcodes used, for coverage. */
  ops: number[];
}

interface Value { c: number; h: number }

/** One generation step: which op, and random draws it may use. */
const arbStep = fc.record({
  op: fc.constantFrom(...ALL_OPS),
  a: fc.nat(1 << 20), b: fc.nat(1 << 20),
  cout: fc.integer({ min: 1, max: 12 }),
  k: fc.constantFrom(1, 3, 5, 7),
  s: fc.constantFrom(1, 1, 2, 3),
  flag: fc.boolean(),
  n: fc.integer({ min: 2, max: 4 }),
});

/** A random valid graph: 1..maxOps ops (macro steps add GAP before LINEAR / MUL gates), 1..2 outputs. */
export function arbGraph(maxOps = 14) {
  return fc
    .record({
      inC: fc.integer({ min: 1, max: 4 }),
      resolution: fc.integer({ min: 1, max: 12 }),
      steps: fc.array(arbStep, { minLength: 1, maxLength: maxOps }),
      out: fc.nat(1 << 20),
      twoOutputs: fc.boolean(),
    })
    .map(({ inC, resolution, steps, out, twoOutputs }): Graph => {
      const values: Value[] = [{ c: inC, h: resolution }];
      const words: number[] = [];
      const used: number[] = [];
      let nOps = 0;
      const emit = (op: number, inputs: number[], attrs: number[], v: Value): number => {
        words.push(op, inputs.length, attrs.length, ...inputs, ...attrs);
        values.push(v);
        used.push(op);
        nOps++;
        return values.length - 1;
      };
      const pool = (k: number, s: number, h: number) => Math.floor((h - 1) / s) + 1; // pad (k-1)/2, k odd
      for (const st of steps) {
        const x = st.a % values.length, xv = values[x]!;
        switch (st.op) {
          case OP.CONV: emit(OP.CONV, [x], [st.cout, st.k, st.s], { c: st.cout, h: pool(st.k, st.s, xv.h) }); break;
          case OP.DWCONV: emit(OP.DWCONV, [x], [st.k, st.s], { c: xv.c, h: pool(st.k, st.s, xv.h) }); break;
          case OP.MAXPOOL: emit(OP.MAXPOOL, [x], [st.k, st.s], { c: xv.c, h: pool(st.k, st.s, xv.h) }); break;
          case OP.AVGPOOL: emit(OP.AVGPOOL, [x], [st.k, st.s, st.flag ? 1 : 0], { c: xv.c, h: pool(st.k, st.s, xv.h) }); break;
          case OP.GAP: emit(OP.GAP, [x], [], { c: xv.c, h: 1 }); break;
          case OP.LINEAR: {
            const src = xv.h === 1 ? x : emit(OP.GAP, [x], [], { c: xv.c, h: 1 });
            emit(OP.LINEAR, [src], [st.cout, st.flag ? 1 : 0], { c: st.cout, h: 1 });
            break;
          }
          case OP.MUL: {
            let gate = values.findIndex((v, i) => i !== 0 && v.h === 1 && v.c === xv.c && i !== x);
            if (gate < 0 || st.flag) gate = emit(OP.SIGMOID, [emit(OP.GAP, [x], [], { c: xv.c, h: 1 })], [], { c: xv.c, h: 1 });
            emit(OP.MUL, [x, gate], [], { ...xv });
            break;
          }
          case OP.ADD: {
            const same = values.map((v, i) => [v, i] as const).filter(([v]) => v.c === xv.c && v.h === xv.h).map(([, i]) => i);
            const inputs = Array.from({ length: st.n }, (_, j) => same[(st.b + j * 7919) % same.length]!);
            emit(OP.ADD, inputs, [], { ...xv });
            break;
          }
          default: emit(st.op, [x], [], { ...xv }); // BN RELU SIGMOID SWISH IDENTITY ZERO
        }
      }
      const o0 = 1 + (out % nOps);
      const outputs = twoOutputs && nOps > 1 ? [o0, 1 + ((out >> 3) % nOps)] : [o0];
      const all = [0x5a4e4e32, 2, nOps, inC, outputs.length, 0, 0, 0, ...words, ...outputs];
      all[5] = all.length;
      return { d: Int32Array.from(all), resolution, ops: used };
    });
}

/** Words a tamper writes: small values, boundaries, extremes. */
const arbWord = fc.oneof(
  fc.integer({ min: -3, max: 20 }),
  fc.constantFrom(0, 1, 2, 7, 15, 16, 17, 64, 65, 1024, 65536, 65537, 1 << 20, (1 << 20) + 1, 0x7fffffff, -0x80000000, -1, 0x5a4e4e32),
  fc.integer({ min: -0x80000000, max: 0x7fffffff }),
);

/** A tamper of a valid descriptor: word flips, truncations, extensions, length word kept consistent or not. */
const rarely = <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: a });
export const arbTamper = fc.record({
  flips: fc.array(fc.tuple(fc.nat(), arbWord, fc.boolean()), { minLength: 0, maxLength: 3 }),
  cut: rarely(fc.nat()),
  extend: rarely(fc.array(arbWord, { minLength: 1, maxLength: 12 })),
  fixLength: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
});

export type Tamper = typeof arbTamper extends fc.Arbitrary<infer T> ? T : never;

/** Applies a tamper; the header's length word is set to the new length when `fixLength` (so later checks are reached). */
export function tamper(d: Int32Array, t: Tamper): Int32Array {
  let w = Array.from(d);
  for (const [at, v, header] of t.flips) {
    if (w.length === 0) break;
    const i = header ? at % Math.min(8, w.length) : at % w.length;
    w[i] = v;
  }
  if (t.cut !== null) w = w.slice(0, t.cut % (w.length + 1));
  if (t.extend !== null) w = w.concat(t.extend);
  if (t.fixLength && w.length > 5) w[5] = w.length;
  return Int32Array.from(w);
}
