// GAP: the mean of every (channel, image) plane (float64 sum) → [C][1][1]; its gradient is dy/HW.
#include "op.h"

namespace zennas {
namespace cpu {
namespace {

void forward(const OpStep& s) {
  s.perChannel(s.op.cout, [&](int64_t c) { s.k.gap(s.g, s.inputs[0], s.out, c, c + 1); });
}

void backward(const OpStep& s) {
  float* dx = s.dx[0];
  if (!dx) return;
  const int64_t plane = s.inPlane();
  s.perChannel(s.op.cout, [&](int64_t c) {
    for (int64_t img = 0; img < s.images; ++img) {
      const float v = s.dy[c * s.g.outStride + img] / static_cast<float>(plane);
      float* p = dx + c * s.g.inStride + img * plane;
      if (s.acc[0]) for (int64_t j = 0; j < plane; ++j) p[j] += v;
      else for (int64_t j = 0; j < plane; ++j) p[j] = v;
    }
  });
}

}  // namespace
ZENNAS_CPU_OP(Gap, forward, backward);
}  // namespace cpu
}  // namespace zennas
