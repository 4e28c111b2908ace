// Box–Muller in float64 with our own log / sin / cos (fdlibm polynomials), written as plain
// mul/add sequences so that the scalar code here and the AVX2 code in native/cpu/ produce the
// same bits (these translation units are compiled with -ffp-contract=off: no FMA contraction).
// The result is rounded to float32, so the < 1 ulp float64 differences from libm never show
// except at rare float32 rounding ties (DESCRIPTOR.md: "compute in float64, round to float32").
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace zennas {
namespace gm {

constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
constexpr double kLg1 = 6.666666666666735130e-01, kLg2 = 3.999999999940941908e-01, kLg3 = 2.857142874366239149e-01,
                 kLg4 = 2.222219843214978396e-01, kLg5 = 1.818357216161805012e-01, kLg6 = 1.531383769920937332e-01,
                 kLg7 = 1.479819860511658591e-01;
constexpr double kS1 = -1.66666666666666324348e-01, kS2 = 8.33333333332248946124e-03, kS3 = -1.98412698298579493134e-04,
                 kS4 = 2.75573137070700676789e-06, kS5 = -2.50507602534068634195e-08, kS6 = 1.58969099521155010221e-10;
constexpr double kC1 = 4.16666666666666019037e-02, kC2 = -1.38888888888741095749e-03, kC3 = 2.48015872894767294178e-05,
                 kC4 = -2.75573143513906633035e-07, kC5 = 2.08757232129817482790e-09, kC6 = -1.13596475577881948265e-11;
constexpr double kPiO2 = 1.57079632679489655800e+00;
constexpr double kSqrtHalf = 0.70710678118654757;
constexpr double kTwo52 = 4503599627370496.0;
constexpr double kInv2p32 = 1.0 / 4294967296.0;

/** u(x) = (x + 0.5) / 2^32, exact in float64. */
inline double uniformOpen(uint32_t x) { return (static_cast<double>(x) + 0.5) * kInv2p32; }

/** ln(u) for u in (0, 1) (normal doubles), fdlibm e_log.c reduction and polynomial. */
inline double logOpen(double u) {
  uint64_t bits;
  std::memcpy(&bits, &u, 8);
  uint64_t ebits = bits >> 52;                       // biased exponent (u > 0)
  uint64_t mbits = (bits & 0x000FFFFFFFFFFFFFull) | 0x3FE0000000000000ull;  // m in [0.5, 1)
  double m;
  std::memcpy(&m, &mbits, 8);
  double k;
  {
    uint64_t kb = ebits | 0x4330000000000000ull;      // 2^52 + ebits, exact
    std::memcpy(&k, &kb, 8);
    k = k - kTwo52;
    k = k - 1022.0;
  }
  if (m < kSqrtHalf) { m = m + m; k = k - 1.0; }   // m in [sqrt(1/2), sqrt(2))
  const double f = m - 1.0;
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double w = z * z;
  const double t1 = w * (kLg2 + w * (kLg4 + w * kLg6));
  const double t2 = z * (kLg1 + w * (kLg3 + w * (kLg5 + w * kLg7)));
  const double R = t2 + t1;
  const double hfsq = 0.5 * f * f;
  return k * kLn2Hi - ((hfsq - (s * (hfsq + R) + k * kLn2Lo)) - f);
}

/** sin and cos of a in [-pi/4, pi/4] (fdlibm k_sin.c / k_cos.c, no tail). */
inline void sinCosKernel(double a, double* s, double* c) {
  const double z = a * a;
  const double v = z * a;
  const double rs = kS2 + z * (kS3 + z * (kS4 + z * (kS5 + z * kS6)));
  *s = a + v * (kS1 + z * rs);
  const double rc = z * (kC1 + z * (kC2 + z * (kC3 + z * (kC4 + z * (kC5 + z * kC6)))));
  const double hz = 0.5 * z;
  const double w = 1.0 - hz;
  *c = w + (((1.0 - w) - hz) + z * rc);
}

/** (cos 2πu, sin 2πu) for u in (0,1): quadrant from 4u (exact), remainder r·π/2 in [-π/4, π/4]. */
inline void sinCosTwoPi(double u, double* cosOut, double* sinOut) {
  const double u4 = u * 4.0;
  const double q = std::nearbyint(u4);  // never a tie: 4u = (x + 0.5)/2^30
  const double a = (u4 - q) * kPiO2;
  double s, c;
  sinCosKernel(a, &s, &c);
  const bool swap = (q == 1.0) || (q == 3.0);
  double X = swap ? s : c, Y = swap ? c : s;
  if (q == 1.0 || q == 2.0) X = -X;
  if (q == 2.0 || q == 3.0) Y = -Y;
  *cosOut = X;
  *sinOut = Y;
}

/** The Box–Muller pair of (x0, x1): r·cos θ, r·sin θ with r = sqrt(−2 ln u0), θ = 2π u1. */
inline void boxMuller(uint32_t x0, uint32_t x1, double* g0, double* g1) {
  const double r = std::sqrt(-2.0 * logOpen(uniformOpen(x0)));
  double c, s;
  sinCosTwoPi(uniformOpen(x1), &c, &s);
  *g0 = r * c;
  *g1 = r * s;
}

}  // namespace gm
}  // namespace zennas
