// Philox4x32-10 (Random123) and the Gaussian mapping of native/DESCRIPTOR.md. The same function
// exists in src/rng/philox.ts and native/cuda/philox.cuh: a (seed, stream, repeat, element) tuple
// names the same number everywhere.
#pragma once
#include <cstddef>
#include <cstdint>

namespace zennas {

constexpr uint32_t kPhiloxM0 = 0xD2511F53u, kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u, kPhiloxW1 = 0xBB67AE85u;
constexpr uint32_t kStreamInput = 0x40000000u, kStreamNoise = 0x40000001u;

struct PhiloxKey {
  uint32_t k0, k1;
  static PhiloxKey fromSeed(uint64_t seed) { return {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)}; }
};

inline void philox4x32_10(const uint32_t ctr[4], PhiloxKey key, uint32_t out[4]) {
  uint32_t x0 = ctr[0], x1 = ctr[1], x2 = ctr[2], x3 = ctr[3];
  uint32_t k0 = key.k0, k1 = key.k1;
  for (int r = 0; r < 10; ++r) {
    if (r > 0) { k0 += kPhiloxW0; k1 += kPhiloxW1; }
    const uint64_t p0 = static_cast<uint64_t>(kPhiloxM0) * x0;
    const uint64_t p1 = static_cast<uint64_t>(kPhiloxM1) * x2;
    const uint32_t y0 = static_cast<uint32_t>(p1 >> 32) ^ x1 ^ k0;
    const uint32_t y2 = static_cast<uint32_t>(p0 >> 32) ^ x3 ^ k1;
    x1 = static_cast<uint32_t>(p1);
    x3 = static_cast<uint32_t>(p0);
    x0 = y0;
    x2 = y2;
  }
  out[0] = x0; out[1] = x1; out[2] = x2; out[3] = x3;
}

/**
 * Portable reference: elements [begin, end) of the standard-normal tensor of (key, stream, repeat),
 * written to out[0 .. end-begin). Float64 Box–Muller rounded to float32 (DESCRIPTOR.md).
 */
void gaussianFillScalar(PhiloxKey key, uint32_t stream, uint32_t repeat, size_t begin, size_t end, float* out);

}  // namespace zennas
