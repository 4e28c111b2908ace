// SWISH (SiLU): x·sigmoid(x), in float64 inside; gradient s + x·s·(1 − s) from the input.
#include <cmath>

#include "op.h"

namespace zennas {
namespace cpu {
namespace {

void forward(const OpStep& s) {
  const int64_t len = s.images * s.inPlane();
  s.perChannel(s.op.cout, [&](int64_t c) {
    const float* x = s.inputs[0] + c * s.g.inStride;
    float* y = s.out + c * s.g.outStride;
    for (int64_t i = 0; i < len; ++i) {
      const double v = x[i];
      y[i] = static_cast<float>(v / (1.0 + std::exp(-v)));
    }
  });
}

void backward(const OpStep& s) {
  if (!s.dx[0]) return;
  const int64_t len = s.images * s.inPlane();
  s.perChannel(s.op.cout, [&](int64_t c) {
    const float* x = s.inputs[0] + c * s.g.inStride;
    const float* dy = s.dy + c * s.g.outStride;
    float* dx = s.dx[0] + c * s.g.inStride;
    for (int64_t i = 0; i < len; ++i) {
      const double v = x[i], sg = 1.0 / (1.0 + std::exp(-v));
      const float d = static_cast<float>(static_cast<double>(dy[i]) * (sg + v * sg * (1.0 - sg)));
      dx[i] = s.acc[0] ? dx[i] + d : d;
    }
  });
}

}  // namespace
ZENNAS_CPU_OP(Swish, forward, backward);
}  // namespace cpu
}  // namespace zennas
