// SWISH (SiLU): x·sigmoid(x), in float64 inside; gradient s + x·s·(1 − s) from the input.
#include <cmath>

#include "op.h"

namespace zennas {
namespace cpu {
namespace {

void forward(const OpStep& s) {
  mapForward(s, [](double v) { return v / (1.0 + std::exp(-v)); });
}

void backward(const OpStep& s) {
  mapBackwardFromInput(s, [](double v, double dy) {
    const double sg = 1.0 / (1.0 + std::exp(-v));
    return dy * (sg + v * sg * (1.0 - sg));
  });
}

}  // namespace
ZENNAS_CPU_OP(Swish, forward, backward);
}  // namespace cpu
}  // namespace zennas
