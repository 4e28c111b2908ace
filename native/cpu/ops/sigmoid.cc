// SIGMOID: 1 / (1 + e^−x) (float64 inside); the gradient y·(1 − y) from the output.
#include "op.h"

namespace zennas {
namespace cpu {
namespace {

void forward(const OpStep& s) {
  s.perChannel(s.op.cout, [&](int64_t c) { s.k.sigmoid(s.inputs[0] + c * s.g.inStride, s.out + c * s.g.outStride, s.images * s.inPlane()); });
}

void backward(const OpStep& s) {
  if (!s.dx[0]) return;
  s.perChannel(s.op.cout, [&](int64_t c) {
    s.k.sigmoidBwd(s.out + c * s.g.outStride, s.dy + c * s.g.outStride, s.dx[0] + c * s.g.inStride, s.images * s.inPlane(), s.acc[0]);
  });
}

}  // namespace
ZENNAS_CPU_OP(Sigmoid, forward, backward);
}  // namespace cpu
}  // namespace zennas
