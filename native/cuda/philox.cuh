// Philox4x32-10 and the N(0,1) Box–Muller draw of native/DESCRIPTOR.md, usable from host and
// device code so the GPU draws the same weights/inputs as the CPU engine (same seed → same
// network). The Philox bits are identical; the Box–Muller log/sin/cos are CUDA's float64 ones
// (≤ 2 ulp of float64) rather than the CPU's fdlibm polynomials, so after rounding to float32 a
// draw can differ by one float32 ulp at a rounding tie — rare, and far below the 1e-3 score
// agreement. Untested on a GPU so far (no device was available when this was written).
#pragma once
#include <cstdint>
#include <cmath>

#if defined(__CUDACC__)
#define ZENNAS_HD __host__ __device__ __forceinline__
#else
#define ZENNAS_HD inline
#endif

namespace zennas {
namespace cuda {

/** Stream ids of DESCRIPTOR.md: weights of op i use i + 1. */
constexpr uint32_t kStreamInput = 0x40000000u;
constexpr uint32_t kStreamNoise = 0x40000001u;
constexpr uint32_t kStreamLabels = 0x40000002u;  // cross-entropy labels of the 'gradients' proxy

struct Philox4 { uint32_t x[4]; };

ZENNAS_HD void mulhilo32(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t p = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

/** Random123 Philox4x32 with 10 rounds; the first round uses the seed key, bumped after each. */
ZENNAS_HD Philox4 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo32(0xD2511F53u, c0, hi0, lo0);
    mulhilo32(0xCD9E8D57u, c2, hi1, lo1);
    const uint32_t n0 = hi1 ^ c1 ^ k0;
    const uint32_t n1 = lo1;
    const uint32_t n2 = hi0 ^ c3 ^ k1;
    const uint32_t n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  Philox4 r;
  r.x[0] = c0; r.x[1] = c1; r.x[2] = c2; r.x[3] = c3;
  return r;
}

/** u(x) = (x + 0.5) / 2^32, strictly inside (0, 1). */
ZENNAS_HD double philoxUniform(uint32_t x) { return (static_cast<double>(x) + 0.5) * (1.0 / 4294967296.0); }

/** Four N(0,1) draws (float64) of block j: lanes (0,1) from (x0,x1), lanes (2,3) from (x2,x3). */
ZENNAS_HD void philoxNormal4(uint64_t seed, uint32_t stream, uint32_t repeat, uint32_t j, double out[4]) {
  const uint32_t k0 = static_cast<uint32_t>(seed & 0xFFFFFFFFull);
  const uint32_t k1 = static_cast<uint32_t>(seed >> 32);
  const Philox4 r = philox4x32_10(j, stream, repeat, 0u, k0, k1);
  const double twoPi = 6.283185307179586476925286766559;
  for (int p = 0; p < 2; ++p) {
    const double rad = sqrt(-2.0 * log(philoxUniform(r.x[2 * p])));
    const double theta = twoPi * philoxUniform(r.x[2 * p + 1]);
    out[2 * p] = rad * cos(theta);
    out[2 * p + 1] = rad * sin(theta);
  }
}

}  // namespace cuda
}  // namespace zennas
