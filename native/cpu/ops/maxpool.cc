// MAXPOOL: k×k, pad (k−1)/2 with −∞; the gradient goes to the first maximum in window order.
#include "op.h"

namespace zennas {
namespace cpu {
namespace {

void forward(const OpStep& s) {
  s.perChannel(s.op.cout, [&](int64_t c) { s.k.maxPool(s.g, s.inputs[0], s.out, c, c + 1); });
}

void backward(const OpStep& s) {
  if (!s.dx[0]) return;
  s.perChannel(s.op.cout, [&](int64_t c) { s.k.maxPoolBwd(s.g, s.inputs[0], s.dy, s.dx[0], c, c + 1, s.acc[0]); });
}

}  // namespace
ZENNAS_CPU_OP(MaxPool, forward, backward);
}  // namespace cpu
}  // namespace zennas
