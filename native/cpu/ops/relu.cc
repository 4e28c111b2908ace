// RELU: max(x, 0); the gradient passes where the output is positive (0 at 0, as PyTorch).
#include "op.h"

namespace zennas {
namespace cpu {
namespace {

void forward(const OpStep& s) {
  s.perChannel(s.op.cout, [&](int64_t c) { s.k.relu(s.inputs[0] + c * s.g.inStride, s.out + c * s.g.outStride, s.images * s.inPlane()); });
}

void backward(const OpStep& s) {
  if (!s.dx[0]) return;
  s.perChannel(s.op.cout, [&](int64_t c) {
    s.k.reluBwd(s.out + c * s.g.outStride, s.dy + c * s.g.outStride, s.dx[0] + c * s.g.inStride, s.images * s.inPlane(), s.acc[0]);
  });
}

}  // namespace
ZENNAS_CPU_OP(Relu, forward, backward);
}  // namespace cpu
}  // namespace zennas
