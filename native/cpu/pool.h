// Max-pool (pad (k−1)/2 with −∞) and global average pool on [C][N][H][W].
#pragma once
#include <cstdint>
#include "conv.h"

namespace zennas {
namespace cpu {

/** Max-pool channels [c0, c1) (all images); geometry and channel strides as a conv. */
using MaxPoolFn = void (*)(const ConvGeom& g, const float* in, float* out, int64_t c0, int64_t c1);
/** out[c·outStride + n] = mean of plane (c, n) (float64 sum), channels [c0, c1). */
using GapFn = void (*)(const ConvGeom& g, const float* in, float* out, int64_t c0, int64_t c1);

}  // namespace cpu
}  // namespace zennas
