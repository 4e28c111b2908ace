// CONCAT: the inputs (one H×W) stacked along channels in input order; input j's gradient is its
// channel slice of dy. Buffers are channel-major, so every output channel is one copy of a row.
#include <cstring>

#include "op.h"

namespace zennas {
namespace cpu {
namespace {

/** Input of output channel c and its channel there. */
inline void source(const OpDesc& o, int64_t c, size_t* j, int64_t* cj) {
  size_t k = 0;
  while (c >= o.inputChannels[k]) c -= o.inputChannels[k++];
  *j = k;
  *cj = c;
}

void forward(const OpStep& s) {
  const size_t len = static_cast<size_t>(s.images * s.outPlane());
  s.perChannel(s.op.cout, [&](int64_t c) {
    size_t j;
    int64_t cj;
    source(s.op, c, &j, &cj);
    std::memcpy(s.out + c * s.g.outStride, s.inputs[j] + cj * s.inputStrides[j], sizeof(float) * len);
  });
}

void backward(const OpStep& s) {
  const int64_t len = s.images * s.outPlane();
  s.perChannel(s.op.cout, [&](int64_t c) {
    size_t j;
    int64_t cj;
    source(s.op, c, &j, &cj);
    if (s.dx[j]) s.k.scaleBwd(s.dy + c * s.g.outStride, s.dx[j] + cj * s.inputStrides[j], len, 1.f, s.acc[j]);
  });
}

}  // namespace
ZENNAS_CPU_OP(Concat, forward, backward);
}  // namespace cpu
}  // namespace zennas
