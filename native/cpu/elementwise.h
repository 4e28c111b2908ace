// Element-wise ops and the SE gate: ReLU, sigmoid, add, and the broadcast multiply of MUL.
#pragma once
#include <cstdint>

namespace zennas {
namespace cpu {

using ReluFn = void (*)(const float* x, float* y, int64_t n);
using SigmoidFn = void (*)(const float* x, float* y, int64_t n);
using AddFn = void (*)(const float* a, const float* b, float* y, int64_t n);
/** y[i] = x[i]·g for i in [0, n) (one (channel, image) plane times its gate value). */
using ScaleFn = void (*)(const float* x, float* y, int64_t n, float g);
/** max |x[i]| over [0, n), exact (any order); a NaN gives a NaN, so a non-finite value is seen. */
using AbsMaxFn = float (*)(const float* x, int64_t n);

}  // namespace cpu
}  // namespace zennas
