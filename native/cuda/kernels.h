// Own CUDA kernels of the CUDA backend (everything cuDNN does not do for us), declared as plain
// host launchers so the plan code (.cc, compiled by the host compiler) needs no nvcc.
// All tensors are NCHW. "halves" = 2 when the clean and the perturbed forward of the Zen-score
// share one batch of 2B: every batch statistic is then kept per half (DESIGN §1).
// Launchers only enqueue work on `stream`; the caller checks cudaGetLastError(). Every launch
// uses a grid fixed by the shapes alone and every reduction a fixed order, so results are
// deterministic and the launches can be captured into a CUDA graph (RepeatGraph).
// Backward kernels mirror the CPU engine's (native/cpu/backward_impl.inl, native/cpu/ops/):
// the same float expressions evaluated in the same order (no FMA contraction where the CPU has
// none), float64 where the CPU sums in float64. `acc`: add into dx (a value with several
// consumers receives the sum of their gradients) instead of overwriting it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cuda_runtime_api.h>

namespace zennas {
namespace cuda {

enum class DType { F32, F16 };

inline size_t dtypeSize(DType t) { return t == DType::F32 ? 4 : 2; }

/**
 * What changes from one repeat to the next, read by the kernels from device memory: a captured
 * repeat (RepeatGraph) then replays unchanged. launchAdvanceRepeat, the last launch of a repeat,
 * moves it on to the next.
 */
struct RepeatArgs {
  uint64_t seed = 0;
  uint32_t repeat = 0;      // Philox counter c2 of the repeat being run
  uint32_t index = 0;       // its results slot: results[2·index], results[2·index + 1]
  double alpha = 0.01;      // Zen-score perturbation
  double eps = 1e-5;        // BN ε
  double* results = nullptr;
  uint32_t hasLabels = 0;   // cross-entropy: labels given (else drawn from Philox)
  uint32_t torchInit = 0;   // parameters: init 'torch' (U(±bound)) instead of N(0,1) (DESCRIPTOR.md)
};
/** ++repeat, ++index (one thread). */
void launchAdvanceRepeat(RepeatArgs* args, cudaStream_t stream);

// ---- random tensors (DESCRIPTOR.md "Random numbers") --------------------------------------
/** dst[n] = float(N(0,1) element n of `streamId`, args→repeat, args→seed). */
void launchNormalFill(float* dst, size_t n, const RepeatArgs* args, uint32_t streamId, cudaStream_t stream);
/** Zen-score input of one repeat: x into dst[0, perHalf), x + α·ε into dst[perHalf, 2·perHalf). */
void launchZenInput(float* dst, size_t perHalf, const RepeatArgs* args, cudaStream_t stream);
/**
 * Parameters of one op (stream = op index + 1), by args→torchInit: 'normal' — N(0,1) weights
 * (elements 0..n), biases 0; 'torch' — element first + e of U(−bound, bound): bound·(2·u(x) − 1),
 * x = lane (first + e) mod 4 of Philox(⌊(first + e)/4⌋, stream, repeat, 0), in float64 (the CPU's
 * Executor::drawWeightsTorch). `bias`: the LINEAR bias (first = the op's weight count).
 */
void launchParamFill(float* dst, size_t n, size_t first, const RepeatArgs* args, uint32_t streamId, double bound, bool bias,
                     cudaStream_t stream);
/** p[0..n) = v. */
void launchFillF32(float* p, size_t n, float v, cudaStream_t stream);
void launchFillF64(double* p, size_t n, double v, cudaStream_t stream);
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
 * mean/invstd[h·C + c] (float; ε = args→eps) from the partials; varClean[c] = biased variance of
 * half 0 (when not null). When runningVar != nullptr (mode 'official'): for h = 0..halves-1 in
 * order runningVar[c] = 0.9·runningVar[c] + 0.1·unbiased var of half h (PyTorch momentum 0.1).
 */
void launchBnFinalize(const double* partial, int halves, int C, int splits, long long count, const RepeatArgs* args,
                      float* mean, float* invstd, double* varClean, double* runningVar, cudaStream_t stream);
/** *term = ln σ̄ = ½·ln(mean_c var[c]), one block. */
void launchBnSigmaTerm(const double* var, int C, double* term, cudaStream_t stream);
/** y = (x − mean[h,c])·invstd[h,c], then ReLU when `relu` (BN with γ=1, β=0 fused with a following ReLU); y may equal x. */
void launchBnApply(const float* x, float* y, const float* mean, const float* invstd, int halves, int perHalfN, int C, int HW,
                   bool relu, cudaStream_t stream);

// ---- Δ = mean_b Σ |f(x) − f(x+αε)| in FP64 ------------------------------------------------------
int l1Blocks(size_t n);
void launchL1Partial(const float* a, const float* b, size_t n, int blocks, double* partial, cudaStream_t stream);
/** out = args→results + 2·args→index: out[0] = ln(Σ partial / batch), out[1] = Σ sigmaTerms[0..nBn) (fixed order). */
void launchZenFinish(const double* partial, int blocks, double batch, const double* sigmaTerms, int nBn,
                     const RepeatArgs* args, cudaStream_t stream);

// ---- layer kernels, FP32 or FP16 storage (FP32 math) --------------------------------------
void launchMaxPool(const void* x, void* y, DType t, int N, int C, int H, int W, int Ho, int Wo, int k, int stride,
                   cudaStream_t stream);
void launchGap(const void* x, void* y, DType t, int N, int C, int HW, cudaStream_t stream);
/** y[n][o] = Σ_i x[n][i]·w[o][i] (+ bias[o] when bias != nullptr). */
void launchLinear(const void* x, const void* w, const void* bias, void* y, DType t, int N, int cin, int cout,
                  cudaStream_t stream);
/** y = σ(x) (FP32: in float64, as the CPU engine); y may equal x. */
void launchSigmoid(const void* x, void* y, DType t, size_t n, cudaStream_t stream);
/** y = x·σ(x) (SiLU; FP32: in float64, as the CPU engine); y may equal x. */
void launchSwish(const void* x, void* y, DType t, size_t n, cudaStream_t stream);
/** y = x·min(max(x + 3, 0), 6)/6 (hard-swish; FP32: in float64, as the CPU engine); y may equal x. */
void launchHswish(const void* x, void* y, DType t, size_t n, cudaStream_t stream);
/** y = min(max(x + 3, 0), 6)/6 (hard-sigmoid; FP32: in float64, as the CPU engine); y may equal x. */
void launchHsigmoid(const void* x, void* y, DType t, size_t n, cudaStream_t stream);
/** k×k mean, padding `pad` ((k−1)/2, or AVGPOOL's pad attribute), window summed in (ky, kx) order in float; divisor k² (countIncludePad) or the in-bounds count (PyTorch). */
void launchAvgPool(const void* x, void* y, DType t, int N, int C, int H, int W, int Ho, int Wo, int k, int stride, int pad,
                   bool countIncludePad, cudaStream_t stream);
/** y = x ⊙ gate[n][c] broadcast over H·W (SE); y may equal x. */
void launchChannelMul(const void* x, const void* gate, void* y, DType t, int N, int C, int HW, cudaStream_t stream);
/** CROP: y[p][i][j] = x[p][i + o][j + o] for every plane p of NC (x planes H×W, y planes Ho×Wo; 0 past the input: fill). */
void launchCrop(const void* x, void* y, DType t, int NC, int H, int W, int Ho, int Wo, int o, cudaStream_t stream);
/** CROP backward: dx[p][iy][ix] (+)= dy[p][iy − o][ix − o] inside the kept window, + 0 elsewhere. */
void launchCropBwd(const float* dy, float* dx, int NC, int H, int W, int Ho, int Wo, int o, bool acc, cudaStream_t stream);
/** CONCAT, one input: y[n][off + j] = x[n][j] for j < len (per sample: x rows of len, y rows of yRow elements). */
void launchConcatCopy(const void* x, void* y, DType t, int N, size_t len, size_t yRow, size_t off, cudaStream_t stream);
/** y = a + b (+ ReLU); y may equal a. */
void launchAdd(const void* a, const void* b, void* y, DType t, size_t n, bool relu, cudaStream_t stream);
/** y = max(x, 0); y may equal x. */
void launchRelu(const void* x, void* y, DType t, size_t n, cudaStream_t stream);
/** Eval-mode epilogue of a conv with folded BN: y = act(y + bias[c]). */
void launchBiasAct(void* y, const void* bias, DType t, int N, int C, int HW, bool relu, cudaStream_t stream);
/** Eval-mode BN that could not be folded into a conv: y = x·scale[c] + shift[c] (+ReLU). */
void launchScaleShift(void* x, const void* scale, const void* shift, DType t, int N, int C, int HW, bool relu,
                      cudaStream_t stream);

// ---- backward (FP32; the 'gradients' proxy, grad_plan.h) ---------------------------------
/** dx (+)= y > 0 ? dy : 0 (ReLU from its output). */
void launchReluBwd(const float* y, const float* dy, float* dx, size_t n, bool acc, cudaStream_t stream);
/** dx (+)= dy·y·(1 − y) (sigmoid from its output). */
void launchSigmoidBwd(const float* y, const float* dy, float* dx, size_t n, bool acc, cudaStream_t stream);
/** dx (+)= float(dy·(s + x·s·(1 − s))), s = σ(x) in float64 (swish from its input). */
void launchSwishBwd(const float* x, const float* dy, float* dx, size_t n, bool acc, cudaStream_t stream);
/** dx (+)= float(dy·h'(x)), h' = 0 (x ≤ −3) / x/3 + ½ / 1 (x ≥ 3) (hard-swish from its input, PyTorch's rule). */
void launchHswishBwd(const float* x, const float* dy, float* dx, size_t n, bool acc, cudaStream_t stream);
/** dx (+)= −3 < x < 3 ? float(dy/6) : 0 (hard-sigmoid from its input, PyTorch's rule). */
void launchHsigmoidBwd(const float* x, const float* dy, float* dx, size_t n, bool acc, cudaStream_t stream);
/** dx (+)= dy (ADD's every input, IDENTITY). */
void launchAccumulate(const float* dy, float* dx, size_t n, bool acc, cudaStream_t stream);
/** dx[n][c][·] (+)= dy[n][c] / HW. */
void launchGapBwd(const float* dy, float* dx, int N, int C, int HW, bool acc, cudaStream_t stream);
/** MUL's x-gradient: dx (+)= dy·gate[n][c]. */
void launchChannelMulBwdX(const float* dy, const float* gate, float* dx, int N, int C, int HW, bool acc, cudaStream_t stream);
/** MUL's gate gradient: dgate[n][c] (+)= float(Σ_hw dy·x) (float64 sum). */
void launchChannelMulBwdGate(const float* dy, const float* x, float* dgate, int N, int C, int HW, bool acc, cudaStream_t stream);
/** Max-pool: argmax[o] = in-plane index of the first maximum of output o's window (window order), −1 if none. */
void launchMaxPoolArgmax(const float* x, int32_t* argmax, int N, int C, int H, int W, int Ho, int Wo, int k, int stride,
                         cudaStream_t stream);
/** Max-pool backward from the argmax: each input gathers the dy of the windows that chose it, in output raster order. */
void launchMaxPoolBwd(const int32_t* argmax, const float* dy, float* dx, int N, int C, int H, int W, int Ho, int Wo, int k,
                      int stride, bool acc, cudaStream_t stream);
/** CONCAT backward, one input: dx[n][j] (+)= dy[n][off + j] for j < len (dy rows of dyRow elements). */
void launchConcatSliceBwd(const float* dy, float* dx, int N, size_t len, size_t dyRow, size_t off, bool acc, cudaStream_t stream);
/** Avg-pool backward: each input gathers dy/divisor of every window covering it, in output raster order. */
void launchAvgPoolBwd(const float* dy, float* dx, int N, int C, int H, int W, int Ho, int Wo, int k, int stride, int pad,
                      bool countIncludePad, bool acc, cudaStream_t stream);
/** Training-mode BN backward, pass 1: partial[(c·splits + s)·2 + {0,1}] = Σ dy, Σ dy·x̂ (x̂ = (x − mean)·invstd in float). */
void launchBnBwdPartial(const float* x, const float* dy, const float* mean, const float* invstd, int N, int C, int HW,
                        int splits, double* partial, cudaStream_t stream);
/**
 * Pass 2 per channel: dγ[c] = float(Σ dy·x̂), dβ[c] = float(Σ dy); coef[2c] = float(Σ dy / count),
 * coef[2c + 1] = float(Σ dy·x̂ / count).
 */
void launchBnBwdFinalize(const double* partial, int C, int splits, long long count, float* dgamma, float* dbeta, float* coef,
                         cudaStream_t stream);
/** Pass 3: dx (+)= invstd·(dy − a − x̂·b) with (a, b) = coef of the channel (γ = 1). */
void launchBnBwdApply(const float* x, const float* dy, float* dx, const float* mean, const float* invstd, const float* coef,
                      int N, int C, int HW, bool acc, cudaStream_t stream);
/** LINEAR weight gradient dW[o][i] = Σ_n dy[n][o]·x[n][i]; db[o] = Σ_n dy[n][o] when db != nullptr (float64 sums). */
void launchLinearBwdWeight(const float* x, const float* dy, float* dw, float* db, int N, int cin, int cout, cudaStream_t stream);
/** LINEAR input gradient dx[n][i] (+)= Σ_o dy[n][o]·w[o][i] (float64 sum). */
void launchLinearBwdData(const float* dy, const float* w, float* dx, int N, int cin, int cout, bool acc, cudaStream_t stream);

// ---- loss heads and reductions of the 'gradients' proxy -------------------------------------
/** Σ y (float64 partials, one per block) and dy = 1 over n values. */
void launchLossSumPartial(const float* y, float* dy, size_t n, int blocks, double* partial, cudaStream_t stream);
/** args→results[2·args→index] = Σ partial[0..blocks) (fixed order). */
void launchLossSumFinish(const double* partial, int blocks, const RepeatArgs* args, cudaStream_t stream);
/**
 * Softmax cross-entropy over logits y[n][classes] (one block per sample, float64): label n =
 * labels[n] when args→hasLabels, else drawn from Philox (DESCRIPTOR.md); perSample[n] =
 * lse − y[label]; dy[n][c] = float((softmax − onehot) / N).
 */
void launchLossCrossEntropy(const float* y, float* dy, int N, int classes, const int32_t* labels, const RepeatArgs* args,
                            double* perSample, cudaStream_t stream);
/** args→results[2·args→index] = Σ_n perSample[n] / N (in order). */
void launchLossCeFinish(const double* perSample, int N, const RepeatArgs* args, cudaStream_t stream);
/** Σ x² over n floats (float64 partials, one per block). */
void launchSumSquaresPartial(const float* x, size_t n, int blocks, double* partial, cudaStream_t stream);
/** args→results[2·args→index + 1] = sqrt(Σ partial) (‖all parameter gradients‖). */
void launchGradNormFinish(const double* partial, int blocks, const RepeatArgs* args, cudaStream_t stream);
/** Blocks of the partial-sum reductions above for n values (≤ 1024). */
int reduceBlocks(size_t n);

}  // namespace cuda
}  // namespace zennas
