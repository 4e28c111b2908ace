#include <algorithm>

#include "../common/philox.h"
#include "proxy.h"

namespace zennas {
namespace cpu {

void drawGaussianImages(Executor& x, uint64_t seed, uint32_t stream, uint32_t repeat, int64_t img0, int64_t img1, ThreadPool& pool) {
  const Kernels& k = selectKernels();
  const PhiloxKey key = PhiloxKey::fromSeed(seed);
  const Shape s = x.descriptor().valueShape[0];
  const int64_t C = s.c, hw = s.plane(), cs = x.channelStride(0);
  const int64_t piece = std::min<int64_t>(hw, int64_t(1) << 18);
  const int64_t pieces = (hw + piece - 1) / piece;
  float* base = x.value(0);
  pool.parallelFor((img1 - img0) * C * pieces, [&](int64_t t, int, float*) {
    const int64_t plane = t / pieces, p = t % pieces;
    const int64_t img = plane / C, c = plane % C;
    const int64_t b = p * piece, e = std::min(hw, b + piece);
    const size_t src = static_cast<size_t>((img * C + c) * hw);
    k.gaussianFill(key, stream, repeat, src + static_cast<size_t>(b), src + static_cast<size_t>(e), base + c * cs + (img0 + img) * hw + b);
  });
}

}  // namespace cpu
}  // namespace zennas
