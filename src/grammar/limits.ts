/** Sanity limits: anything beyond them is rejected as "absurd" rather than attempted. */
export const LIMITS = {
  /** Longest structure string we accept (characters). */
  maxTextLength: 1_000_000,
  /** Most blocks in one structure. */
  maxBlocks: 4096,
  /** Largest channel count of any tensor. */
  maxChannels: 65536,
  /** Largest stride. */
  maxStride: 8,
  /** Kernels are odd, 1..maxKernel. */
  maxKernel: 15,
  /** Largest sub_layers of one super block. */
  maxSubLayers: 256,
  /** Largest IDW expansion ratio. */
  maxExpansion: 16,
  /** Largest input resolution. */
  maxResolution: 4096,
  /**
   * Most ops a structure may lower to (either lowering, SE included): the native engine's and the
   * descriptor's limit (kMaxOps = 2^20). The grammar alone allows ≈ 19M, which would exhaust the
   * JS heap while lowering; lowerAsTrained / lowerForScoring refuse such structures beforehand.
   */
  maxOps: 1 << 20,
} as const;
