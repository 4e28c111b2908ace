// ZERO: y = 0 of the input's shape (a cell's "none" edge); no gradient flows back.
#include <cstring>

#include "op.h"

namespace zennas {
namespace cpu {
namespace {

void forward(const OpStep& s) {
  s.perChannel(s.op.cout, [&](int64_t c) { std::memset(s.out + c * s.g.outStride, 0, sizeof(float) * static_cast<size_t>(s.images * s.inPlane())); });
}

void backward(const OpStep& s) {
  if (!s.dx[0] || s.acc[0]) return;  // the first writer of the input's gradient writes zeros
  s.perChannel(s.op.cout, [&](int64_t c) { std::memset(s.dx[0] + c * s.g.inStride, 0, sizeof(float) * static_cast<size_t>(s.images * s.inPlane())); });
}

}  // namespace
ZENNAS_CPU_OP(Zero, forward, backward);
}  // namespace cpu
}  // namespace zennas
