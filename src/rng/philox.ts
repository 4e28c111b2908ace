/**
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11; Random123)
 * and the Gaussian mapping of native/DESCRIPTOR.md. The C++ engine, the CUDA kernels and the
 * Python cross-check (benchmarks/zen-score-cpu/torch_zen.py) implement the same function, so a
 * (seed, stream, repeat, element) tuple names the same number everywhere.
 */

/** Round multipliers of Philox4x32 (Random123 `PHILOX_M4x32_0/1`). */
export const PHILOX_M0 = 0xd2511f53;
export const PHILOX_M1 = 0xcd9e8d57;
/** Key schedule bumps (golden ratio, sqrt(3) − 1) (`PHILOX_W32_0/1`). */
export const PHILOX_W0 = 0x9e3779b9;
export const PHILOX_W1 = 0xbb67ae85;
/** Philox4x32-10: ten rounds. */
export const PHILOX_ROUNDS = 10;

/** Stream of the network input x (DESCRIPTOR.md "Random numbers"). */
export const STREAM_INPUT = 0x40000000;
/** Stream of the perturbation ε. */
export const STREAM_NOISE = 0x40000001;
/** Stream of the weights of op `opIndex` (0-based index in the descriptor; CONV / DWCONV / LINEAR). */
export function weightStream(opIndex: number): number {
  return opIndex + 1;
}

const TWO_POW_16 = 65536;
const TWO_POW_32 = 4294967296;

/**
 * High 32 bits of the 64-bit product of two uint32. Splitting `b` into 16-bit halves keeps
 * every partial product below 2^53, so double arithmetic is exact (BigInt is ~50× slower).
 */
function mulhi32(a: number, b: number): number {
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const p1 = a * bl; // < 2^48
  const p2 = a * bh; // < 2^48
  // a·b = 2^16·(p2 + ⌊p1/2^16⌋) + (p1 mod 2^16); the sum stays below 2^49.
  return Math.floor((p2 + Math.floor(p1 / TWO_POW_16)) / TWO_POW_16) >>> 0;
}

/** Reusable output block, so the tensor loops allocate nothing per counter. */
type Block4 = [number, number, number, number];

function philoxInto(out: Block4, c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): void {
  let x0 = c0 >>> 0, x1 = c1 >>> 0, x2 = c2 >>> 0, x3 = c3 >>> 0;
  let key0 = k0 >>> 0, key1 = k1 >>> 0;
  for (let r = 0; r < PHILOX_ROUNDS; r++) {
    if (r > 0) {
      key0 = (key0 + PHILOX_W0) >>> 0;
      key1 = (key1 + PHILOX_W1) >>> 0;
    }
    const hi0 = mulhi32(PHILOX_M0, x0);
    const lo0 = Math.imul(PHILOX_M0, x0) >>> 0;
    const hi1 = mulhi32(PHILOX_M1, x2);
    const lo1 = Math.imul(PHILOX_M1, x2) >>> 0;
    x0 = (hi1 ^ x1 ^ key0) >>> 0;
    x1 = lo1;
    x2 = (hi0 ^ x3 ^ key1) >>> 0;
    x3 = lo0;
  }
  out[0] = x0; out[1] = x1; out[2] = x2; out[3] = x3;
}

/**
 * One Philox4x32-10 block: counter (c0..c3), key (k0, k1), all uint32.
 * Returns the four uint32 outputs.
 */
export function philox4x32(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): [number, number, number, number] {
  const out: Block4 = [0, 0, 0, 0];
  philoxInto(out, c0, c1, c2, c3, k0, k1);
  return out;
}

/** Split a seed (integer in [0, 2^53)) into the Philox key (seed mod 2^32, ⌊seed / 2^32⌋). */
export function seedKey(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`seed must be an integer in [0, 2^53), got ${seed}`);
  }
  return [seed % TWO_POW_32, Math.floor(seed / TWO_POW_32)];
}

/** u(x) = (x + 0.5) / 2^32: a uniform in (0, 1), never 0 or 1, so ln u is finite. */
export function uniformOpen(x: number): number {
  return (x + 0.5) / TWO_POW_32;
}

/**
 * The `count` standard normals of one tensor: element n comes from counter
 * (⌊n/4⌋, stream, repeat, 0); lanes 0,1 are the Box–Muller pair of (x0, x1), lanes 2,3 of (x2, x3).
 * Float64 (the C++ engine rounds these to float32).
 */
export function gaussianTensor(seed: number, stream: number, repeat: number, count: number): Float64Array {
  if (!Number.isInteger(stream) || stream < 0 || stream >= TWO_POW_32) throw new RangeError(`stream must be a uint32, got ${stream}`);
  if (!Number.isInteger(repeat) || repeat < 0 || repeat >= TWO_POW_32) throw new RangeError(`repeat must be a uint32, got ${repeat}`);
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  const [k0, k1] = seedKey(seed);
  const out = new Float64Array(count);
  const blk: Block4 = [0, 0, 0, 0];
  const blocks = Math.ceil(count / 4);
  for (let j = 0; j < blocks; j++) {
    philoxInto(blk, j, stream, repeat, 0, k0, k1);
    const base = 4 * j;
    const ra = Math.sqrt(-2 * Math.log(uniformOpen(blk[0])));
    const ta = 2 * Math.PI * uniformOpen(blk[1]);
    out[base] = ra * Math.cos(ta);
    if (base + 1 < count) out[base + 1] = ra * Math.sin(ta);
    if (base + 2 < count) {
      const rb = Math.sqrt(-2 * Math.log(uniformOpen(blk[2])));
      const tb = 2 * Math.PI * uniformOpen(blk[3]);
      out[base + 2] = rb * Math.cos(tb);
      if (base + 3 < count) out[base + 3] = rb * Math.sin(tb);
    }
  }
  return out;
}

/** Philox stream of the cross-entropy labels drawn when none are given (DESCRIPTOR.md). */
export const STREAM_LABELS = 0x40000002;

/** Labels n = 0..count−1 of a repeat: floor(x · classes / 2³²), x = lane n mod 4 of Philox((n/4, STREAM_LABELS, repeat, 0)). */
export function philoxLabels(seed: number, repeat: number, count: number, classes: number): Int32Array {
  const [k0, k1] = seedKey(seed);
  const out = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const x = philox4x32(Math.floor(n / 4), STREAM_LABELS, repeat, 0, k0, k1)[n % 4]!;
    out[n] = Math.floor((x * classes) / 2 ** 32);
  }
  return out;
}
