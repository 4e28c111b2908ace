/** Comparisons of gradients shared by the engine-vs-reference tests (CPU and GPU). */

/** ‖a − b‖ / ‖b‖ (0 when a = b, including both 0). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i]! - b[i]!) ** 2; den += b[i]! ** 2; }
  return num === 0 ? 0 : Math.sqrt(num / Math.max(den, 1e-300));
}

/** The engine's per-op gradient layout: conv / dwconv W, linear W then bias, BN dγ then dβ. */
export function flatGradient(w: { weight?: Float64Array; bias?: Float64Array; gamma?: Float64Array; beta?: Float64Array }): number[] {
  return [...(w.weight ?? []), ...(w.bias ?? []), ...(w.gamma ?? []), ...(w.beta ?? [])];
}
