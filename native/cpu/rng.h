// Vectorised Philox4x32-10 + Box–Muller (bit-identical to zennas::gaussianFillScalar).
#pragma once
#include <cstddef>
#include <cstdint>
#include "../common/philox.h"

namespace zennas {
namespace cpu {

using GaussianFillFn = void (*)(PhiloxKey key, uint32_t stream, uint32_t repeat, size_t begin, size_t end, float* out);

}  // namespace cpu
}  // namespace zennas
