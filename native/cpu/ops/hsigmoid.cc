// HSIGMOID (hard-sigmoid, MobileNetV3's SE gate; PyTorch Hardsigmoid, timm hard_sigmoid):
// min(max(x + 3, 0), 6)/6, in float64 inside. Gradient from the input, PyTorch's rule: 1/6 for
// −3 < x < 3, else 0.
#include <algorithm>

#include "op.h"

namespace zennas {
namespace cpu {
namespace {

void forward(const OpStep& s) {
  mapForward(s, [](double v) { return std::min(std::max(v + 3.0, 0.0), 6.0) / 6.0; });
}

void backward(const OpStep& s) {
  mapBackwardFromInput(s, [](double v, double dy) { return v > -3.0 && v < 3.0 ? dy / 6.0 : 0.0; });
}

}  // namespace
ZENNAS_CPU_OP(Hsigmoid, forward, backward);
}  // namespace cpu
}  // namespace zennas
