// HSWISH (hard-swish, MobileNetV3; PyTorch Hardswish): x·min(max(x + 3, 0), 6)/6, in float64
// inside. Gradient from the input, PyTorch's rule: 0 for x ≤ −3, x/3 + ½ for −3 < x < 3, else 1.
#include <algorithm>

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
      y[i] = static_cast<float>(v * std::min(std::max(v + 3.0, 0.0), 6.0) / 6.0);
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
      const double v = x[i];
      const double slope = v <= -3.0 ? 0.0 : (v < 3.0 ? v / 3.0 + 0.5 : 1.0);
      const float d = static_cast<float>(static_cast<double>(dy[i]) * slope);
      dx[i] = s.acc[0] ? dx[i] + d : d;
    }
  });
}

}  // namespace
ZENNAS_CPU_OP(Hswish, forward, backward);
}  // namespace cpu
}  // namespace zennas
