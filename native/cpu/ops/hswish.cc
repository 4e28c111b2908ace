// HSWISH (hard-swish, MobileNetV3; PyTorch Hardswish): x·min(max(x + 3, 0), 6)/6, in float64
// inside. Gradient from the input, PyTorch's rule: 0 for x ≤ −3, x/3 + ½ for −3 < x < 3, else 1.
#include <algorithm>

#include "op.h"

namespace zennas {
namespace cpu {
namespace {

void forward(const OpStep& s) {
  mapForward(s, [](double v) { return v * std::min(std::max(v + 3.0, 0.0), 6.0) / 6.0; });
}

void backward(const OpStep& s) {
  mapBackwardFromInput(s, [](double v, double dy) { return dy * (v <= -3.0 ? 0.0 : (v < 3.0 ? v / 3.0 + 0.5 : 1.0)); });
}

}  // namespace
ZENNAS_CPU_OP(Hswish, forward, backward);
}  // namespace cpu
}  // namespace zennas
