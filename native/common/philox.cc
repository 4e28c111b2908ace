#include "philox.h"

#include "gaussian_math.h"

namespace zennas {

void gaussianFillScalar(PhiloxKey key, uint32_t stream, uint32_t repeat, size_t begin, size_t end, float* out) {
  size_t n = begin;
  while (n < end) {
    const size_t j = n / 4;
    const uint32_t ctr[4] = {static_cast<uint32_t>(j), stream, repeat, 0};
    uint32_t x[4];
    philox4x32_10(ctr, key, x);
    double g[4];
    gm::boxMuller(x[0], x[1], &g[0], &g[1]);
    gm::boxMuller(x[2], x[3], &g[2], &g[3]);
    for (size_t lane = n % 4; lane < 4 && n < end; ++lane, ++n) out[n - begin] = static_cast<float>(g[lane]);
  }
}

}  // namespace zennas
