import test from 'ava';
import fc from 'fast-check';
import {
  philox4x32, gaussianTensor, seedKey, uniformOpen, weightStream,
  STREAM_INPUT, STREAM_NOISE, PHILOX_M0, PHILOX_M1,
} from '../src/rng/philox';

const hex = (a: number[]) => a.map((x) => x.toString(16).padStart(8, '0')).join(' ');

// Known-answer vectors of Random123 (kat_vectors, philox4x32 10 rounds).
test('Philox4x32-10 known answer: ctr=0, key=0', (t) => {
  t.is(hex(philox4x32(0, 0, 0, 0, 0, 0)), '6627e8d5 e169c58d bc57ac4c 9b00dbd8');
});

test('Philox4x32-10 known answer: all ones', (t) => {
  const F = 0xffffffff;
  t.is(hex(philox4x32(F, F, F, F, F, F)), '408f276d 41c83b0e a20bc7c6 6d5451fd');
});

test('Philox4x32-10 known answer: pi digits', (t) => {
  t.is(hex(philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0)),
    'd16cfe09 94fdcceb 5001e420 24126ea1');
});

// A BigInt transcription of the Random123 round, as an independent check of the 16-bit mulhi split.
function philoxBig(c: number[], k: number[]): number[] {
  const M = [BigInt(PHILOX_M0), BigInt(PHILOX_M1)];
  const W = [0x9e3779b9n, 0xbb67ae85n];
  const mask = 0xffffffffn;
  let x = c.map(BigInt);
  let key = k.map(BigInt);
  for (let r = 0; r < 10; r++) {
    if (r > 0) key = [(key[0]! + W[0]!) & mask, (key[1]! + W[1]!) & mask];
    const p0 = M[0]! * x[0]!;
    const p1 = M[1]! * x[2]!;
    x = [((p1 >> 32n) ^ x[1]! ^ key[0]!) & mask, p1 & mask, ((p0 >> 32n) ^ x[3]! ^ key[1]!) & mask, p0 & mask];
  }
  return x.map(Number);
}

test('Philox4x32-10 equals a BigInt transcription on random counters and keys', (t) => {
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  fc.assert(fc.property(fc.array(u32, { minLength: 6, maxLength: 6 }), (v) => {
    const a = philox4x32(v[0]!, v[1]!, v[2]!, v[3]!, v[4]!, v[5]!);
    const b = philoxBig(v.slice(0, 4), v.slice(4));
    return a.every((x, i) => x === b[i]);
  }), { numRuns: 500 });
  t.pass();
});

test('stream ids follow DESCRIPTOR.md', (t) => {
  t.is(weightStream(0), 1);
  t.is(weightStream(41), 42);
  t.is(STREAM_INPUT, 0x40000000);
  t.is(STREAM_NOISE, 0x40000001);
});

test('seed → key split: (seed mod 2^32, ⌊seed/2^32⌋)', (t) => {
  t.deepEqual(seedKey(0), [0, 0]);
  t.deepEqual(seedKey(0xffffffff), [0xffffffff, 0]);
  t.deepEqual(seedKey(2 ** 32 + 7), [7, 1]);
  t.deepEqual(seedKey(2 ** 53 - 1), [0xffffffff, 2 ** 21 - 1]);
  t.throws(() => seedKey(-1), { instanceOf: RangeError });
  t.throws(() => seedKey(1.5), { instanceOf: RangeError });
  t.throws(() => seedKey(2 ** 53), { instanceOf: RangeError });
});

test('gaussianTensor maps each counter by Box–Muller exactly as DESCRIPTOR.md says', (t) => {
  const seed = 2 ** 32 * 3 + 12345;
  const g = gaussianTensor(seed, 7, 2, 10);
  for (let j = 0; j < 3; j++) {
    const [x0, x1, x2, x3] = philox4x32(j, 7, 2, 0, 12345, 3);
    const ra = Math.sqrt(-2 * Math.log((x0 + 0.5) / 2 ** 32));
    const rb = Math.sqrt(-2 * Math.log((x2 + 0.5) / 2 ** 32));
    const ta = 2 * Math.PI * (x1 + 0.5) / 2 ** 32;
    const tb = 2 * Math.PI * (x3 + 0.5) / 2 ** 32;
    const want = [ra * Math.cos(ta), ra * Math.sin(ta), rb * Math.cos(tb), rb * Math.sin(tb)];
    for (let l = 0; l < 4 && 4 * j + l < 10; l++) t.true(Math.abs(g[4 * j + l]! - want[l]!) < 1e-15);
  }
  // ctr=0, key=0 first normal, computed from the known-answer block 6627e8d5 e169c58d.
  const g0 = gaussianTensor(0, 0, 0, 2);
  const r = Math.sqrt(-2 * Math.log((0x6627e8d5 + 0.5) / 2 ** 32));
  const th = 2 * Math.PI * (0xe169c58d + 0.5) / 2 ** 32;
  t.is(g0[0], r * Math.cos(th));
  t.is(g0[1], r * Math.sin(th));
});

test('uniformOpen stays strictly inside (0, 1)', (t) => {
  t.true(uniformOpen(0) > 0);
  t.true(uniformOpen(0xffffffff) < 1);
  t.true(Number.isFinite(Math.log(uniformOpen(0))));
});

test('determinism: same (seed, stream, repeat) → same tensor; prefixes agree whatever the count', (t) => {
  const a = gaussianTensor(42, 3, 1, 1001);
  const b = gaussianTensor(42, 3, 1, 1001);
  t.deepEqual(a, b);
  const c = gaussianTensor(42, 3, 1, 7);
  t.deepEqual(Array.from(c), Array.from(a.subarray(0, 7)));
  t.notDeepEqual(Array.from(gaussianTensor(42, 4, 1, 8)), Array.from(a.subarray(0, 8)));
  t.notDeepEqual(Array.from(gaussianTensor(42, 3, 2, 8)), Array.from(a.subarray(0, 8)));
  t.notDeepEqual(Array.from(gaussianTensor(43, 3, 1, 8)), Array.from(a.subarray(0, 8)));
  t.is(gaussianTensor(1, 1, 0, 0).length, 0);
});

test('normals: mean ≈ 0, variance ≈ 1, kurtosis ≈ 3, tail mass at |z| > 2 ≈ 4.55 %', (t) => {
  const n = 1 << 20;
  const g = gaussianTensor(2024, STREAM_INPUT, 0, n);
  let s1 = 0, s2 = 0, s4 = 0, tail = 0;
  for (const v of g) { s1 += v; s2 += v * v; s4 += v ** 4; if (Math.abs(v) > 2) tail++; }
  const mean = s1 / n, m2 = s2 / n - mean * mean, kurt = s4 / n / (m2 * m2);
  // standard errors: mean 1/√n ≈ 1e-3, variance √(2/n) ≈ 1.4e-3, kurtosis √(24/n) ≈ 4.8e-3
  t.true(Math.abs(mean) < 5e-3, `mean ${mean}`);
  t.true(Math.abs(m2 - 1) < 7e-3, `var ${m2}`);
  t.true(Math.abs(kurt - 3) < 0.03, `kurtosis ${kurt}`);
  t.true(Math.abs(tail / n - 0.0455) < 1.5e-3, `tail ${tail / n}`);
});

test('normals: no correlation between the four lanes of a block, nor between neighbouring blocks', (t) => {
  const n = 1 << 20;
  const g = gaussianTensor(7, STREAM_NOISE, 3, n);
  const corr = (off: number, a: number, step: number) => {
    let sxy = 0, sx = 0, sy = 0, sxx = 0, syy = 0, m = 0;
    for (let i = a; i + off < n; i += step) {
      const x = g[i]!, y = g[i + off]!;
      sxy += x * y; sx += x; sy += y; sxx += x * x; syy += y * y; m++;
    }
    const cov = sxy / m - (sx / m) * (sy / m);
    return { r: cov / Math.sqrt((sxx / m - (sx / m) ** 2) * (syy / m - (sy / m) ** 2)), m };
  };
  // lane pairs inside a block (0-1 share the Box–Muller radius: uncorrelated, as cos/sin are)
  for (const [a, off] of [[0, 1], [0, 2], [0, 3], [1, 2], [2, 3], [1, 3]] as const) {
    const { r, m } = corr(off, a, 4);
    t.true(Math.abs(r) < 5 / Math.sqrt(m), `lanes ${a},${a + off}: r=${r}`);
  }
  // same lane, consecutive counters
  const { r, m } = corr(4, 0, 1);
  t.true(Math.abs(r) < 5 / Math.sqrt(m), `lag 4: r=${r}`);
  // squares of the radius-sharing lanes: x0²+x1² = r² is χ²₂, x0² and x1² are independent for Box–Muller
  let sa = 0, sb = 0, sab = 0;
  for (let i = 0; i < n; i += 4) { const a = g[i]! ** 2, b = g[i + 1]! ** 2; sa += a; sb += b; sab += a * b; }
  const q = n / 4;
  const covSq = sab / q - (sa / q) * (sb / q);
  t.true(Math.abs(covSq) < 5 * 2 / Math.sqrt(q), `cov(x0², x1²) = ${covSq}`);
});

test('different streams and repeats are uncorrelated', (t) => {
  const n = 1 << 18;
  const a = gaussianTensor(5, weightStream(0), 0, n);
  const b = gaussianTensor(5, weightStream(1), 0, n);
  const c = gaussianTensor(5, weightStream(0), 1, n);
  const dot = (x: Float64Array, y: Float64Array) => { let s = 0; for (let i = 0; i < n; i++) s += x[i]! * y[i]!; return s / n; };
  t.true(Math.abs(dot(a, b)) < 5 / Math.sqrt(n));
  t.true(Math.abs(dot(a, c)) < 5 / Math.sqrt(n));
});

test('gaussianTensor rejects bad arguments', (t) => {
  t.throws(() => gaussianTensor(1, -1, 0, 4), { instanceOf: RangeError });
  t.throws(() => gaussianTensor(1, 2 ** 32, 0, 4), { instanceOf: RangeError });
  t.throws(() => gaussianTensor(1, 0, 0.5, 4), { instanceOf: RangeError });
  t.throws(() => gaussianTensor(1, 0, 0, -1), { instanceOf: RangeError });
});
