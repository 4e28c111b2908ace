// Convolutions on the engine's internal layout [C][N][H][W] (channel-major; N = 2B holds the
// clean and the perturbed forward side by side, so a 1×1 conv is one GEMM with B·H·W columns).
#pragma once
#include <cstdint>

namespace zennas {
namespace cpu {

struct ConvGeom {
  int64_t cin = 0, cout = 0, k = 1, stride = 1, pad = 0;
  int64_t dil = 1;        // dilation: tap kx reads column ox·stride − pad + kx·dil (DWCONV; 1 elsewhere)
  int64_t n = 0;          // images in the buffer (2B)
  int64_t h = 0, w = 0;   // input plane
  int64_t oh = 0, ow = 0; // output plane
  int64_t inStride = 0, outStride = 0;  // floats between channels (n·plane, padded against cache-set aliasing)
  int64_t K() const { return cin * k * k; }
  int64_t cols() const { return n * oh * ow; }
};

/** Dense conv (or LINEAR with k = 1, h = w = 1) for output columns [col0, col1) via packed GEMM. */
using ConvGemmFn = void (*)(const ConvGeom& g, const float* packedA, const float* in, float* out, int64_t col0, int64_t col1,
                            float* scratch);
/**
 * A 1×1 strided conv's input at the pixels it reads, channels [c0, c1): out[c][img][oy][ox] =
 * in[c][img][oy·s][ox·s] (out channels `outStride` apart) — the conv is then a 1×1 stride-1 GEMM.
 */
using SubsampleFn = void (*)(const ConvGeom& g, const float* in, float* out, int64_t outStride, int64_t c0, int64_t c1);
/** Depthwise conv of channels [c0, c1); weights [C][k][k]. */
using DwConvFn = void (*)(const ConvGeom& g, const float* w, const float* in, float* out, int64_t c0, int64_t c1);

}  // namespace cpu
}  // namespace zennas
