/** Dense NCHW float64 tensors of the float64 reference. */
import { ZennasError } from '../errors';

/**
 * Float64 elements one reference tensor may hold (2^28 = 2 GiB). The reference is the slow oracle
 * of the tests: a net far past this would take hours anyway, so it fails fast with a coded error
 * instead of V8's plain RangeError ("Array buffer allocation failed") or an OOM kill.
 */
export const REFERENCE_MAX_ELEMENTS = 2 ** 28;

/** A zeroed Float64Array of `count` elements; E_OUT_OF_MEMORY past the bound or when V8 refuses. */
export function float64Array(count: number): Float64Array {
  checkReferenceSize(count);
  try {
    return new Float64Array(count);
  } catch (e) {
    if (e instanceof RangeError) throw new ZennasError('E_OUT_OF_MEMORY', `the float64 reference could not allocate ${count} values (${(count * 8 / 2 ** 30).toFixed(1)} GiB): ${e.message}; use a smaller batch, resolution or net`);
    throw e;
  }
}

/** E_OUT_OF_MEMORY when one reference tensor of `count` values would pass REFERENCE_MAX_ELEMENTS. */
export function checkReferenceSize(count: number): void {
  if (!(count <= REFERENCE_MAX_ELEMENTS)) {
    throw new ZennasError('E_OUT_OF_MEMORY', `the float64 reference needs a tensor of ${count} values (${(count * 8 / 2 ** 30).toFixed(1)} GiB), over its bound of ${REFERENCE_MAX_ELEMENTS} values; use a smaller batch, resolution or net`);
  }
}

/** A dense NCHW float64 tensor: element (n, c, h, w) is `data[((n·C + c)·H + h)·W + w]`. */
export interface Tensor4 {
  n: number;
  c: number;
  h: number;
  w: number;
  data: Float64Array;
}

/** A zero tensor of the given shape. */
export function tensor(n: number, c: number, h: number, w: number): Tensor4 {
  return { n, c, h, w, data: float64Array(n * c * h * w) };
}

/** A tensor of the given shape holding a copy of `values` (row-major NCHW). */
export function tensorOf(n: number, c: number, h: number, w: number, values: ArrayLike<number>): Tensor4 {
  if (values.length !== n * c * h * w) throw new ZennasError('E_INTERNAL', `${values.length} values for a [${n}][${c}][${h}][${w}] tensor`);
  return { n, c, h, w, data: Float64Array.from(values) };
}

/** A zero tensor of `t`'s shape. */
export function zerosLike(t: Tensor4): Tensor4 {
  return tensor(t.n, t.c, t.h, t.w);
}

/** True when `a` and `b` have the same shape. */
export function sameShape(a: Tensor4, b: Tensor4): boolean {
  return a.n === b.n && a.c === b.c && a.h === b.h && a.w === b.w;
}

/** Images [from, to) of a batch. */
export function sliceBatch(t: Tensor4, from: number, to: number): Tensor4 {
  const per = t.c * t.h * t.w;
  return { n: to - from, c: t.c, h: t.h, w: t.w, data: t.data.slice(from * per, to * per) };
}

/** The batches of `parts` (same C, H, W) one after the other. */
export function concatBatch(parts: readonly Tensor4[]): Tensor4 {
  const first = parts[0]!;
  const out = tensor(parts.reduce((a, p) => a + p.n, 0), first.c, first.h, first.w);
  let at = 0;
  for (const p of parts) {
    if (p.c !== first.c || p.h !== first.h || p.w !== first.w) throw new ZennasError('E_INTERNAL', 'concatBatch: parts differ in [C][H][W]');
    out.data.set(p.data, at);
    at += p.data.length;
  }
  return out;
}
