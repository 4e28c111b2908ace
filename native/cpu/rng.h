// Vectorised Philox4x32-10 + Box–Muller (bit-identical to zennas::gaussianFillScalar).
#pragma once
#include <cstddef>
#include <cstdint>
#include "../common/philox.h"

namespace zennas {
namespace cpu {

using GaussianFillFn = void (*)(PhiloxKey key, uint32_t stream, uint32_t repeat, size_t begin, size_t end, float* out);
/**
 * Elements [begin, end) of the uniform tensor U(−b, b) of (key, stream, repeat) (DESCRIPTOR.md
 * "Init 'torch'"): element n is b·(2·u(x) − 1), x = word n mod 4 of Philox(⌊n/4⌋, stream, repeat, 0),
 * u(x) = (x + 0.5)/2³², in float64, rounded to float32 once — the same bits in every build.
 */
using UniformFillFn = void (*)(PhiloxKey key, uint32_t stream, uint32_t repeat, int64_t begin, int64_t end, double bound, float* out);

}  // namespace cpu
}  // namespace zennas
