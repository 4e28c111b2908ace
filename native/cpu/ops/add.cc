// ADD: the sum of ≥ 2 inputs of one shape, in input order ((a + b) + c …); every input receives dy.
#include "op.h"

namespace zennas {
namespace cpu {
namespace {

void forward(const OpStep& s) {
  const int64_t len = s.images * s.inPlane();
  const size_t n = s.op.inputSlots.size();
  s.perChannel(s.op.cout, [&](int64_t c) {
    float* y = s.out + c * s.g.outStride;
    s.k.add(s.inputs[0] + c * s.inputStrides[0], s.inputs[1] + c * s.inputStrides[1], y, len);
    for (size_t j = 2; j < n; ++j) s.k.add(y, s.inputs[j] + c * s.inputStrides[j], y, len);
  });
}

void backward(const OpStep& s) {
  const int64_t len = s.images * s.inPlane();
  for (size_t j = 0; j < s.op.inputs.size(); ++j) {
    if (!s.dx[j] || s.dx[j] == s.dy) continue;  // none needed, or the input shares dy's buffer (Executor::grad)
    s.perChannel(s.op.cout, [&](int64_t c) { s.k.scaleBwd(s.dy + c * s.g.outStride, s.dx[j] + c * s.inputStrides[j], len, 1.f, s.acc[j]); });
  }
}

}  // namespace
ZENNAS_CPU_OP(Add, forward, backward);
}  // namespace cpu
}  // namespace zennas
