import test from 'ava';
import fc from 'fast-check';
import { Float16Array } from '@petamoriken/float16';
import { float32ToFloat16Bits } from '../src/export/float16';

/** The polyfill's bits for the same float32 values (its conversion is the oracle). */
function oracle(f32: Float32Array): Uint16Array {
  return new Uint16Array(new Float16Array(f32).buffer);
}

test('every float32 exponent, both signs, at and around the rounding boundaries', (t) => {
  const bits: number[] = [];
  for (let exp = 0; exp < 256; exp++) {
    for (const mant of [0, 1, 0x0fff, 0x1000, 0x1001, 0x1fff, 0x2000, 0x3000, 0x7fe000, 0x7ff000, 0x7fefff, 0x7fffff]) {
      // Subnormal-half boundaries move with the shift: cover them with low mantissa bits too.
      for (const low of [0, 1 << 13, (1 << 13) - 1, 1 << 20, (1 << 20) + 1]) {
        for (const sign of [0, 0x80000000]) bits.push((sign | (exp << 23) | ((mant | low) & 0x7fffff)) >>> 0);
      }
    }
  }
  const f32 = new Float32Array(new Uint32Array(bits).buffer);
  const ours = float32ToFloat16Bits(f32), ref = oracle(f32);
  let bad = 0;
  for (let i = 0; i < f32.length; i++) {
    const nan = Number.isNaN(f32[i]!);
    if (nan ? (ours[i]! & 0x7c00) !== 0x7c00 || (ours[i]! & 0x3ff) === 0 : ours[i] !== ref[i]) bad++;
  }
  t.is(bad, 0, `${bad} of ${f32.length} values differ`);
});

test('random float32 values give the polyfill’s bits', (t) => {
  fc.assert(
    fc.property(fc.array(fc.float({ noNaN: true }), { minLength: 1, maxLength: 200 }), (xs) => {
      const f32 = Float32Array.from(xs);
      t.deepEqual(Array.from(float32ToFloat16Bits(f32)), Array.from(oracle(f32)));
    }),
    { numRuns: 200 },
  );
});

test('known values', (t) => {
  t.deepEqual(Array.from(float32ToFloat16Bits(Float32Array.from([0, -0, 1, -2, 65504, 65520, 1e-8, 5.960464477539063e-8, Infinity]))),
    [0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x7c00, 0x0000, 0x0001, 0x7c00]);
});
