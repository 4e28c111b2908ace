// Kernels of the CUDA backend; see kernels.h for the contract of each launcher.
#include "kernels.h"
#include "philox.cuh"

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <algorithm>
#include <cmath>
#include <type_traits>

namespace zennas {
namespace cuda {
namespace {

constexpr int kThreads = 256;

inline unsigned gridFor(size_t n, int threads = kThreads) {
  const size_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(std::min<size_t>(std::max<size_t>(b, 1), 1u << 20));
}

__device__ __forceinline__ float toF(float v) { return v; }
__device__ __forceinline__ float toF(__half v) { return __half2float(v); }
template <typename T> __device__ __forceinline__ T fromF(float v);
template <> __device__ __forceinline__ float fromF<float>(float v) { return v; }
template <> __device__ __forceinline__ __half fromF<__half>(float v) { return __float2half(v); }

// Reductions accumulate in double for FP32 data (agreement with the CPU engine) and in float
// for FP16 data (latency only).
template <typename T> struct Acc { using type = float; };
template <> struct Acc<float> { using type = double; };

template <typename A>
__device__ __forceinline__ A warpSum(A v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  return v;
}

/** Block-wide sum (blockDim.x a multiple of 32, ≤ 1024); the result is valid in thread 0. */
template <typename A>
__device__ A blockSum(A v) {
  __shared__ A shared[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warpSum(v);
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  const int nWarps = (blockDim.x + 31) >> 5;
  v = threadIdx.x < nWarps ? shared[lane] : A(0);
  if (warp == 0) v = warpSum(v);
  __syncthreads();  // `shared` may be reused by a second call
  return v;
}

// ---- random ----------------------------------------------------------------------------------
__global__ void advanceRepeatKernel(RepeatArgs* args) {
  args->repeat += 1;
  args->index += 1;
}

__global__ void normalFillKernel(float* dst, size_t n, const RepeatArgs* args, uint32_t streamId) {
  const uint64_t seed = args->seed;
  const uint32_t repeat = args->repeat;
  const size_t blocks = (n + 3) / 4;
  for (size_t j = blockIdx.x * size_t(blockDim.x) + threadIdx.x; j < blocks; j += size_t(gridDim.x) * blockDim.x) {
    double v[4];
    philoxNormal4(seed, streamId, repeat, static_cast<uint32_t>(j), v);
    for (int l = 0; l < 4; ++l) {
      const size_t e = 4 * j + l;
      if (e < n) dst[e] = static_cast<float>(v[l]);
    }
  }
}

__global__ void paramFillKernel(float* dst, size_t n, size_t first, const RepeatArgs* args, uint32_t streamId, double bound, bool bias) {
  const uint64_t seed = args->seed;
  const uint32_t repeat = args->repeat;
  if (!args->torchInit) {
    if (bias) {
      for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) dst[i] = 0.0f;
      return;
    }
    const size_t blocks = (n + 3) / 4;  // N(0,1): as normalFillKernel (first = 0)
    for (size_t j = blockIdx.x * size_t(blockDim.x) + threadIdx.x; j < blocks; j += size_t(gridDim.x) * blockDim.x) {
      double v[4];
      philoxNormal4(seed, streamId, repeat, static_cast<uint32_t>(j), v);
      for (int l = 0; l < 4; ++l) {
        const size_t e = 4 * j + l;
        if (e < n) dst[e] = static_cast<float>(v[l]);
      }
    }
    return;
  }
  const uint32_t k0 = static_cast<uint32_t>(seed & 0xFFFFFFFFull), k1 = static_cast<uint32_t>(seed >> 32);
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const size_t e = first + i;
    const Philox4 r = philox4x32_10(static_cast<uint32_t>(e / 4), streamId, repeat, 0u, k0, k1);
    const double u = philoxUniform(r.x[e % 4]);
    dst[i] = static_cast<float>(__dmul_rn(bound, __dsub_rn(2.0 * u, 1.0)));  // 2u − 1 is exact: one rounding, as the CPU
  }
}

template <typename T>
__global__ void fillKernel(T* p, size_t n, T v) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) p[i] = v;
}

__global__ void zenInputKernel(float* dst, size_t perHalf, const RepeatArgs* args) {
  const uint64_t seed = args->seed;
  const uint32_t repeat = args->repeat;
  const double alpha = args->alpha;
  const size_t blocks = (perHalf + 3) / 4;
  for (size_t j = blockIdx.x * size_t(blockDim.x) + threadIdx.x; j < blocks; j += size_t(gridDim.x) * blockDim.x) {
    double x[4], e[4];
    philoxNormal4(seed, kStreamInput, repeat, static_cast<uint32_t>(j), x);
    philoxNormal4(seed, kStreamNoise, repeat, static_cast<uint32_t>(j), e);
    for (int l = 0; l < 4; ++l) {
      const size_t i = 4 * j + l;
      if (i >= perHalf) break;
      // Both operands rounded to float32 first, as the CPU engine stores x and ε as float32
      // tensors and forms x + α·ε in float32 (the official code does the same in PyTorch).
      const float xf = static_cast<float>(x[l]);
      const float ef = static_cast<float>(e[l]);
      dst[i] = xf;
      // __fmul_rn/__fadd_rn: two roundings as on the CPU (-ffp-contract=off); nvcc would fuse an FMA.
      dst[perHalf + i] = __fadd_rn(xf, __fmul_rn(static_cast<float>(alpha), ef));
    }
  }
}

template <typename T>
__global__ void fillTypedKernel(T* dst, size_t n, uint64_t seed, uint32_t streamId, float scale) {
  const size_t blocks = (n + 3) / 4;
  for (size_t j = blockIdx.x * size_t(blockDim.x) + threadIdx.x; j < blocks; j += size_t(gridDim.x) * blockDim.x) {
    double v[4];
    philoxNormal4(seed, streamId, 0u, static_cast<uint32_t>(j), v);
    for (int l = 0; l < 4; ++l) {
      const size_t e = 4 * j + l;
      if (e < n) dst[e] = fromF<T>(static_cast<float>(v[l]) * scale);
    }
  }
}

template <typename T>
__global__ void convertKernel(const float* src, T* dst, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    dst[i] = fromF<T>(src[i]);
}

// ---- batch norm ------------------------------------------------------------------------------
// grid = (C, splits, halves) — C in x because grid.y/z are limited to 65535; block (c, s, h) sums a fixed strided slice of the B·HW values of
// channel c in half h. Fixed slices + fixed tree → deterministic partials.
__global__ void bnPartialKernel(const float* x, int perHalfN, int C, int HW, int splits, double* partial) {
  const int c = blockIdx.x, s = blockIdx.y, h = blockIdx.z;
  const long long count = static_cast<long long>(perHalfN) * HW;
  double sum = 0.0, sq = 0.0;
  for (long long i = static_cast<long long>(s) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<long long>(splits) * blockDim.x) {
    const long long n = i / HW, p = i - n * HW;
    const double v = x[((static_cast<long long>(h) * perHalfN + n) * C + c) * HW + p];
    sum += v;
    sq += v * v;
  }
  sum = blockSum(sum);
  sq = blockSum(sq);
  if (threadIdx.x == 0) {
    double* out = partial + ((static_cast<size_t>(h) * C + c) * splits + s) * 2;
    out[0] = sum;
    out[1] = sq;
  }
}

__global__ void bnFinalizeKernel(const double* partial, int halves, int C, int splits, long long count, const RepeatArgs* args,
                                 float* mean, float* invstd, double* varClean, double* runningVar) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  const double eps = args->eps;
  for (int h = 0; h < halves; ++h) {
    double sum = 0.0, sq = 0.0;
    const double* p = partial + (static_cast<size_t>(h) * C + c) * splits * 2;
    for (int s = 0; s < splits; ++s) { sum += p[2 * s]; sq += p[2 * s + 1]; }
    const double m = sum / static_cast<double>(count);
    const double var = fmax(sq / static_cast<double>(count) - m * m, 0.0);  // biased
    mean[h * C + c] = static_cast<float>(m);
    invstd[h * C + c] = static_cast<float>(1.0 / sqrt(var + eps));
    if (h == 0 && varClean) varClean[c] = var;
    if (runningVar) {
      const double unbiased = count > 1 ? var * static_cast<double>(count) / static_cast<double>(count - 1) : var;
      runningVar[c] = 0.9 * runningVar[c] + 0.1 * unbiased;
    }
  }
}

__global__ void bnSigmaTermKernel(const double* var, int C, double* term) {
  double s = 0.0;
  for (int c = threadIdx.x; c < C; c += blockDim.x) s += var[c];
  s = blockSum(s);
  if (threadIdx.x == 0) *term = 0.5 * log(s / static_cast<double>(C));
}

__global__ void bnApplyKernel(const float* x, float* y, const float* mean, const float* invstd, int perHalfN, int C, int HW,
                              size_t n, bool relu) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const size_t plane = i / HW;
    const int c = static_cast<int>(plane % C);
    const int h = static_cast<int>(plane / C / perHalfN);
    float v = (x[i] - mean[h * C + c]) * invstd[h * C + c];
    y[i] = relu ? fmaxf(v, 0.0f) : v;
  }
}

// ---- Δ -----------------------------------------------------------------------------------------
__global__ void l1PartialKernel(const float* a, const float* b, size_t n, double* partial) {
  double s = 0.0;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    s += fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
  s = blockSum(s);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

__global__ void zenFinishKernel(const double* partial, int blocks, double batch, const double* sigmaTerms, int nBn,
                                const RepeatArgs* args) {
  double* out = args->results + 2 * static_cast<size_t>(args->index);
  double s = 0.0;
  for (int i = 0; i < blocks; ++i) s += partial[i];
  double sig = 0.0;
  for (int i = 0; i < nBn; ++i) sig += sigmaTerms[i];
  out[0] = log(s / batch);
  out[1] = sig;
}

// ---- layers ----------------------------------------------------------------------------------
template <typename T>
__global__ void maxPoolKernel(const T* x, T* y, int N, int C, int H, int W, int Ho, int Wo, int k, int stride) {
  const int pad = (k - 1) / 2;
  const size_t n = static_cast<size_t>(N) * C * Ho * Wo;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const int wo = static_cast<int>(i % Wo);
    const int ho = static_cast<int>((i / Wo) % Ho);
    const size_t plane = i / (static_cast<size_t>(Wo) * Ho);
    const T* src = x + plane * H * W;
    float m = -INFINITY;
    for (int dy = 0; dy < k; ++dy) {
      const int yy = ho * stride - pad + dy;
      if (yy < 0 || yy >= H) continue;
      for (int dx = 0; dx < k; ++dx) {
        const int xx = wo * stride - pad + dx;
        if (xx < 0 || xx >= W) continue;
        m = fmaxf(m, toF(src[yy * W + xx]));
      }
    }
    y[i] = fromF<T>(m);
  }
}

// One block per (n, c) plane.
template <typename T>
__global__ void gapKernel(const T* x, T* y, int HW) {
  using A = typename Acc<T>::type;
  const T* src = x + static_cast<size_t>(blockIdx.x) * HW;
  A s = A(0);
  for (int p = threadIdx.x; p < HW; p += blockDim.x) s += static_cast<A>(toF(src[p]));
  s = blockSum(s);
  if (threadIdx.x == 0) y[blockIdx.x] = fromF<T>(static_cast<float>(s / static_cast<A>(HW)));
}

// One warp per output (n, o).
template <typename T>
__global__ void linearKernel(const T* x, const T* w, const T* bias, T* y, int N, int cin, int cout) {
  using A = typename Acc<T>::type;
  const long long warpId = (static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (warpId >= static_cast<long long>(N) * cout) return;
  const int n = static_cast<int>(warpId / cout), o = static_cast<int>(warpId % cout);
  const T* xr = x + static_cast<size_t>(n) * cin;
  const T* wr = w + static_cast<size_t>(o) * cin;
  A s = A(0);
  for (int i = lane; i < cin; i += 32) s += static_cast<A>(toF(xr[i])) * static_cast<A>(toF(wr[i]));
  s = warpSum(s);
  if (lane == 0) y[warpId] = fromF<T>(static_cast<float>(s) + (bias ? toF(bias[o]) : 0.0f));
}

// FP32: float64 inside, as the CPU engine (1 / (1 + e^−x), x / (1 + e^−x)); FP16 (latency): float.
template <typename T>
__global__ void sigmoidKernel(const T* x, T* y, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    if constexpr (std::is_same<T, float>::value) {
      const double v = x[i];
      y[i] = static_cast<float>(1.0 / (1.0 + exp(-v)));
    } else {
      y[i] = fromF<T>(1.0f / (1.0f + expf(-toF(x[i]))));
    }
  }
}

template <typename T>
__global__ void swishKernel(const T* x, T* y, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    if constexpr (std::is_same<T, float>::value) {
      const double v = x[i];
      y[i] = static_cast<float>(v / (1.0 + exp(-v)));
    } else {
      const float v = toF(x[i]);
      y[i] = fromF<T>(v / (1.0f + expf(-v)));
    }
  }
}

// Hard-swish / hard-sigmoid (MobileNetV3, PyTorch Hardswish / Hardsigmoid): FP32 in float64, as the CPU.
template <typename T>
__global__ void hswishKernel(const T* x, T* y, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    if constexpr (std::is_same<T, float>::value) {
      const double v = x[i];
      y[i] = static_cast<float>(v * fmin(fmax(v + 3.0, 0.0), 6.0) / 6.0);
    } else {
      const float v = toF(x[i]);
      y[i] = fromF<T>(v * fminf(fmaxf(v + 3.0f, 0.0f), 6.0f) / 6.0f);
    }
  }
}

template <typename T>
__global__ void hsigmoidKernel(const T* x, T* y, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    if constexpr (std::is_same<T, float>::value) {
      const double v = x[i];
      y[i] = static_cast<float>(fmin(fmax(v + 3.0, 0.0), 6.0) / 6.0);
    } else {
      y[i] = fromF<T>(fminf(fmaxf(toF(x[i]) + 3.0f, 0.0f), 6.0f) / 6.0f);
    }
  }
}

/** PyTorch's avg-pool divisor: k² with count_include_pad, else the in-bounds part of the window. */
__device__ __forceinline__ float avgDivisor(int oy, int ox, int H, int W, int k, int stride, int pad, bool countIncludePad) {
  if (countIncludePad) return static_cast<float>(k * k);
  const int y0 = max(0, oy * stride - pad), y1 = min(H, oy * stride - pad + k);
  const int x0 = max(0, ox * stride - pad), x1 = min(W, ox * stride - pad + k);
  return static_cast<float>((y1 - y0) * (x1 - x0));
}

template <typename T>
__global__ void avgPoolKernel(const T* x, T* y, int N, int C, int H, int W, int Ho, int Wo, int k, int stride, int pad,
                              bool countIncludePad) {
  const size_t n = static_cast<size_t>(N) * C * Ho * Wo;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const int wo = static_cast<int>(i % Wo);
    const int ho = static_cast<int>((i / Wo) % Ho);
    const size_t plane = i / (static_cast<size_t>(Wo) * Ho);
    const T* src = x + plane * H * W;
    float s = 0.0f;  // float, in window order: the CPU engine's sum
    for (int dy = 0; dy < k; ++dy) {
      const int yy = ho * stride - pad + dy;
      if (yy < 0 || yy >= H) continue;
      for (int dx = 0; dx < k; ++dx) {
        const int xx = wo * stride - pad + dx;
        if (xx >= 0 && xx < W) s = __fadd_rn(s, toF(src[yy * W + xx]));
      }
    }
    y[i] = fromF<T>(__fdiv_rn(s, avgDivisor(ho, wo, H, W, k, stride, pad, countIncludePad)));
  }
}

template <typename T>
__global__ void channelMulKernel(const T* x, const T* gate, T* y, size_t n, int HW) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    y[i] = fromF<T>(toF(x[i]) * toF(gate[i / HW]));
}

template <typename T>
__global__ void addKernel(const T* a, const T* b, T* y, size_t n, bool relu) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const float v = toF(a[i]) + toF(b[i]);
    y[i] = fromF<T>(relu ? fmaxf(v, 0.0f) : v);
  }
}

template <typename T>
__global__ void concatCopyKernel(const T* x, T* y, size_t n, size_t len, size_t yRow, size_t off) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    y[(i / len) * yRow + off + i % len] = x[i];
}

template <typename T>
__global__ void cropKernel(const T* x, T* y, size_t n, int H, int W, int Ho, int Wo, int o) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const int j = static_cast<int>(i % Wo), r = static_cast<int>((i / Wo) % Ho);
    const size_t p = i / (static_cast<size_t>(Wo) * Ho);
    y[i] = r + o < H && j + o < W ? x[(p * H + r + o) * W + j + o] : fromF<T>(0.0f);  // fill: zeros past the input
  }
}

__global__ void cropBwdKernel(const float* dy, float* dx, size_t n, int H, int W, int Ho, int Wo, int o, bool acc) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const int ix = static_cast<int>(i % W), iy = static_cast<int>((i / W) % H);
    const size_t p = i / (static_cast<size_t>(W) * H);
    const float g = iy >= o && ix >= o ? dy[(p * Ho + iy - o) * Wo + ix - o] : 0.0f;
    dx[i] = acc ? __fadd_rn(dx[i], g) : g;
  }
}

__global__ void concatSliceBwdKernel(const float* dy, float* dx, size_t n, size_t len, size_t dyRow, size_t off, bool acc) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const float g = dy[(i / len) * dyRow + off + i % len];
    dx[i] = acc ? __fadd_rn(dx[i], g) : g;
  }
}

template <typename T>
__global__ void reluKernel(const T* x, T* y, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    y[i] = fromF<T>(fmaxf(toF(x[i]), 0.0f));
}

template <typename T>
__global__ void scaleShiftKernel(T* x, const T* scale, const T* shift, size_t n, int C, int HW, bool relu) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const int c = static_cast<int>((i / HW) % C);
    float v = toF(x[i]) * (scale ? toF(scale[c]) : 1.0f) + toF(shift[c]);
    x[i] = fromF<T>(relu ? fmaxf(v, 0.0f) : v);
  }
}

// ---- backward --------------------------------------------------------------------------------
#define ZENNAS_GRID_LOOP(i, n) for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < (n); i += size_t(gridDim.x) * blockDim.x)

__device__ __forceinline__ void store(float* dx, size_t i, float d, bool acc) { dx[i] = acc ? __fadd_rn(dx[i], d) : d; }

__global__ void reluBwdKernel(const float* y, const float* dy, float* dx, size_t n, bool acc) {
  ZENNAS_GRID_LOOP(i, n) store(dx, i, y[i] > 0.0f ? dy[i] : 0.0f, acc);
}

__global__ void sigmoidBwdKernel(const float* y, const float* dy, float* dx, size_t n, bool acc) {
  // The CPU's dy·y·(1 − y), left to right, no contraction.
  ZENNAS_GRID_LOOP(i, n) store(dx, i, __fmul_rn(__fmul_rn(dy[i], y[i]), __fsub_rn(1.0f, y[i])), acc);
}

__global__ void swishBwdKernel(const float* x, const float* dy, float* dx, size_t n, bool acc) {
  ZENNAS_GRID_LOOP(i, n) {
    const double v = x[i], sg = 1.0 / (1.0 + exp(-v));
    // s + x·s·(1 − s), as the CPU (double, no contraction)
    const double d = __dadd_rn(sg, __dmul_rn(__dmul_rn(v, sg), __dsub_rn(1.0, sg)));
    store(dx, i, static_cast<float>(__dmul_rn(static_cast<double>(dy[i]), d)), acc);
  }
}

// From the input, PyTorch's rules: hswish' = 0 (x ≤ −3), x/3 + ½ (−3 < x < 3), 1; hsigmoid' = 1/6 on (−3, 3), else 0.
__global__ void hswishBwdKernel(const float* x, const float* dy, float* dx, size_t n, bool acc) {
  ZENNAS_GRID_LOOP(i, n) {
    const double v = x[i];
    const double slope = v <= -3.0 ? 0.0 : (v < 3.0 ? __dadd_rn(__ddiv_rn(v, 3.0), 0.5) : 1.0);
    store(dx, i, static_cast<float>(__dmul_rn(static_cast<double>(dy[i]), slope)), acc);
  }
}

__global__ void hsigmoidBwdKernel(const float* x, const float* dy, float* dx, size_t n, bool acc) {
  ZENNAS_GRID_LOOP(i, n) {
    const double v = x[i];
    store(dx, i, v > -3.0 && v < 3.0 ? static_cast<float>(__ddiv_rn(static_cast<double>(dy[i]), 6.0)) : 0.0f, acc);
  }
}

__global__ void accumulateKernel(const float* dy, float* dx, size_t n, bool acc) {
  ZENNAS_GRID_LOOP(i, n) store(dx, i, dy[i], acc);
}

__global__ void gapBwdKernel(const float* dy, float* dx, size_t n, int HW, bool acc) {
  ZENNAS_GRID_LOOP(i, n) store(dx, i, __fdiv_rn(dy[i / HW], static_cast<float>(HW)), acc);
}

__global__ void channelMulBwdXKernel(const float* dy, const float* gate, float* dx, size_t n, int HW, bool acc) {
  ZENNAS_GRID_LOOP(i, n) store(dx, i, __fmul_rn(dy[i], gate[i / HW]), acc);
}

// One block per (n, c) plane.
__global__ void channelMulBwdGateKernel(const float* dy, const float* x, float* dgate, int HW, bool acc) {
  const size_t base = static_cast<size_t>(blockIdx.x) * HW;
  double s = 0.0;
  for (int p = threadIdx.x; p < HW; p += blockDim.x) s += static_cast<double>(dy[base + p]) * static_cast<double>(x[base + p]);
  s = blockSum(s);
  if (threadIdx.x == 0) store(dgate, blockIdx.x, static_cast<float>(s), acc);
}

__global__ void maxPoolArgmaxKernel(const float* x, int32_t* argmax, int N, int C, int H, int W, int Ho, int Wo, int k, int stride) {
  const int pad = (k - 1) / 2;
  const size_t n = static_cast<size_t>(N) * C * Ho * Wo;
  ZENNAS_GRID_LOOP(i, n) {
    const int wo = static_cast<int>(i % Wo);
    const int ho = static_cast<int>((i / Wo) % Ho);
    const float* src = x + (i / (static_cast<size_t>(Wo) * Ho)) * H * W;
    float best = -INFINITY;
    int at = -1;
    for (int ky = 0; ky < k; ++ky) {
      const int iy = ho * stride - pad + ky;
      if (iy < 0 || iy >= H) continue;
      for (int kx = 0; kx < k; ++kx) {
        const int ix = wo * stride - pad + kx;
        if (ix < 0 || ix >= W) continue;
        const float v = src[iy * W + ix];
        if (at < 0 || v > best) { best = v; at = iy * W + ix; }  // the first maximum (PyTorch's tie rule)
      }
    }
    argmax[i] = at;
  }
}

/** Outputs o of a window op (size k, stride s, pad) whose window covers input coordinate i: [lo, hi]. */
__device__ __forceinline__ void coveringOutputs(int i, int k, int s, int pad, int nOut, int& lo, int& hi) {
  const int first = i + pad - k + 1;
  lo = first <= 0 ? 0 : (first + s - 1) / s;
  hi = min(nOut - 1, (i + pad) / s);
}

__global__ void maxPoolBwdKernel(const int32_t* argmax, const float* dy, float* dx, int N, int C, int H, int W, int Ho, int Wo,
                                 int k, int stride, bool acc) {
  const int pad = (k - 1) / 2;
  const size_t n = static_cast<size_t>(N) * C * H * W;
  ZENNAS_GRID_LOOP(i, n) {
    const int ix = static_cast<int>(i % W);
    const int iy = static_cast<int>((i / W) % H);
    const size_t plane = i / (static_cast<size_t>(W) * H);
    const int32_t* am = argmax + plane * Ho * Wo;
    const float* g = dy + plane * Ho * Wo;
    const int32_t me = iy * W + ix;
    int oy0, oy1, ox0, ox1;
    coveringOutputs(iy, k, stride, pad, Ho, oy0, oy1);
    coveringOutputs(ix, k, stride, pad, Wo, ox0, ox1);
    float s = acc ? dx[i] : 0.0f;  // the CPU adds the windows' dy in output raster order
    for (int oy = oy0; oy <= oy1; ++oy)
      for (int ox = ox0; ox <= ox1; ++ox)
        if (am[oy * Wo + ox] == me) s = __fadd_rn(s, g[oy * Wo + ox]);
    dx[i] = s;
  }
}

__global__ void avgPoolBwdKernel(const float* dy, float* dx, int N, int C, int H, int W, int Ho, int Wo, int k, int stride, int pad,
                                 bool countIncludePad, bool acc) {
  const size_t n = static_cast<size_t>(N) * C * H * W;
  ZENNAS_GRID_LOOP(i, n) {
    const int ix = static_cast<int>(i % W);
    const int iy = static_cast<int>((i / W) % H);
    const float* g = dy + (i / (static_cast<size_t>(W) * H)) * Ho * Wo;
    int oy0, oy1, ox0, ox1;
    coveringOutputs(iy, k, stride, pad, Ho, oy0, oy1);
    coveringOutputs(ix, k, stride, pad, Wo, ox0, ox1);
    float s = acc ? dx[i] : 0.0f;
    for (int oy = oy0; oy <= oy1; ++oy)
      for (int ox = ox0; ox <= ox1; ++ox)
        s = __fadd_rn(s, __fdiv_rn(g[oy * Wo + ox], avgDivisor(oy, ox, H, W, k, stride, pad, countIncludePad)));
    dx[i] = s;
  }
}

// grid = (C, splits): block (c, s) sums a fixed strided slice of channel c's N·HW values.
__global__ void bnBwdPartialKernel(const float* x, const float* dy, const float* mean, const float* invstd, int N, int C, int HW,
                                   int splits, double* partial) {
  const int c = blockIdx.x, sp = blockIdx.y;
  const long long count = static_cast<long long>(N) * HW;
  const float m = mean[c], is = invstd[c];
  double sdy = 0.0, sdyx = 0.0;
  for (long long i = static_cast<long long>(sp) * blockDim.x + threadIdx.x; i < count; i += static_cast<long long>(splits) * blockDim.x) {
    const long long n = i / HW, p = i - n * HW;
    const size_t at = (static_cast<size_t>(n) * C + c) * HW + p;
    const double g = dy[at];
    sdy += g;
    sdyx += g * static_cast<double>(__fmul_rn(__fsub_rn(x[at], m), is));
  }
  sdy = blockSum(sdy);
  sdyx = blockSum(sdyx);
  if (threadIdx.x == 0) {
    double* out = partial + (static_cast<size_t>(c) * splits + sp) * 2;
    out[0] = sdy;
    out[1] = sdyx;
  }
}

__global__ void bnBwdFinalizeKernel(const double* partial, int C, int splits, long long count, float* dgamma, float* dbeta,
                                    float* coef) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  double sdy = 0.0, sdyx = 0.0;
  const double* p = partial + static_cast<size_t>(c) * splits * 2;
  for (int s = 0; s < splits; ++s) { sdy += p[2 * s]; sdyx += p[2 * s + 1]; }
  dgamma[c] = static_cast<float>(sdyx);
  dbeta[c] = static_cast<float>(sdy);
  coef[2 * c] = static_cast<float>(sdy / static_cast<double>(count));
  coef[2 * c + 1] = static_cast<float>(sdyx / static_cast<double>(count));
}

__global__ void bnBwdApplyKernel(const float* x, const float* dy, float* dx, const float* mean, const float* invstd, const float* coef,
                                 size_t n, int C, int HW, bool acc) {
  ZENNAS_GRID_LOOP(i, n) {
    const int c = static_cast<int>((i / HW) % C);
    const float is = invstd[c], a = coef[2 * c], b = coef[2 * c + 1];
    const float xh = __fmul_rn(__fsub_rn(x[i], mean[c]), is);
    // invstd·(dy − a − x̂·b), evaluated as the CPU does (left to right, no contraction)
    store(dx, i, __fmul_rn(is, __fsub_rn(__fsub_rn(dy[i], a), __fmul_rn(xh, b))), acc);
  }
}

__global__ void linearBwdWeightKernel(const float* x, const float* dy, float* dw, int N, int cin, int cout) {
  const size_t n = static_cast<size_t>(cout) * cin;
  ZENNAS_GRID_LOOP(t, n) {
    const int o = static_cast<int>(t / cin), i = static_cast<int>(t % cin);
    double s = 0.0;
    for (int b = 0; b < N; ++b) s += static_cast<double>(dy[static_cast<size_t>(b) * cout + o]) * static_cast<double>(x[static_cast<size_t>(b) * cin + i]);
    dw[t] = static_cast<float>(s);
  }
}

__global__ void linearBwdBiasKernel(const float* dy, float* db, int N, int cout) {
  ZENNAS_GRID_LOOP(o, static_cast<size_t>(cout)) {
    double s = 0.0;
    for (int b = 0; b < N; ++b) s += dy[static_cast<size_t>(b) * cout + o];
    db[o] = static_cast<float>(s);
  }
}

__global__ void linearBwdDataKernel(const float* dy, const float* w, float* dx, int N, int cin, int cout, bool acc) {
  const size_t n = static_cast<size_t>(N) * cin;
  ZENNAS_GRID_LOOP(t, n) {
    const int b = static_cast<int>(t / cin), i = static_cast<int>(t % cin);
    const float* g = dy + static_cast<size_t>(b) * cout;
    double s = 0.0;
    for (int o = 0; o < cout; ++o) s += static_cast<double>(g[o]) * static_cast<double>(w[static_cast<size_t>(o) * cin + i]);
    store(dx, t, static_cast<float>(s), acc);
  }
}

// ---- loss heads, reductions --------------------------------------------------------------------
__global__ void lossSumPartialKernel(const float* y, float* dy, size_t n, double* partial) {
  double s = 0.0;
  ZENNAS_GRID_LOOP(i, n) {
    s += y[i];
    dy[i] = 1.0f;
  }
  s = blockSum(s);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

__global__ void lossSumFinishKernel(const double* partial, int blocks, const RepeatArgs* args) {
  double s = 0.0;
  for (int i = 0; i < blocks; ++i) s += partial[i];
  args->results[2 * static_cast<size_t>(args->index)] = s;
}

/** Block-wide max (blockDim.x a multiple of 32); the result is valid in every thread. */
__device__ double blockMaxAll(double v) {
  __shared__ double shared[32];
  __shared__ double result;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int off = 16; off > 0; off >>= 1) v = fmax(v, __shfl_down_sync(0xffffffffu, v, off));
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (warp == 0) {
    const int nWarps = (blockDim.x + 31) >> 5;
    v = lane < nWarps ? shared[lane] : -INFINITY;
    for (int off = 16; off > 0; off >>= 1) v = fmax(v, __shfl_down_sync(0xffffffffu, v, off));
    if (lane == 0) result = v;
  }
  __syncthreads();
  return result;
}

// One block per sample n.
__global__ void crossEntropyKernel(const float* y, float* dy, int N, int classes, const int32_t* labels, const RepeatArgs* args,
                                   double* perSample) {
  __shared__ double lseShared;
  __shared__ int labelShared;
  const int n = blockIdx.x;
  const float* row = y + static_cast<size_t>(n) * classes;
  float* grow = dy + static_cast<size_t>(n) * classes;
  if (threadIdx.x == 0) {
    if (args->hasLabels) {
      labelShared = labels[n];
    } else {  // label n of repeat r: floor(x · classes / 2³²), x = lane n mod 4 of Philox(n/4, labels stream, r, 0)
      const uint64_t seed = args->seed;
      const Philox4 r = philox4x32_10(static_cast<uint32_t>(n / 4), kStreamLabels, args->repeat, 0u, static_cast<uint32_t>(seed & 0xFFFFFFFFull),
                                      static_cast<uint32_t>(seed >> 32));
      labelShared = static_cast<int>((static_cast<uint64_t>(r.x[n % 4]) * static_cast<uint64_t>(classes)) >> 32);
    }
  }
  double mx = -INFINITY;
  for (int c = threadIdx.x; c < classes; c += blockDim.x) mx = fmax(mx, static_cast<double>(row[c]));
  mx = blockMaxAll(mx);
  double z = 0.0;
  for (int c = threadIdx.x; c < classes; c += blockDim.x) z += exp(static_cast<double>(row[c]) - mx);
  z = blockSum(z);
  if (threadIdx.x == 0) lseShared = mx + log(z);
  __syncthreads();
  const double lse = lseShared;
  const int label = labelShared;
  for (int c = threadIdx.x; c < classes; c += blockDim.x) {
    const double p = exp(static_cast<double>(row[c]) - lse);
    grow[c] = static_cast<float>((p - (c == label ? 1.0 : 0.0)) / static_cast<double>(N));
  }
  if (threadIdx.x == 0) perSample[n] = lse - static_cast<double>(row[label]);
}

__global__ void lossCeFinishKernel(const double* perSample, int N, const RepeatArgs* args) {
  double s = 0.0;
  for (int n = 0; n < N; ++n) s += perSample[n];
  args->results[2 * static_cast<size_t>(args->index)] = s / static_cast<double>(N);
}

__global__ void sumSquaresPartialKernel(const float* x, size_t n, double* partial) {
  double s = 0.0;
  ZENNAS_GRID_LOOP(i, n) {
    const double v = x[i];
    s += v * v;
  }
  s = blockSum(s);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

__global__ void gradNormFinishKernel(const double* partial, int blocks, const RepeatArgs* args) {
  double s = 0.0;
  for (int i = 0; i < blocks; ++i) s += partial[i];
  args->results[2 * static_cast<size_t>(args->index) + 1] = sqrt(s);
}

#undef ZENNAS_GRID_LOOP

}  // namespace

// ---- launchers -------------------------------------------------------------------------------
void launchAdvanceRepeat(RepeatArgs* args, cudaStream_t stream) { advanceRepeatKernel<<<1, 1, 0, stream>>>(args); }

void launchNormalFill(float* dst, size_t n, const RepeatArgs* args, uint32_t streamId, cudaStream_t stream) {
  normalFillKernel<<<gridFor((n + 3) / 4), kThreads, 0, stream>>>(dst, n, args, streamId);
}

void launchZenInput(float* dst, size_t perHalf, const RepeatArgs* args, cudaStream_t stream) {
  zenInputKernel<<<gridFor((perHalf + 3) / 4), kThreads, 0, stream>>>(dst, perHalf, args);
}

void launchParamFill(float* dst, size_t n, size_t first, const RepeatArgs* args, uint32_t streamId, double bound, bool bias,
                     cudaStream_t stream) {
  paramFillKernel<<<gridFor(n), kThreads, 0, stream>>>(dst, n, first, args, streamId, bound, bias);
}

void launchFillF32(float* p, size_t n, float v, cudaStream_t stream) { fillKernel<float><<<gridFor(n), kThreads, 0, stream>>>(p, n, v); }

void launchFillF64(double* p, size_t n, double v, cudaStream_t stream) { fillKernel<double><<<gridFor(n), kThreads, 0, stream>>>(p, n, v); }

void launchFillNormalTyped(void* dst, DType t, size_t n, uint64_t seed, uint32_t streamId, float scale,
                           cudaStream_t stream) {
  if (t == DType::F32)
    fillTypedKernel<float><<<gridFor((n + 3) / 4), kThreads, 0, stream>>>(static_cast<float*>(dst), n, seed, streamId, scale);
  else
    fillTypedKernel<__half><<<gridFor((n + 3) / 4), kThreads, 0, stream>>>(static_cast<__half*>(dst), n, seed, streamId, scale);
}

void launchConvertF32(const float* src, void* dst, DType t, size_t n, cudaStream_t stream) {
  if (t == DType::F32)
    convertKernel<float><<<gridFor(n), kThreads, 0, stream>>>(src, static_cast<float*>(dst), n);
  else
    convertKernel<__half><<<gridFor(n), kThreads, 0, stream>>>(src, static_cast<__half*>(dst), n);
}

int bnSplits(int halves, int perHalfN, int C, int HW) {
  // Aim for ≥ ~1024 blocks in all (fills a 132-SM H100 several times) but ≥ 4096 values per block.
  const long long count = static_cast<long long>(perHalfN) * HW;
  const long long want = std::max<long long>(1, 1024 / std::max(1, halves * C));
  const long long cap = std::max<long long>(1, count / 4096);
  return static_cast<int>(std::min<long long>(std::min(want, cap), 1024));
}

void launchBnPartial(const float* x, int halves, int perHalfN, int C, int HW, int splits, double* partial,
                     cudaStream_t stream) {
  dim3 grid(C, splits, halves);
  bnPartialKernel<<<grid, kThreads, 0, stream>>>(x, perHalfN, C, HW, splits, partial);
}

void launchBnFinalize(const double* partial, int halves, int C, int splits, long long count, const RepeatArgs* args,
                      float* mean, float* invstd, double* varClean, double* runningVar, cudaStream_t stream) {
  bnFinalizeKernel<<<(C + 127) / 128, 128, 0, stream>>>(partial, halves, C, splits, count, args, mean, invstd,
                                                         varClean, runningVar);
}

void launchBnSigmaTerm(const double* var, int C, double* term, cudaStream_t stream) {
  bnSigmaTermKernel<<<1, kThreads, 0, stream>>>(var, C, term);
}

void launchBnApply(const float* x, float* y, const float* mean, const float* invstd, int halves, int perHalfN, int C, int HW,
                   bool relu, cudaStream_t stream) {
  const size_t n = static_cast<size_t>(halves) * perHalfN * C * HW;
  bnApplyKernel<<<gridFor(n), kThreads, 0, stream>>>(x, y, mean, invstd, perHalfN, C, HW, n, relu);
}

int l1Blocks(size_t n) { return static_cast<int>(std::min<size_t>(gridFor(n), 1024)); }

void launchL1Partial(const float* a, const float* b, size_t n, int blocks, double* partial, cudaStream_t stream) {
  l1PartialKernel<<<blocks, kThreads, 0, stream>>>(a, b, n, partial);
}

void launchZenFinish(const double* partial, int blocks, double batch, const double* sigmaTerms, int nBn,
                     const RepeatArgs* args, cudaStream_t stream) {
  zenFinishKernel<<<1, 1, 0, stream>>>(partial, blocks, batch, sigmaTerms, nBn, args);
}

template <typename T> static T* P(void* p) { return static_cast<T*>(p); }

void launchMaxPool(const void* x, void* y, DType t, int N, int C, int H, int W, int Ho, int Wo, int k, int stride,
                   cudaStream_t stream) {
  const size_t n = static_cast<size_t>(N) * C * Ho * Wo;
  if (t == DType::F32)
    maxPoolKernel<float><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const float*>(x), static_cast<float*>(y), N, C, H, W, Ho, Wo, k, stride);
  else
    maxPoolKernel<__half><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const __half*>(x), static_cast<__half*>(y), N, C, H, W, Ho, Wo, k, stride);
}

void launchGap(const void* x, void* y, DType t, int N, int C, int HW, cudaStream_t stream) {
  const unsigned planes = static_cast<unsigned>(N) * C;
  const int threads = HW >= 256 ? 256 : (HW >= 64 ? 64 : 32);
  if (t == DType::F32)
    gapKernel<float><<<planes, threads, 0, stream>>>(static_cast<const float*>(x), static_cast<float*>(y), HW);
  else
    gapKernel<__half><<<planes, threads, 0, stream>>>(static_cast<const __half*>(x), static_cast<__half*>(y), HW);
}

void launchLinear(const void* x, const void* w, const void* bias, void* y, DType t, int N, int cin, int cout,
                  cudaStream_t stream) {
  const size_t threads = static_cast<size_t>(N) * cout * 32;
  const unsigned blocks = static_cast<unsigned>((threads + kThreads - 1) / kThreads);
  if (t == DType::F32)
    linearKernel<float><<<blocks, kThreads, 0, stream>>>(static_cast<const float*>(x), static_cast<const float*>(w),
                                                         static_cast<const float*>(bias), static_cast<float*>(y), N, cin, cout);
  else
    linearKernel<__half><<<blocks, kThreads, 0, stream>>>(static_cast<const __half*>(x), static_cast<const __half*>(w),
                                                          static_cast<const __half*>(bias), static_cast<__half*>(y), N, cin, cout);
}

void launchSigmoid(const void* x, void* y, DType t, size_t n, cudaStream_t stream) {
  if (t == DType::F32) sigmoidKernel<float><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const float*>(x), P<float>(y), n);
  else sigmoidKernel<__half><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const __half*>(x), P<__half>(y), n);
}

void launchSwish(const void* x, void* y, DType t, size_t n, cudaStream_t stream) {
  if (t == DType::F32) swishKernel<float><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const float*>(x), P<float>(y), n);
  else swishKernel<__half><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const __half*>(x), P<__half>(y), n);
}

void launchHswish(const void* x, void* y, DType t, size_t n, cudaStream_t stream) {
  if (t == DType::F32) hswishKernel<float><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const float*>(x), P<float>(y), n);
  else hswishKernel<__half><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const __half*>(x), P<__half>(y), n);
}

void launchHsigmoid(const void* x, void* y, DType t, size_t n, cudaStream_t stream) {
  if (t == DType::F32) hsigmoidKernel<float><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const float*>(x), P<float>(y), n);
  else hsigmoidKernel<__half><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const __half*>(x), P<__half>(y), n);
}

void launchAvgPool(const void* x, void* y, DType t, int N, int C, int H, int W, int Ho, int Wo, int k, int stride, int pad,
                   bool countIncludePad, cudaStream_t stream) {
  const size_t n = static_cast<size_t>(N) * C * Ho * Wo;
  if (t == DType::F32)
    avgPoolKernel<float><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const float*>(x), static_cast<float*>(y), N, C, H, W, Ho, Wo, k,
                                                              stride, pad, countIncludePad);
  else
    avgPoolKernel<__half><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const __half*>(x), static_cast<__half*>(y), N, C, H, W, Ho, Wo,
                                                               k, stride, pad, countIncludePad);
}

void launchChannelMul(const void* x, const void* gate, void* y, DType t, int N, int C, int HW, cudaStream_t stream) {
  const size_t n = static_cast<size_t>(N) * C * HW;
  if (t == DType::F32)
    channelMulKernel<float><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const float*>(x), static_cast<const float*>(gate), P<float>(y), n, HW);
  else
    channelMulKernel<__half><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const __half*>(x), static_cast<const __half*>(gate), P<__half>(y), n, HW);
}

void launchAdd(const void* a, const void* b, void* y, DType t, size_t n, bool relu, cudaStream_t stream) {
  if (t == DType::F32)
    addKernel<float><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const float*>(a), static_cast<const float*>(b), P<float>(y), n, relu);
  else
    addKernel<__half><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const __half*>(a), static_cast<const __half*>(b), P<__half>(y), n, relu);
}

void launchConcatCopy(const void* x, void* y, DType t, int N, size_t len, size_t yRow, size_t off, cudaStream_t stream) {
  const size_t n = static_cast<size_t>(N) * len;
  if (n == 0) return;
  if (t == DType::F32)
    concatCopyKernel<float><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const float*>(x), P<float>(y), n, len, yRow, off);
  else
    concatCopyKernel<__half><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const __half*>(x), P<__half>(y), n, len, yRow, off);
}

void launchCrop(const void* x, void* y, DType t, int NC, int H, int W, int Ho, int Wo, int o, cudaStream_t stream) {
  const size_t n = static_cast<size_t>(NC) * Ho * Wo;
  if (n == 0) return;
  if (t == DType::F32) cropKernel<float><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const float*>(x), P<float>(y), n, H, W, Ho, Wo, o);
  else cropKernel<__half><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const __half*>(x), P<__half>(y), n, H, W, Ho, Wo, o);
}

void launchCropBwd(const float* dy, float* dx, int NC, int H, int W, int Ho, int Wo, int o, bool acc, cudaStream_t stream) {
  const size_t n = static_cast<size_t>(NC) * H * W;
  if (n == 0) return;
  cropBwdKernel<<<gridFor(n), kThreads, 0, stream>>>(dy, dx, n, H, W, Ho, Wo, o, acc);
}

void launchConcatSliceBwd(const float* dy, float* dx, int N, size_t len, size_t dyRow, size_t off, bool acc, cudaStream_t stream) {
  const size_t n = static_cast<size_t>(N) * len;
  if (n == 0) return;
  concatSliceBwdKernel<<<gridFor(n), kThreads, 0, stream>>>(dy, dx, n, len, dyRow, off, acc);
}

void launchRelu(const void* x, void* y, DType t, size_t n, cudaStream_t stream) {
  if (t == DType::F32) reluKernel<float><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const float*>(x), P<float>(y), n);
  else reluKernel<__half><<<gridFor(n), kThreads, 0, stream>>>(static_cast<const __half*>(x), P<__half>(y), n);
}

void launchBiasAct(void* y, const void* bias, DType t, int N, int C, int HW, bool relu, cudaStream_t stream) {
  launchScaleShift(y, nullptr, bias, t, N, C, HW, relu, stream);
}

void launchScaleShift(void* x, const void* scale, const void* shift, DType t, int N, int C, int HW, bool relu,
                      cudaStream_t stream) {
  const size_t n = static_cast<size_t>(N) * C * HW;
  if (t == DType::F32)
    scaleShiftKernel<float><<<gridFor(n), kThreads, 0, stream>>>(P<float>(x), static_cast<const float*>(scale),
                                                                 static_cast<const float*>(shift), n, C, HW, relu);
  else
    scaleShiftKernel<__half><<<gridFor(n), kThreads, 0, stream>>>(P<__half>(x), static_cast<const __half*>(scale),
                                                                  static_cast<const __half*>(shift), n, C, HW, relu);
}

// ---- backward launchers ------------------------------------------------------------------------
void launchReluBwd(const float* y, const float* dy, float* dx, size_t n, bool acc, cudaStream_t stream) {
  reluBwdKernel<<<gridFor(n), kThreads, 0, stream>>>(y, dy, dx, n, acc);
}

void launchSigmoidBwd(const float* y, const float* dy, float* dx, size_t n, bool acc, cudaStream_t stream) {
  sigmoidBwdKernel<<<gridFor(n), kThreads, 0, stream>>>(y, dy, dx, n, acc);
}

void launchSwishBwd(const float* x, const float* dy, float* dx, size_t n, bool acc, cudaStream_t stream) {
  swishBwdKernel<<<gridFor(n), kThreads, 0, stream>>>(x, dy, dx, n, acc);
}

void launchHswishBwd(const float* x, const float* dy, float* dx, size_t n, bool acc, cudaStream_t stream) {
  hswishBwdKernel<<<gridFor(n), kThreads, 0, stream>>>(x, dy, dx, n, acc);
}

void launchHsigmoidBwd(const float* x, const float* dy, float* dx, size_t n, bool acc, cudaStream_t stream) {
  hsigmoidBwdKernel<<<gridFor(n), kThreads, 0, stream>>>(x, dy, dx, n, acc);
}

void launchAccumulate(const float* dy, float* dx, size_t n, bool acc, cudaStream_t stream) {
  accumulateKernel<<<gridFor(n), kThreads, 0, stream>>>(dy, dx, n, acc);
}

void launchGapBwd(const float* dy, float* dx, int N, int C, int HW, bool acc, cudaStream_t stream) {
  const size_t n = static_cast<size_t>(N) * C * HW;
  gapBwdKernel<<<gridFor(n), kThreads, 0, stream>>>(dy, dx, n, HW, acc);
}

void launchChannelMulBwdX(const float* dy, const float* gate, float* dx, int N, int C, int HW, bool acc, cudaStream_t stream) {
  const size_t n = static_cast<size_t>(N) * C * HW;
  channelMulBwdXKernel<<<gridFor(n), kThreads, 0, stream>>>(dy, gate, dx, n, HW, acc);
}

void launchChannelMulBwdGate(const float* dy, const float* x, float* dgate, int N, int C, int HW, bool acc, cudaStream_t stream) {
  const unsigned planes = static_cast<unsigned>(N) * C;
  const int threads = HW >= 256 ? 256 : (HW >= 64 ? 64 : 32);
  channelMulBwdGateKernel<<<planes, threads, 0, stream>>>(dy, x, dgate, HW, acc);
}

void launchMaxPoolArgmax(const float* x, int32_t* argmax, int N, int C, int H, int W, int Ho, int Wo, int k, int stride,
                         cudaStream_t stream) {
  const size_t n = static_cast<size_t>(N) * C * Ho * Wo;
  maxPoolArgmaxKernel<<<gridFor(n), kThreads, 0, stream>>>(x, argmax, N, C, H, W, Ho, Wo, k, stride);
}

void launchMaxPoolBwd(const int32_t* argmax, const float* dy, float* dx, int N, int C, int H, int W, int Ho, int Wo, int k,
                      int stride, bool acc, cudaStream_t stream) {
  const size_t n = static_cast<size_t>(N) * C * H * W;
  maxPoolBwdKernel<<<gridFor(n), kThreads, 0, stream>>>(argmax, dy, dx, N, C, H, W, Ho, Wo, k, stride, acc);
}

void launchAvgPoolBwd(const float* dy, float* dx, int N, int C, int H, int W, int Ho, int Wo, int k, int stride, int pad,
                      bool countIncludePad, bool acc, cudaStream_t stream) {
  const size_t n = static_cast<size_t>(N) * C * H * W;
  avgPoolBwdKernel<<<gridFor(n), kThreads, 0, stream>>>(dy, dx, N, C, H, W, Ho, Wo, k, stride, pad, countIncludePad, acc);
}

void launchBnBwdPartial(const float* x, const float* dy, const float* mean, const float* invstd, int N, int C, int HW,
                        int splits, double* partial, cudaStream_t stream) {
  dim3 grid(C, splits, 1);
  bnBwdPartialKernel<<<grid, kThreads, 0, stream>>>(x, dy, mean, invstd, N, C, HW, splits, partial);
}

void launchBnBwdFinalize(const double* partial, int C, int splits, long long count, float* dgamma, float* dbeta, float* coef,
                         cudaStream_t stream) {
  bnBwdFinalizeKernel<<<(C + 127) / 128, 128, 0, stream>>>(partial, C, splits, count, dgamma, dbeta, coef);
}

void launchBnBwdApply(const float* x, const float* dy, float* dx, const float* mean, const float* invstd, const float* coef,
                      int N, int C, int HW, bool acc, cudaStream_t stream) {
  const size_t n = static_cast<size_t>(N) * C * HW;
  bnBwdApplyKernel<<<gridFor(n), kThreads, 0, stream>>>(x, dy, dx, mean, invstd, coef, n, C, HW, acc);
}

void launchLinearBwdWeight(const float* x, const float* dy, float* dw, float* db, int N, int cin, int cout, cudaStream_t stream) {
  linearBwdWeightKernel<<<gridFor(static_cast<size_t>(cout) * cin), kThreads, 0, stream>>>(x, dy, dw, N, cin, cout);
  if (db) linearBwdBiasKernel<<<gridFor(static_cast<size_t>(cout)), kThreads, 0, stream>>>(dy, db, N, cout);
}

void launchLinearBwdData(const float* dy, const float* w, float* dx, int N, int cin, int cout, bool acc, cudaStream_t stream) {
  linearBwdDataKernel<<<gridFor(static_cast<size_t>(N) * cin), kThreads, 0, stream>>>(dy, w, dx, N, cin, cout, acc);
}

int reduceBlocks(size_t n) { return static_cast<int>(std::min<size_t>(gridFor(n), 1024)); }

void launchLossSumPartial(const float* y, float* dy, size_t n, int blocks, double* partial, cudaStream_t stream) {
  lossSumPartialKernel<<<blocks, kThreads, 0, stream>>>(y, dy, n, partial);
}

void launchLossSumFinish(const double* partial, int blocks, const RepeatArgs* args, cudaStream_t stream) {
  lossSumFinishKernel<<<1, 1, 0, stream>>>(partial, blocks, args);
}

void launchLossCrossEntropy(const float* y, float* dy, int N, int classes, const int32_t* labels, const RepeatArgs* args,
                            double* perSample, cudaStream_t stream) {
  crossEntropyKernel<<<N, kThreads, 0, stream>>>(y, dy, N, classes, labels, args, perSample);
}

void launchLossCeFinish(const double* perSample, int N, const RepeatArgs* args, cudaStream_t stream) {
  lossCeFinishKernel<<<1, 1, 0, stream>>>(perSample, N, args);
}

void launchSumSquaresPartial(const float* x, size_t n, int blocks, double* partial, cudaStream_t stream) {
  sumSquaresPartialKernel<<<blocks, kThreads, 0, stream>>>(x, n, partial);
}

void launchGradNormFinish(const double* partial, int blocks, const RepeatArgs* args, cudaStream_t stream) {
  gradNormFinishKernel<<<1, 1, 0, stream>>>(partial, blocks, args);
}

}  // namespace cuda
}  // namespace zennas
