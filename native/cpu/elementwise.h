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

}  // namespace cpu
}  // namespace zennas
