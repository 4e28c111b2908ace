// Max-pool (pad (k−1)/2 with −∞) and global average pool on [C][N][H][W].
#pragma once
#include <cstdint>
#include "conv.h"

namespace zennas {
namespace cpu {

/** Max-pool planes [p0, p1) (a plane = one (channel, image)); geometry as a conv. */
using MaxPoolFn = void (*)(const ConvGeom& g, const float* in, float* out, int64_t p0, int64_t p1);
/** out[p] = mean of plane p of in (plane length hw), float64 sum, for planes [p0, p1). */
using GapFn = void (*)(const float* in, float* out, int64_t hw, int64_t p0, int64_t p1);

}  // namespace cpu
}  // namespace zennas
