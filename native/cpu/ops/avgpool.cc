// AVGPOOL: k×k mean, pad (k−1)/2; countIncludePad 1 divides by k² (PyTorch's default), 0 by the in-bounds count.
#include "op.h"

namespace zennas {
namespace cpu {
namespace {

void forward(const OpStep& s) {
  s.perChannel(s.op.cout, [&](int64_t c) { s.k.avgPool(s.g, s.inputs[0], s.out, c, c + 1, s.op.countIncludePad != 0); });
}

void backward(const OpStep& s) {
  if (!s.dx[0]) return;
  s.perChannel(s.op.cout, [&](int64_t c) { s.k.avgPoolBwd(s.g, s.dy, s.dx[0], c, c + 1, s.op.countIncludePad != 0, s.acc[0]); });
}

}  // namespace
ZENNAS_CPU_OP(AvgPool, forward, backward);
}  // namespace cpu
}  // namespace zennas
