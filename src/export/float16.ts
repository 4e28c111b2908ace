/**
 * float32 → IEEE 754 binary16 bits, round to nearest even (overflow → ±inf, NaN kept NaN).
 * Hand-written because exports convert 100M+ weights: a typed-array loop runs ~100× faster than
 * the per-element paths of general-purpose polyfills. test/float16.test.ts checks it against
 * @petamoriken/float16 on every exponent and the rounding boundaries.
 */
export function float32ToFloat16Bits(f32: Float32Array): Uint16Array {
  const u = new Uint32Array(f32.buffer, f32.byteOffset, f32.length);
  const out = new Uint16Array(f32.length);
  for (let i = 0; i < u.length; i++) {
    const x = u[i]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    const mant = x & 0x7fffff;
    if (exp === 0xff) { out[i] = sign | 0x7c00 | (mant ? 0x200 : 0); continue; } // inf, NaN
    const e = exp - 112; // rebias 127 → 15
    if (e >= 0x1f) { out[i] = sign | 0x7c00; continue; } // too large: inf
    if (e <= 0) {
      // Subnormal half (or zero): shift the full significand, then round.
      if (e < -10) { out[i] = sign; continue; }
      const m = mant | 0x800000;
      const shift = 14 - e; // 14..24
      let h = m >>> shift;
      const rem = m & ((1 << shift) - 1), half = 1 << (shift - 1);
      if (rem > half || (rem === half && (h & 1) !== 0)) h++;
      out[i] = sign | h;
      continue;
    }
    let h = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++; // a carry into the exponent is correct (up to inf)
    out[i] = sign | h;
  }
  return out;
}
