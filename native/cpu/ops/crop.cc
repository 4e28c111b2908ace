// CROP: y = x[:, :, o:, o:] (the shifted half of DARTS's FactorizedReduce), with fill zero-padded
// back to H×W at the bottom and right (TE-NAS's); dx gets dy at the kept positions, 0 elsewhere.
#include <cstring>

#include "op.h"

namespace zennas {
namespace cpu {
namespace {

void forward(const OpStep& s) {
  const int64_t o = s.op.offset, h = s.op.in.h, w = s.op.in.w, oh = s.op.out.h, ow = s.op.out.w;
  s.perChannel(s.op.cout, [&](int64_t c) {
    for (int64_t n = 0; n < s.images; ++n) {
      const float* x = s.inputs[0] + c * s.g.inStride + n * h * w;
      float* y = s.out + c * s.g.outStride + n * oh * ow;
      if (s.op.fill) std::memset(y, 0, sizeof(float) * static_cast<size_t>(oh * ow));
      for (int64_t i = 0; i < h - o; ++i) std::memcpy(y + i * ow, x + (i + o) * w + o, sizeof(float) * static_cast<size_t>(w - o));
    }
  });
}

void backward(const OpStep& s) {
  if (!s.dx[0]) return;
  const int64_t o = s.op.offset, h = s.op.in.h, w = s.op.in.w, oh = s.op.out.h, ow = s.op.out.w;
  s.perChannel(s.op.cout, [&](int64_t c) {
    float* dxc = s.dx[0] + c * s.g.inStride;
    if (!s.acc[0]) std::memset(dxc, 0, sizeof(float) * static_cast<size_t>(s.images * h * w));
    for (int64_t n = 0; n < s.images; ++n) {
      const float* dy = s.dy + c * s.g.outStride + n * oh * ow;
      float* dx = dxc + n * h * w;
      for (int64_t i = 0; i < h - o; ++i)
        for (int64_t j = 0; j < w - o; ++j) dx[(i + o) * w + j + o] += dy[i * ow + j];
    }
  });
}

}  // namespace
ZENNAS_CPU_OP(Crop, forward, backward);
}  // namespace cpu
}  // namespace zennas
