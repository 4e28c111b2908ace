/**
 * The search's PRNG: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, as in
 * PractRand), seeded through splitmix32. Its whole state is four uint32 words, so a checkpoint
 * can store and restore it exactly. (The engine's weights/inputs use Philox, ./philox; this one
 * only drives mutation and parent choice.) It lives here, not in src/search, so that search
 * spaces (whose mutate hooks draw from it) and the search loop both depend on it without
 * depending on each other.
 */

/** Serializable state of an Sfc32 generator. */
export type PrngState = [number, number, number, number];

function splitmix32(x: number): [number, number] {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [x, (z ^ (z >>> 16)) >>> 0];
}

/** sfc32 generator with exact, serializable state. */
export class Sfc32 {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Seed from any non-negative safe integer (both 32-bit halves are used). */
  constructor(seed: number | PrngState = 0) {
    if (Array.isArray(seed)) {
      [this.a, this.b, this.c, this.d] = seed.map((v) => v >>> 0) as PrngState;
      return;
    }
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
    let x = (seed % 0x100000000) ^ Math.floor(seed / 0x100000000) * 0x632be5ab;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [nx, w] = splitmix32(x);
      x = nx;
      words.push(w);
    }
    [this.a, this.b, this.c, this.d] = words as PrngState;
    // Discard the first outputs, as the reference implementation recommends.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Next uniform uint32. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform double in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) throw new RangeError(`int(n) needs an integer n in 1..2^32, got ${n}`);
    const limit = Math.floor(0x100000000 / n) * n;
    for (;;) {
      const v = this.nextUint32();
      if (v < limit) return v % n;
    }
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new RangeError('pick() from an empty array');
    return xs[this.int(xs.length)]!;
  }

  /** Copy of the state (for checkpoints). */
  getState(): PrngState {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }
}
