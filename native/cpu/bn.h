// Training-mode batch norm: per-channel statistics of each half (forward) with float64 sums,
// and the normalisation y = (x − mean)·invstd (γ = 1, β = 0), fused with a following ReLU.
#pragma once
#include <cstdint>

namespace zennas {
namespace cpu {

/** Σx and Σx² of x[0..n) in float64. */
using BnStatsFn = void (*)(const float* x, int64_t n, double* sum, double* sumsq);
/** bnStats of `runs` runs of n values each (xs[r]), their chains interleaved; the same sums as bnStats run by run. */
using BnStatsRunsFn = void (*)(const float* const* xs, int runs, int64_t n, double* sum, double* sumsq);
/** y[i] = (x[i] − mean)·invstd, then max(·, 0) when relu; y may equal x. */
using BnApplyFn = void (*)(const float* x, float* y, int64_t n, float mean, float invstd, bool relu);
/**
 * BN → ADD → RELU in one pass: y[i] = max((x[i] − mean)·invstd + r[i], 0) (train), max(x[i] + r[i], 0)
 * (eval: BN is the identity) — the floats of bnApply, add and relu run one after another (a + b = b + a
 * in IEEE arithmetic, so the residual's side of the ADD does not matter); y may equal x or r.
 */
using BnApplyAddReluFn = void (*)(const float* x, const float* r, float* y, int64_t n, float mean, float invstd, bool train);

}  // namespace cpu
}  // namespace zennas
