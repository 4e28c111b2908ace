// IDENTITY: y = x (a cell's skip edge); in place it does nothing.
#include <cstring>

#include "op.h"

namespace zennas {
namespace cpu {
namespace {

void forward(const OpStep& s) {
  if (s.inputs[0] == s.out) return;
  s.perChannel(s.op.cout, [&](int64_t c) {
    std::memcpy(s.out + c * s.g.outStride, s.inputs[0] + c * s.g.inStride, sizeof(float) * static_cast<size_t>(s.images * s.inPlane()));
  });
}

void backward(const OpStep& s) {
  if (!s.dx[0] || s.dx[0] == s.dy) return;  // the input shares dy's buffer (Executor::grad)
  s.perChannel(s.op.cout, [&](int64_t c) { s.k.scaleBwd(s.dy + c * s.g.outStride, s.dx[0] + c * s.g.inStride, s.images * s.inPlane(), 1.f, s.acc[0]); });
}

}  // namespace
ZENNAS_CPU_OP(Identity, forward, backward);
}  // namespace cpu
}  // namespace zennas
