/** Dense NCHW float64 tensors of the float64 reference. */

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
  return { n, c, h, w, data: new Float64Array(n * c * h * w) };
}

/** A tensor of the given shape holding a copy of `values` (row-major NCHW). */
export function tensorOf(n: number, c: number, h: number, w: number, values: ArrayLike<number>): Tensor4 {
  if (values.length !== n * c * h * w) throw new RangeError(`${values.length} values for a [${n}][${c}][${h}][${w}] tensor`);
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
    if (p.c !== first.c || p.h !== first.h || p.w !== first.w) throw new RangeError('concatBatch: parts differ in [C][H][W]');
    out.data.set(p.data, at);
    at += p.data.length;
  }
  return out;
}
