// Own CUDA kernels of the CUDA backend (everything cuDNN does not do for us), declared as plain
// host launchers so the plan code (.cc, compiled by the host compiler) needs no nvcc.
// All tensors are NCHW. "halves" = 2 when the clean and the perturbed forward of the Zen-score
// share one batch of 2B: every batch statistic is then kept per half (DESIGN §1).
// Launchers only enqueue work on `stream`; the caller checks cudaGetLastError().
#pragma once
#include <cstddef>
#include <cstdint>
#include <cuda_runtime_api.h>

namespace zennas {
namespace cuda {

enum class DType { F32, F16 };

inline size_t dtypeSize(DType t) { return t == DType::F32 ? 4 : 2; }

// ---- random tensors (DESCRIPTOR.md "Random numbers") --------------------------------------
/** dst[n] = scale · float(N(0,1) element n of `streamId`, repeat). */
void launchNormalFill(float* dst, size_t n, uint64_t seed, uint32_t streamId, uint32_t repeat, float scale,
                      cudaStream_t stream);
/** Zen-score input of one repeat: x into dst[0, perHalf), x + α·ε into dst[perHalf, 2·perHalf). */
void launchZenInput(float* dst, size_t perHalf, uint64_t seed, uint32_t repeat, double alpha, cudaStream_t stream);
/** Random-ish data of a given dtype (latency only: values do not matter, magnitudes do). */
void launchFillNormalTyped(void* dst, DType t, size_t n, uint64_t seed, uint32_t streamId, float scale,
                           cudaStream_t stream);
/** Element-wise float → dtype copy (weights of the FP16 latency plan). */
void launchConvertF32(const float* src, void* dst, DType t, size_t n, cudaStream_t stream);

// ---- training-mode batch norm (FP32 data, FP64 accumulation, per channel and half) ---------
/** Number of partial blocks per (half, channel) that keeps the GPU busy for this shape. */
int bnSplits(int halves, int perHalfN, int C, int HW);
/** partial[((h·C + c)·splits + s)·2 + {0,1}] = Σx, Σx² of a fixed slice (deterministic order). */
void launchBnPartial(const float* x, int halves, int perHalfN, int C, int HW, int splits, double* partial,
                     cudaStream_t stream);
/**
 * mean/invstd[h·C + c] (float) from the partials; varClean[c] = biased variance of half 0.
 * When runningVar != nullptr (mode 'official'): for h = 0..halves-1 in order
 * runningVar[c] = 0.9·runningVar[c] + 0.1·unbiased var of half h (PyTorch momentum 0.1).
 */
void launchBnFinalize(const double* partial, int halves, int C, int splits, long long count, double eps,
                      float* mean, float* invstd, double* varClean, double* runningVar, cudaStream_t stream);
/** *term = ln σ̄ = ½·ln(mean_c var[c]), one block. */
void launchBnSigmaTerm(const double* var, int C, double* term, cudaStream_t stream);
/** y = (x − mean[h,c])·invstd[h,c], then ReLU when `relu` (BN with γ=1, β=0 fused with a following ReLU); y may equal x. */
void launchBnApply(const float* x, float* y, const float* mean, const float* invstd, int halves, int perHalfN, int C, int HW,
                   bool relu, cudaStream_t stream);

// ---- Δ = mean_b Σ |f(x) − f(x+αε)| in FP64 ------------------------------------------------------
int l1Blocks(size_t n);
void launchL1Partial(const float* a, const float* b, size_t n, int blocks, double* partial, cudaStream_t stream);
/** out[0] = ln(Σ partial / batch), out[1] = Σ sigmaTerms[0..nBn) (fixed order). */
void launchZenFinish(const double* partial, int blocks, double batch, const double* sigmaTerms, int nBn,
                     double* out, cudaStream_t stream);

// ---- layer kernels, FP32 or FP16 storage (FP32 math) --------------------------------------
void launchMaxPool(const void* x, void* y, DType t, int N, int C, int H, int W, int Ho, int Wo, int k, int stride,
                   cudaStream_t stream);
void launchGap(const void* x, void* y, DType t, int N, int C, int HW, cudaStream_t stream);
/** y[n][o] = Σ_i x[n][i]·w[o][i] (+ bias[o] when bias != nullptr). */
void launchLinear(const void* x, const void* w, const void* bias, void* y, DType t, int N, int cin, int cout,
                  cudaStream_t stream);
/** y = σ(x); y may equal x. */
void launchSigmoid(const void* x, void* y, DType t, size_t n, cudaStream_t stream);
/** y = x ⊙ gate[n][c] broadcast over H·W (SE); y may equal x. */
void launchChannelMul(const void* x, const void* gate, void* y, DType t, int N, int C, int HW, cudaStream_t stream);
/** y = a + b (+ ReLU); y may equal a. */
void launchAdd(const void* a, const void* b, void* y, DType t, size_t n, bool relu, cudaStream_t stream);
/** y = max(x, 0); y may equal x. */
void launchRelu(const void* x, void* y, DType t, size_t n, cudaStream_t stream);
/** Eval-mode epilogue of a conv with folded BN: y = act(y + bias[c]). */
void launchBiasAct(void* y, const void* bias, DType t, int N, int C, int HW, bool relu, cudaStream_t stream);
/** Eval-mode BN that could not be folded into a conv: y = x·scale[c] + shift[c] (+ReLU). */
void launchScaleShift(void* x, const void* scale, const void* shift, DType t, int N, int C, int HW, bool relu,
                      cudaStream_t stream);

}  // namespace cuda
}  // namespace zennas
