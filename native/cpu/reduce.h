// Reductions for the score: Σ|a − b| in float64 (Δ of Zen-NAS Algorithm 1).
#pragma once
#include <cstdint>

namespace zennas {
namespace cpu {

using L1DiffFn = double (*)(const float* a, const float* b, int64_t n);

}  // namespace cpu
}  // namespace zennas
