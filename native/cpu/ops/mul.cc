// MUL: x ⊙ gate, gate [C][1][1] per image broadcast over H×W (squeeze-excitation); the gate's
// gradient is Σ_hw dy·x (float64), x's is dy·gate.
#include "op.h"

namespace zennas {
namespace cpu {
namespace {

void forward(const OpStep& s) {
  const float* gate = s.inputs[1];
  const int64_t gs = s.inputStrides[1], plane = s.inPlane();
  s.perChannel(s.op.cout, [&](int64_t c) {
    for (int64_t img = 0; img < s.images; ++img)
      s.k.scale(s.inputs[0] + c * s.g.inStride + img * plane, s.out + c * s.g.outStride + img * plane, plane, gate[c * gs + img]);
  });
}

void backward(const OpStep& s) {
  const float* x = s.inputs[0];
  const float* gate = s.inputs[1];
  const int64_t gs = s.inputStrides[1], plane = s.inPlane(), oplane = s.outPlane();
  // x's gradient first, then the gate's: the executor's accumulation flags follow input order, so
  // when x and the gate are one value the gate part adds onto the x part.
  if (float* dx = s.dx[0])
    s.perChannel(s.op.cout, [&](int64_t c) {
      for (int64_t img = 0; img < s.images; ++img)
        s.k.scaleBwd(s.dy + c * s.g.outStride + img * oplane, dx + c * s.g.inStride + img * plane, plane, gate[c * gs + img], s.acc[0]);
    });
  if (float* dg = s.dx[1])
    s.perChannel(s.op.cout, [&](int64_t c) {
      for (int64_t img = 0; img < s.images; ++img) {
        const float v = static_cast<float>(s.k.dot(s.dy + c * s.g.outStride + img * oplane, x + c * s.g.inStride + img * plane, plane));
        dg[c * gs + img] = s.acc[1] ? dg[c * gs + img] + v : v;
      }
    });
}

}  // namespace
ZENNAS_CPU_OP(Mul, forward, backward);
}  // namespace cpu
}  // namespace zennas
