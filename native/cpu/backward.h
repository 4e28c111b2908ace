// Backward-pass kernels on the engine's layout [C][N][H][W] (channel stride padded, as forward).
// Every kernel writes disjoint outputs per task and sums in a fixed order, so gradients do not
// depend on the thread count. `acc` = add into the destination instead of overwriting it (a value
// read by several ops receives the sum of their gradients).
#pragma once
#include <algorithm>
#include <cstdint>

#include "conv.h"

namespace zennas {
namespace cpu {

/**
 * Dense conv (or LINEAR: k = 1, h = w = 1) weight gradient dW[co][k] for rows [m0, m1) and
 * columns k ∈ [k0, k1) of the [cout][cin·k·k] matrix: Σ over all output columns of
 * dY[co][col] · im2col(X)[k][col] (fp32 GEMM, columns in chunks of 256 in order). `dW` row stride = K.
 * convBwdWeight packs dY per task; convBwdWeightPacked (the executor's) reads dY pre-packed once per
 * conv as the A of an M × cols GEMM (packedAIndex(co, col, cols); m0 a multiple of MR) and packs the
 * im2col side per task (rows copied, then 8×8-transposed into a B panel). Same sums, same bits.
 */
using ConvBwdWeightFn = void (*)(const ConvGeom& g, const float* dy, const float* in, float* dW, int64_t m0, int64_t m1, int64_t k0,
                                 int64_t k1, float* scratch);
/**
 * The same weight gradient in dot form for input channels [ci0, ci1) and output channels [m0, m1)
 * (no packing: fast for the small channel counts of CIFAR nets); any split gives the same bits.
 * Scratch: dotScratchFloats(g, ci1 − ci0, m1 − m0) floats.
 */
using ConvBwdWeightDotFn = void (*)(const ConvGeom& g, const float* dy, const float* in, float* dW, int64_t ci0, int64_t ci1, int64_t m0, int64_t m1,
                                    float* scratch);
/** Dot-form weight gradient of a 1×1 stride-1 conv / LINEAR for input channels [c0, c1), outputs [m0, m1). Scratch: 2·M·C floats. */
using ConvBwdWeight1x1Fn = void (*)(const ConvGeom& g, const float* dy, const float* in, float* dW, int64_t c0, int64_t c1, int64_t m0,
                                    int64_t m1, float* scratch);
/** Floats of one padded, phase-split input image (the dot-form scratch). */
inline int64_t dotScratchImageFloats(const ConvGeom& g) {
  return (g.h + 2 * g.pad) * g.stride * ((g.w + 2 * g.pad + g.stride - 1) / g.stride + 8);
}
/** Scratch of convBwdWeightDot for `channels` input and `rows` output channels: the phase images (each rounded to 16 floats) and the float64 sums. */
inline int64_t dotScratchFloats(const ConvGeom& g, int64_t channels, int64_t rows) {
  const int64_t img = channels > 1 ? (dotScratchImageFloats(g) + 15) / 16 * 16 : dotScratchImageFloats(g);
  return channels * img + 2 * ((channels * rows * g.k * g.k + 7) / 8 * 8);
}

/**
 * Output channels per conv1x1 (dot-form) weight-gradient task with `channelBlocks` blocks of input
 * channels: 64, or fewer (multiples of 4) so that a narrow layer still makes ≈ 8 tasks (one task
 * did a CIFAR shortcut's 8 → 16 channels alone). Each sum is its own: any split, the same bits.
 */
inline int64_t dot1x1RowsPerTask(int64_t M, int64_t channelBlocks) {
  constexpr int64_t kRows = 64, kTasks = 8;
  const int64_t mb = (M + kRows - 1) / kRows;
  if (mb * channelBlocks >= kTasks) return kRows;
  const int64_t want = (kTasks + channelBlocks - 1) / channelBlocks;  // row blocks wanted
  return std::max<int64_t>(4, std::min<int64_t>(kRows, ((M + want - 1) / want + 3) / 4 * 4));
}

/**
 * Input channels per convBwdWeightDot task: about 4 tasks with `rowBlocks` blocks of `rows` output
 * channels (each task reads its dY rows once per image for all its input channels), within `scratch`.
 */
inline int64_t dotChannelsPerTask(const ConvGeom& g, int64_t rowBlocks, int64_t rows, int64_t scratch) {
  const int64_t blocks = std::max<int64_t>(1, std::min<int64_t>(g.cin, (4 + rowBlocks - 1) / rowBlocks));
  int64_t per = (g.cin + blocks - 1) / blocks;
  while (per > 1 && dotScratchFloats(g, per, rows) > scratch) --per;
  return per;
}

/**
 * Dense conv input gradient for input channels [c0, c1): dX = col2im(Wᵀ · dY), W read from the
 * forward's packed A. The whole channel rows of dX are written (acc: added). For strided convs:
 * a stride-1 conv's input gradient is a forward conv of dY with the flipped, transposed weights
 * (the executor runs convGemm for it).
 */
using ConvBwdDataFn = void (*)(const ConvGeom& g, const float* packedA, const float* dy, float* dx, int64_t c0, int64_t c1, bool acc,
                               float* scratch);
/**
 * Dense conv input gradient for images [n0, n1), every input channel: dX = col2im(Wᵀ · dY) with Wᵀ
 * pre-packed once per conv as the A of a (cin·k·k) × cout GEMM (packedAIndex(k, co, cout)); each
 * 256-column chunk of dY is packed once and multiplied by every row block of Wᵀ, whose columns are
 * scattered into the task's images (disjoint per task, fixed order). Scratch: bwdDataImagesScratch(cout).
 */
inline int64_t bwdDataImagesScratch(int64_t M) { return (M + 7) / 8 * 8 * 256 + 48 * 256 + 64; }
using ConvBwdDataImagesFn = void (*)(const ConvGeom& g, const float* wT, const float* dy, float* dx, int64_t n0, int64_t n1, bool acc,
                                     float* scratch);
/** Depthwise conv backward for channels [c0, c1): dW[c][k][k] (overwritten) and dX (acc: added; dx may be null). */
using DwConvBwdFn = void (*)(const ConvGeom& g, const float* w, const float* in, const float* dy, float* dx, float* dw, int64_t c0,
                             int64_t c1, bool acc);
/** Max-pool backward (gradient to the first maximum in window order, PyTorch's rule), channels [c0, c1). */
using MaxPoolBwdFn = void (*)(const ConvGeom& g, const float* in, const float* dy, float* dx, int64_t c0, int64_t c1, bool acc);
/** Average pool forward / backward, channels [c0, c1); countIncludePad as PyTorch's count_include_pad. */
using AvgPoolFn = void (*)(const ConvGeom& g, const float* in, float* out, int64_t c0, int64_t c1, bool countIncludePad);
using AvgPoolBwdFn = void (*)(const ConvGeom& g, const float* dy, float* dx, int64_t c0, int64_t c1, bool countIncludePad, bool acc);
/**
 * Training-mode BN backward of one (channel, group) run of n values (γ = 1): with x̂ = (x − mean)·invstd,
 * dβ = Σ dy, dγ = Σ dy·x̂ (float64), dx (+)= invstd·(dy − dβ/n − x̂·dγ/n).
 */
using BnBwdFn = void (*)(const float* x, const float* dy, float* dx, int64_t n, float mean, float invstd, bool acc, double* dGamma,
                         double* dBeta);
/**
 * bnBwd with relu: dy is the gradient of RELU(BN(x)) (the forward's fused BN + ReLU): the mask is
 * recomputed from x as the forward computed it, bit-identical to RELU backward then BN backward,
 * one pass fewer; dx may be null (sums only).
 */
using BnBwdFusedFn = void (*)(const float* x, const float* dy, float* dx, int64_t n, float mean, float invstd, bool acc, bool relu,
                              double* dGamma, double* dBeta);
/**
 * A 1×1 strided conv's input gradient from its values on the output grid, channels [c0, c1):
 * dx[c][img][oy·s][ox·s] (+)= src[c][img][oy][ox] (src channels `srcStride` apart); every other
 * pixel 0 (acc: unchanged).
 */
using SpreadStridedFn = void (*)(const ConvGeom& g, const float* src, int64_t srcStride, float* dx, int64_t c0, int64_t c1, bool acc);
/** Element-wise backward: dx (+)= dy · f'(·); ReLU and sigmoid read the forward output y. */
/**
 * The reverse of BN → ADD → RELU (bnApplyAddRelu) as one step: g = y > 0 ? dy : 0 (RELU backward,
 * y the RELU's output), res (+)= g (the ADD's residual input; null: none wanted), then BN backward of
 * g into dx (+=) and dγ, dβ — the bits of reluBwd, scaleBwd(·, 1) and bnBwd run one after another.
 */
using BnAddReluBwdFn = void (*)(const float* x, const float* y, const float* dy, float* dx, float* res, int64_t n, float mean, float invstd,
                                bool acc, bool accRes, double* dGamma, double* dBeta);
using ReluBwdFn = void (*)(const float* y, const float* dy, float* dx, int64_t n, bool acc);
using SigmoidBwdFn = void (*)(const float* y, const float* dy, float* dx, int64_t n, bool acc);
/** dx (+)= dy · g over n values (MUL's x-gradient, GAP's 1/HW broadcast with g = 1/HW from one value). */
using ScaleBwdFn = void (*)(const float* dy, float* dx, int64_t n, float g, bool acc);
/** Σ dy·x in float64 (MUL's gate gradient, BN/linear sums). */
using DotFn = double (*)(const float* a, const float* b, int64_t n);

}  // namespace cpu
}  // namespace zennas
