// Kernel bodies, compiled twice: in kernels_avx2.cc (-mavx2 -mfma, ZENNAS_ISA = avx2) and in
// kernels_scalar.cc (portable, ZENNAS_ISA = scalar). Both TUs use -ffp-contract=off so that the
// Gaussian generator gives the same bits in both; the GEMM uses FMA explicitly where present.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "../common/env.h"
#include "../common/gaussian_math.h"
#include "kernels.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define ZENNAS_VEC 1
#else
#define ZENNAS_VEC 0
#endif
// The AVX-512 build (kernels_avx512.cc) is the AVX2 one with some hot loops at 512 bits (the GEMM
// register block, Winograd transforms, Gaussian draw, dot-form weight gradient): each keeps every
// value's sequence of operations, so the two builds give the same bits.
#if ZENNAS_VEC && defined(__AVX512F__)
#define ZENNAS_VEC512 1
#else
#define ZENNAS_VEC512 0
#endif

namespace zennas {
namespace cpu {
namespace ZENNAS_ISA {
namespace {

// ---------------------------------------------------------------- GEMM micro-kernel (MR × NR)

// One register block for both B sources: `loadB` gives row p of the B micro-panel, either from a
// packed panel (PackedB) or read in place from padded input rows (IndirectB, convGemmIndirect).
// Sharing the FMA loop is what makes the two paths give the same bits.
#if ZENNAS_VEC
/** Lane masks of the first n of 16 floats: lanes [0, 8) in m0, [8, 16) in m1. */
inline void firstLanes16(int n, __m256i& m0, __m256i& m1) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
  m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - 8), lane);
}

// R live rows of the MR-row panel (R = mr): a 2- or 4-row tail panel (cout = 8, 16, 32, 40, 64 …)
// skips the FMAs of its zero padding rows. Every output element is the same FMA chain over p
// whatever R is, so the bits do not depend on it.
template <int R, class LoadB>
inline void microKernelR(int64_t kc, const float* __restrict A, LoadB loadB, float* C, int64_t ldc, bool acc, int nr) {
  // The accumulators are named registers, not arrays: with `__m256 lo[R], hi[R]` GCC kept the arrays
  // on the stack and stored all 12 every iteration (as many stores as FMAs: about half speed).
  __m256 l0 = _mm256_setzero_ps(), l1 = l0, l2 = l0, l3 = l0, l4 = l0, l5 = l0;
  __m256 h0 = l0, h1 = l0, h2 = l0, h3 = l0, h4 = l0, h5 = l0;
  static_assert(kMR == 6 && R >= 1 && R <= 6, "rows 0 .. 5");
  for (int64_t p = 0; p < kc; ++p) {
    __m256 b0, b1;
    loadB(p, b0, b1);
#define ZENNAS_ROW(i)                                           \
  if constexpr (R > i) {                                        \
    const __m256 a = _mm256_broadcast_ss(A + i);                \
    l##i = _mm256_fmadd_ps(a, b0, l##i);                        \
    h##i = _mm256_fmadd_ps(a, b1, h##i);                        \
  }
    ZENNAS_ROW(0) ZENNAS_ROW(1) ZENNAS_ROW(2) ZENNAS_ROW(3) ZENNAS_ROW(4) ZENNAS_ROW(5)
#undef ZENNAS_ROW
    A += kMR;
  }
  const __m256 lo[6] = {l0, l1, l2, l3, l4, l5}, hi[6] = {h0, h1, h2, h3, h4, h5};
  if (nr == kNR) {
    for (int i = 0; i < R; ++i) {
      float* c = C + i * ldc;
      __m256 x = lo[i], y = hi[i];
      if (acc) { x = _mm256_add_ps(_mm256_loadu_ps(c), x); y = _mm256_add_ps(_mm256_loadu_ps(c + 8), y); }
      _mm256_storeu_ps(c, x);
      _mm256_storeu_ps(c + 8, y);
    }
    return;
  }
  // Tail columns by masked loads and stores.
  __m256i m0, m1;
  firstLanes16(nr, m0, m1);
  for (int i = 0; i < R; ++i) {
    float* c = C + i * ldc;
    __m256 x = lo[i], y = hi[i];
    if (acc) { x = _mm256_add_ps(_mm256_maskload_ps(c, m0), x); y = _mm256_add_ps(_mm256_maskload_ps(c + 8, m1), y); }
    _mm256_maskstore_ps(c, m0, x);
    _mm256_maskstore_ps(c + 8, m1, y);
  }
}

template <class LoadB>
inline void microKernelT(int64_t kc, const float* __restrict A, LoadB loadB, float* C, int64_t ldc, bool acc, int mr, int nr) {
  static_assert(kMR == 6, "microKernelT dispatches R = 1 .. 6");
  switch (mr) {
    case 1: microKernelR<1>(kc, A, loadB, C, ldc, acc, nr); return;
    case 2: microKernelR<2>(kc, A, loadB, C, ldc, acc, nr); return;
    case 3: microKernelR<3>(kc, A, loadB, C, ldc, acc, nr); return;
    case 4: microKernelR<4>(kc, A, loadB, C, ldc, acc, nr); return;
    case 5: microKernelR<5>(kc, A, loadB, C, ldc, acc, nr); return;
    default: microKernelR<6>(kc, A, loadB, C, ldc, acc, nr); return;
  }
}

struct PackedB {  // a packed kc × NR panel, 32-byte aligned
  const float* B;
  void operator()(int64_t p, __m256& b0, __m256& b1) const {
    b0 = _mm256_load_ps(B + p * kNR);
    b1 = _mm256_load_ps(B + p * kNR + 8);
  }
};
struct IndirectB {  // row p: the 8 floats at base + off[p], then the 8 at base1 + off[p]
  const float *base, *base1;
  const int64_t* off;
  void operator()(int64_t p, __m256& b0, __m256& b1) const {
    b0 = _mm256_loadu_ps(base + off[p]);
    b1 = _mm256_loadu_ps(base1 + off[p]);
  }
};
#if ZENNAS_VEC512
// P (1 or 2) adjacent 16-column panels of C in one register block: 6 × 32 = 12 zmm accumulators
// (two FMA pipes × four cycles of latency need eight chains in flight; 6 × 16 would leave it
// latency-bound). Each element is the FMA chain of microKernelR over p, so the bits are its bits.
/**
 * Rows [0, rows) of a register block into C (rows ldc apart), columns [0, nr) of the P·16: full
 * stores where whole, masked AVX-512 stores only at a tail; acc adds into C.
 */
template <int P>
inline void putRowsZ(const __m512* lo, const __m512* hi, int rows, float* C, int64_t ldc, bool acc, int nr) {
  const int n0 = std::min(nr, kNR), n1 = nr - n0;
  const __mmask16 m0 = static_cast<__mmask16>((1u << n0) - 1), m1 = static_cast<__mmask16>((1u << std::max(n1, 0)) - 1);
  for (int i = 0; i < rows; ++i) {
    float* c = C + i * ldc;
    __m512 x = lo[i];
    if (n0 == kNR) {
      if (acc) x = _mm512_add_ps(_mm512_loadu_ps(c), x);
      _mm512_storeu_ps(c, x);
    } else {
      if (acc) x = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c), x);
      _mm512_mask_storeu_ps(c, m0, x);
    }
    if constexpr (P == 2) {
      __m512 y = hi[i];
      if (n1 == kNR) {
        if (acc) y = _mm512_add_ps(_mm512_loadu_ps(c + kNR), y);
        _mm512_storeu_ps(c + kNR, y);
      } else {
        if (acc) y = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c + kNR), y);
        _mm512_mask_storeu_ps(c + kNR, m1, y);
      }
    }
  }
}

template <int R, int P, class LoadB>
inline void microKernelZ(int64_t kc, const float* __restrict A, LoadB loadB, float* C, int64_t ldc, bool acc, int nr) {
  __m512 l0 = _mm512_setzero_ps(), l1 = l0, l2 = l0, l3 = l0, l4 = l0, l5 = l0;
  __m512 h0 = l0, h1 = l0, h2 = l0, h3 = l0, h4 = l0, h5 = l0;
  static_assert(kMR == 6 && R >= 1 && R <= 6 && (P == 1 || P == 2), "rows 0 .. 5, one or two panels");
  for (int64_t p = 0; p < kc; ++p) {
    __m512 b0, b1;
    loadB(p, b0, b1);
#define ZENNAS_ROW(i)                                           \
  if constexpr (R > i) {                                        \
    const __m512 a = _mm512_set1_ps(A[i]);                      \
    l##i = _mm512_fmadd_ps(a, b0, l##i);                        \
    if constexpr (P == 2) h##i = _mm512_fmadd_ps(a, b1, h##i);  \
  }
    ZENNAS_ROW(0) ZENNAS_ROW(1) ZENNAS_ROW(2) ZENNAS_ROW(3) ZENNAS_ROW(4) ZENNAS_ROW(5)
#undef ZENNAS_ROW
    A += kMR;
  }
  const __m512 lo[6] = {l0, l1, l2, l3, l4, l5}, hi[6] = {h0, h1, h2, h3, h4, h5};
  putRowsZ<P>(lo, hi, R, C, ldc, acc, nr);
}

// One or two live rows (a tail panel of cout = 8, 32, 56, 80 …) over four 16-column panels at
// once: with two panels such a block has 2–4 chains and as many loads as FMAs (half speed); with
// four it has 4–8 chains and 5–6 loads per 8 FMAs. Each element's FMA chain over p is
// microKernelZ's, so the bits are its bits. Full panels only (64 columns, no masks).
template <int R, class LoadB4>
inline void microKernelZ4(int64_t kc, const float* __restrict A, LoadB4 loadB, float* C, int64_t ldc, bool acc) {
  static_assert(R == 1 || R == 2, "one or two rows");
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
  for (int64_t p = 0; p < kc; ++p) {
    __m512 b0, b1, b2, b3;
    loadB(p, b0, b1, b2, b3);
    const __m512 x = _mm512_set1_ps(A[0]);
    a0 = _mm512_fmadd_ps(x, b0, a0);
    a1 = _mm512_fmadd_ps(x, b1, a1);
    a2 = _mm512_fmadd_ps(x, b2, a2);
    a3 = _mm512_fmadd_ps(x, b3, a3);
    if constexpr (R == 2) {
      const __m512 y = _mm512_set1_ps(A[1]);
      c0 = _mm512_fmadd_ps(y, b0, c0);
      c1 = _mm512_fmadd_ps(y, b1, c1);
      c2 = _mm512_fmadd_ps(y, b2, c2);
      c3 = _mm512_fmadd_ps(y, b3, c3);
    }
    A += kMR;
  }
  const auto put = [&](float* c, __m512 v0, __m512 v1, __m512 v2, __m512 v3) {
    if (acc) {
      v0 = _mm512_add_ps(_mm512_loadu_ps(c), v0);
      v1 = _mm512_add_ps(_mm512_loadu_ps(c + kNR), v1);
      v2 = _mm512_add_ps(_mm512_loadu_ps(c + 2 * kNR), v2);
      v3 = _mm512_add_ps(_mm512_loadu_ps(c + 3 * kNR), v3);
    }
    _mm512_storeu_ps(c, v0);
    _mm512_storeu_ps(c + kNR, v1);
    _mm512_storeu_ps(c + 2 * kNR, v2);
    _mm512_storeu_ps(c + 3 * kNR, v3);
  };
  put(C, a0, a1, a2, a3);
  if constexpr (R == 2) put(C + ldc, c0, c1, c2, c3);
}

template <class LoadB4>
inline void microKernelZ4T(int64_t kc, const float* __restrict A, LoadB4 loadB, float* C, int64_t ldc, bool acc, int mr) {
  if (mr == 1) microKernelZ4<1>(kc, A, loadB, C, ldc, acc);
  else microKernelZ4<2>(kc, A, loadB, C, ldc, acc);
}

// Two MR-row panels at once (rows 0–5 from A0, rows 6 .. 5 + R2 from A1) over P 16-column panels:
// 12 rows × 32 columns, 24 FMAs per 2 B loads and 12 broadcasts, each B row read once for both
// panels. Each element's FMA chain over p is microKernelZ's, so the bits are its bits.
template <int R2, int P, class LoadB>
inline void microKernelZ12(int64_t kc, const float* __restrict A0, const float* __restrict A1, LoadB loadB, float* C, int64_t ldc, bool acc, int nr) {
  static_assert(R2 >= 1 && R2 <= 6 && (P == 1 || P == 2), "rows 6 .. 11, one or two panels");
  __m512 l0 = _mm512_setzero_ps(), l1 = l0, l2 = l0, l3 = l0, l4 = l0, l5 = l0, l6 = l0, l7 = l0, l8 = l0, l9 = l0, l10 = l0, l11 = l0;
  __m512 h0 = l0, h1 = l0, h2 = l0, h3 = l0, h4 = l0, h5 = l0, h6 = l0, h7 = l0, h8 = l0, h9 = l0, h10 = l0, h11 = l0;
  for (int64_t p = 0; p < kc; ++p) {
    __m512 b0, b1;
    loadB(p, b0, b1);
#define ZENNAS_ROW12(i, SRC, j, LIVE)                              \
  if constexpr (LIVE) {                                            \
    const __m512 a = _mm512_set1_ps(SRC[j]);                       \
    l##i = _mm512_fmadd_ps(a, b0, l##i);                           \
    if constexpr (P == 2) h##i = _mm512_fmadd_ps(a, b1, h##i);     \
  }
    ZENNAS_ROW12(0, A0, 0, true) ZENNAS_ROW12(1, A0, 1, true) ZENNAS_ROW12(2, A0, 2, true)
    ZENNAS_ROW12(3, A0, 3, true) ZENNAS_ROW12(4, A0, 4, true) ZENNAS_ROW12(5, A0, 5, true)
    ZENNAS_ROW12(6, A1, 0, R2 > 0) ZENNAS_ROW12(7, A1, 1, R2 > 1) ZENNAS_ROW12(8, A1, 2, R2 > 2)
    ZENNAS_ROW12(9, A1, 3, R2 > 3) ZENNAS_ROW12(10, A1, 4, R2 > 4) ZENNAS_ROW12(11, A1, 5, R2 > 5)
#undef ZENNAS_ROW12
    A0 += kMR;
    A1 += kMR;
  }
  const __m512 lo[12] = {l0, l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11}, hi[12] = {h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11};
  putRowsZ<P>(lo, hi, 6 + R2, C, ldc, acc, nr);
}

template <int P, class LoadB>
inline void microKernelZ12T(int64_t kc, const float* __restrict A0, const float* __restrict A1, LoadB loadB, float* C, int64_t ldc, bool acc, int mr1,
                            int nr) {
  switch (mr1) {
    case 1: microKernelZ12<1, P>(kc, A0, A1, loadB, C, ldc, acc, nr); return;
    case 2: microKernelZ12<2, P>(kc, A0, A1, loadB, C, ldc, acc, nr); return;
    case 3: microKernelZ12<3, P>(kc, A0, A1, loadB, C, ldc, acc, nr); return;
    case 4: microKernelZ12<4, P>(kc, A0, A1, loadB, C, ldc, acc, nr); return;
    case 5: microKernelZ12<5, P>(kc, A0, A1, loadB, C, ldc, acc, nr); return;
    default: microKernelZ12<6, P>(kc, A0, A1, loadB, C, ldc, acc, nr); return;
  }
}

template <int P, class LoadB>
inline void microKernelZT(int64_t kc, const float* __restrict A, LoadB loadB, float* C, int64_t ldc, bool acc, int mr, int nr) {
  switch (mr) {
    case 1: microKernelZ<1, P>(kc, A, loadB, C, ldc, acc, nr); return;
    case 2: microKernelZ<2, P>(kc, A, loadB, C, ldc, acc, nr); return;
    case 3: microKernelZ<3, P>(kc, A, loadB, C, ldc, acc, nr); return;
    case 4: microKernelZ<4, P>(kc, A, loadB, C, ldc, acc, nr); return;
    case 5: microKernelZ<5, P>(kc, A, loadB, C, ldc, acc, nr); return;
    default: microKernelZ<6, P>(kc, A, loadB, C, ldc, acc, nr); return;
  }
}

struct PackedBZ {  // row p of two packed kc × NR panels (the second unread when P = 1)
  const float *B0, *B1;
  void operator()(int64_t p, __m512& b0, __m512& b1) const {
    b0 = _mm512_loadu_ps(B0 + p * kNR);
    b1 = _mm512_loadu_ps(B1 + p * kNR);
  }
};
struct PackedBZ4 {  // row p of four packed kc × NR panels
  const float *B0, *B1, *B2, *B3;
  void operator()(int64_t p, __m512& b0, __m512& b1, __m512& b2, __m512& b3) const {
    b0 = _mm512_loadu_ps(B0 + p * kNR);
    b1 = _mm512_loadu_ps(B1 + p * kNR);
    b2 = _mm512_loadu_ps(B2 + p * kNR);
    b3 = _mm512_loadu_ps(B3 + p * kNR);
  }
};
/** 16 floats from two runs of 8 (columns c .. c+7 and c+8 .. c+15 of an indirect B row). */
inline __m512 loadHalves(const float* a, const float* b) {
  return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(_mm256_loadu_ps(a))), _mm256_castps_pd(_mm256_loadu_ps(b)), 1));
}
template <bool Contiguous>
struct IndirectBZ {  // row p of up to two indirect panels: halves at b[h] + off[p] (Contiguous: b[1] = b[0] + 8, b[3] = b[2] + 8)
  const float* b[4];
  const int64_t* off;
  void operator()(int64_t p, __m512& b0, __m512& b1) const {
    const int64_t o = off[p];
    if constexpr (Contiguous) {
      b0 = _mm512_loadu_ps(b[0] + o);
      b1 = _mm512_loadu_ps(b[2] + o);
    } else {
      b0 = loadHalves(b[0] + o, b[1] + o);
      b1 = loadHalves(b[2] + o, b[3] + o);
    }
  }
};
template <bool Contiguous>
struct IndirectBZ4 {  // row p of four indirect panels: halves at b[h] + off[p] (Contiguous: b[2k+1] = b[2k] + 8)
  const float* b[8];
  const int64_t* off;
  void operator()(int64_t p, __m512& b0, __m512& b1, __m512& b2, __m512& b3) const {
    const int64_t o = off[p];
    if constexpr (Contiguous) {
      b0 = _mm512_loadu_ps(b[0] + o);
      b1 = _mm512_loadu_ps(b[2] + o);
      b2 = _mm512_loadu_ps(b[4] + o);
      b3 = _mm512_loadu_ps(b[6] + o);
    } else {
      b0 = loadHalves(b[0] + o, b[1] + o);
      b1 = loadHalves(b[2] + o, b[3] + o);
      b2 = loadHalves(b[4] + o, b[5] + o);
      b3 = loadHalves(b[6] + o, b[7] + o);
    }
  }
};
#endif
#else
template <class LoadB>
inline void microKernelT(int64_t kc, const float* __restrict A, LoadB b, float* C, int64_t ldc, bool acc, int mr, int nr) {
  float t[kMR][kNR] = {};
  for (int64_t p = 0; p < kc; ++p) {
    for (int i = 0; i < kMR; ++i) {
      const float a = A[i];
      for (int j = 0; j < kNR; ++j) t[i][j] += a * b(p, j);
    }
    A += kMR;
  }
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nr; ++j) C[i * ldc + j] = acc ? C[i * ldc + j] + t[i][j] : t[i][j];
}

struct PackedB {
  const float* B;
  float operator()(int64_t p, int j) const { return B[p * kNR + j]; }
};
struct IndirectB {
  const float *base, *base1;
  const int64_t* off;
  float operator()(int64_t p, int j) const { return j < 8 ? base[off[p] + j] : base1[off[p] + j - 8]; }
};
#endif

inline void microKernel(int64_t kc, const float* __restrict A, const float* __restrict B, float* C, int64_t ldc, bool acc, int mr, int nr) {
  microKernelT(kc, A, PackedB{B}, C, ldc, acc, mr, nr);
}

/** Full 16-column panels whose B rows are read in place from padded input rows (see convGemmIndirect). */
inline void microKernelIndirect(int64_t kc, const float* __restrict A, const float* base, const float* base1, const int64_t* off, float* C,
                                int64_t ldc, bool acc, int mr) {
  microKernelT(kc, A, IndirectB{base, base1, off}, C, ldc, acc, mr, kNR);
}

/**
 * One MR-row strip of C across np adjacent 16-column panels: panel j's B at B + j·bStride, its C
 * at C + j·kNR, the last one lastNr columns wide. The AVX-512 build takes the panels two by two
 * in one register block; each element's FMA chain is the one microKernel computes, so the bits do
 * not depend on the build.
 */
inline void microKernelStrip(int64_t kc, const float* __restrict A, const float* B, int64_t bStride, float* C, int64_t ldc, bool acc, int mr,
                             int64_t np, int lastNr) {
#if ZENNAS_VEC512
  int64_t j = 0;
  if (mr <= 2)  // four full panels per block (microKernelZ4)
    for (; j + 4 < np || (j + 4 == np && lastNr == kNR); j += 4)
      microKernelZ4T(kc, A, PackedBZ4{B + j * bStride, B + (j + 1) * bStride, B + (j + 2) * bStride, B + (j + 3) * bStride}, C + j * kNR, ldc, acc, mr);
  for (; j + 2 <= np; j += 2)
    microKernelZT<2>(kc, A, PackedBZ{B + j * bStride, B + (j + 1) * bStride}, C + j * kNR, ldc, acc, mr, kNR + (j + 2 == np ? lastNr : kNR));
  if (j < np) microKernelZT<1>(kc, A, PackedBZ{B + j * bStride, B + j * bStride}, C + j * kNR, ldc, acc, mr, lastNr);
#else
  for (int64_t j = 0; j < np; ++j) microKernel(kc, A, B + j * bStride, C + j * kNR, ldc, acc, mr, j + 1 == np ? lastNr : kNR);
#endif
}

/** Two row panels per register block in microKernelRows / microKernelIndirectRows (ZENNAS_GEMM12=0: one, for A/B runs). */
inline bool gemmTwoPanels() {
  static const bool on = !envOff("ZENNAS_GEMM12");
  return on;
}

#if ZENNAS_VEC512
/** microKernelStrip for two row panels at once (A0: a full panel, A1: mr1 rows): microKernelZ12. */
inline void microKernelStrip12(int64_t kc, const float* __restrict A0, const float* __restrict A1, int mr1, const float* B, int64_t bStride, float* C,
                               int64_t ldc, bool acc, int64_t np, int lastNr) {
  int64_t j = 0;
  for (; j + 2 <= np; j += 2)
    microKernelZ12T<2>(kc, A0, A1, PackedBZ{B + j * bStride, B + (j + 1) * bStride}, C + j * kNR, ldc, acc, mr1, kNR + (j + 2 == np ? lastNr : kNR));
  if (j < np) microKernelZ12T<1>(kc, A0, A1, PackedBZ{B + j * bStride, B + j * bStride}, C + j * kNR, ldc, acc, mr1, lastNr);
}
#endif

/**
 * Rows [0, M) of C = A · B over np panels, MR-row panel by panel (A: packed, panel i at A + i·aStride,
 * its C rows at C + i·MR·ldc). The AVX-512 build takes two row panels at once where there are two
 * (microKernelStrip12: each B row read once for 12 rows); the same bits either way.
 */
inline void microKernelRows(int64_t kc, const float* A, int64_t aStride, int64_t M, const float* B, int64_t bStride, float* C, int64_t ldc, bool acc,
                            int64_t np, int lastNr) {
  int64_t ir = 0;
#if ZENNAS_VEC512
  if (gemmTwoPanels())
    for (; ir + kMR < M; ir += 2 * kMR)
      microKernelStrip12(kc, A + (ir / kMR) * aStride, A + (ir / kMR + 1) * aStride, static_cast<int>(std::min<int64_t>(kMR, M - ir - kMR)), B, bStride,
                         C + ir * ldc, ldc, acc, np, lastNr);
#endif
  for (; ir < M; ir += kMR)
    microKernelStrip(kc, A + (ir / kMR) * aStride, B, bStride, C + ir * ldc, ldc, acc, static_cast<int>(std::min<int64_t>(kMR, M - ir)), np, lastNr);
}

/**
 * microKernelIndirect over the full panels of columns [c0, c1) (a multiple of 16 wide): `at(c)`
 * is where the 8 floats of column c start in the padded rows. AVX-512: two panels per block.
 */
template <class At>
inline void microKernelIndirectStrip(int64_t kc, const float* __restrict A, At at, const int64_t* off, float* C, int64_t ldc, bool acc, int mr,
                                     int64_t c0, int64_t c1) {
#if ZENNAS_VEC512
  int64_t c = c0;
  if (mr <= 2)  // four panels per block (microKernelZ4)
    for (; c + 4 * kNR <= c1; c += 4 * kNR) {
      const float* b[8];
      bool contiguous = true;
      for (int h = 0; h < 8; ++h) b[h] = at(c + 8 * h);
      for (int h = 1; h < 8; h += 2) contiguous = contiguous && b[h] == b[h - 1] + 8;
      if (contiguous) microKernelZ4T(kc, A, IndirectBZ4<true>{{b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]}, off}, C + c, ldc, acc, mr);
      else microKernelZ4T(kc, A, IndirectBZ4<false>{{b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]}, off}, C + c, ldc, acc, mr);
    }
  for (; c + 2 * kNR <= c1; c += 2 * kNR) {
    const float* b[4] = {at(c), at(c + 8), at(c + 16), at(c + 24)};
    if (b[1] == b[0] + 8 && b[3] == b[2] + 8) microKernelZT<2>(kc, A, IndirectBZ<true>{{b[0], b[1], b[2], b[3]}, off}, C + c, ldc, acc, mr, 2 * kNR);
    else microKernelZT<2>(kc, A, IndirectBZ<false>{{b[0], b[1], b[2], b[3]}, off}, C + c, ldc, acc, mr, 2 * kNR);
  }
  if (c < c1) microKernelIndirect(kc, A, at(c), at(c + 8), off, C + c, ldc, acc, mr);
#else
  for (int64_t c = c0; c < c1; c += kNR) microKernelIndirect(kc, A, at(c), at(c + 8), off, C + c, ldc, acc, mr);
#endif
}

/** microKernelIndirectStrip over rows [0, M) of C: two row panels at once on AVX-512 (microKernelZ12), as microKernelRows. */
template <class At>
inline void microKernelIndirectRows(int64_t kc, const float* A, int64_t aStride, int64_t M, At at, const int64_t* off, float* C, int64_t ldc, bool acc,
                                    int64_t c0, int64_t c1) {
  int64_t ir = 0;
#if ZENNAS_VEC512
  if (gemmTwoPanels())
    for (; ir + kMR < M; ir += 2 * kMR) {
      const float* A0 = A + (ir / kMR) * aStride;
      const float* A1 = A0 + aStride;
      const int mr1 = static_cast<int>(std::min<int64_t>(kMR, M - ir - kMR));
      float* Cr = C + ir * ldc;
      int64_t c = c0;
      for (; c + 2 * kNR <= c1; c += 2 * kNR) {
        const float* b[4] = {at(c), at(c + 8), at(c + 16), at(c + 24)};
        if (b[1] == b[0] + 8 && b[3] == b[2] + 8) microKernelZ12T<2>(kc, A0, A1, IndirectBZ<true>{{b[0], b[1], b[2], b[3]}, off}, Cr + c, ldc, acc, mr1, 2 * kNR);
        else microKernelZ12T<2>(kc, A0, A1, IndirectBZ<false>{{b[0], b[1], b[2], b[3]}, off}, Cr + c, ldc, acc, mr1, 2 * kNR);
      }
      if (c < c1) {
        const float* b[4] = {at(c), at(c + 8), at(c), at(c + 8)};
        microKernelZ12T<1>(kc, A0, A1, IndirectBZ<false>{{b[0], b[1], b[2], b[3]}, off}, Cr + c, ldc, acc, mr1, kNR);
      }
    }
#endif
  for (; ir < M; ir += kMR)
    microKernelIndirectStrip(kc, A + (ir / kMR) * aStride, at, off, C + ir * ldc, ldc, acc, static_cast<int>(std::min<int64_t>(kMR, M - ir)), c0, c1);
}

// ---------------------------------------------------------------- implicit-im2col B packing

constexpr int64_t kPadScratch = int64_t(1) << 17;  // floats of padded rows after the packed B

struct Segment {  // consecutive output columns of one (image, output row)
  int32_t dst, len;
  int64_t base;  // image offset in a channel plane set: n·H·W
  int64_t iy0, ix0;
};

inline void zero(float* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] = 0.f;
}

/**
 * Rows r0 .. r0+nrows−1 of the output (R = image·oh + oy), for kernel row ky of channel `chan`: each
 * input row iy = oy − pad + ky copied with a `pad`-wide zero halo on the left and `tail` zeros on
 * the right (a row outside the image is all zeros), rows `rowLen` floats apart from `dst`; floats past
 * pad + w + tail of a row are not written.
 */
inline void padRows(const ConvGeom& g, const float* chan, int64_t ky, int64_t r0, int64_t nrows, float* dst, int64_t rowLen, int64_t tail) {
  const int64_t plane = g.h * g.w;
  int64_t img = r0 / g.oh, oy = r0 % g.oh;  // of row r, advanced per row (a division per row was ≈ 4 % of a small conv)
  for (int64_t r = 0; r < nrows; ++r, oy = oy + 1 < g.oh ? oy + 1 : (++img, 0)) {
    const int64_t iy = oy - g.pad + ky;
    float* prow = dst + r * rowLen;
    if (iy < 0 || iy >= g.h) { zero(prow, g.pad + g.w + tail); continue; }
    zero(prow, g.pad);
    std::memcpy(prow + g.pad, chan + img * plane + iy * g.w, sizeof(float) * g.w);
    zero(prow + g.pad + g.w, tail);
  }
}

#if ZENNAS_VEC
/** d[i] = q[2i], i < 8 (q[0 .. 15] read): one shuffle, one permute. */
inline void evens8(const float* q, float* d) {
  const __m256 e = _mm256_shuffle_ps(_mm256_loadu_ps(q), _mm256_loadu_ps(q + 8), _MM_SHUFFLE(2, 0, 2, 0));  // q0 q2 q8 q10 | q4 q6 q12 q14
  _mm256_storeu_ps(d, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0))));
}
#endif

/**
 * Stride 2: each zero-padded input row split into its even and odd phases (Lp floats apart), so that
 * tap kx of output columns ox.. reads phase kx % 2 contiguously from ox + kx / 2 — the indirect path
 * then serves stride-2 convs as it does stride-1 ones. Rows `2·Lp` floats apart from `dst`; the
 * first Lw ≤ Lp floats of each phase are written (the caller zeroes any slack past them once).
 */
inline void padRowsPhases(const ConvGeom& g, const float* chan, int64_t ky, int64_t r0, int64_t nrows, float* dst, int64_t Lp, int64_t Lw) {
  const int64_t plane = g.h * g.w;
  int64_t img = r0 / g.oh, oy = r0 % g.oh;  // of row r, advanced per row
  for (int64_t r = 0; r < nrows; ++r, oy = oy + 1 < g.oh ? oy + 1 : (++img, 0)) {
    const int64_t iy = oy * 2 - g.pad + ky;
    float* prow = dst + r * 2 * Lp;
    if (iy < 0 || iy >= g.h) { zero(prow, Lw); zero(prow + Lp, Lw); continue; }
    const float* src = chan + img * plane + iy * g.w;
    for (int64_t p = 0; p < 2; ++p) {
      float* d = prow + p * Lp;
      int64_t x = 0;
      for (; x < Lw && 2 * x + p - g.pad < 0; ++x) d[x] = 0.f;  // the left halo
#if ZENNAS_VEC
      // the interior 8 at a time (j + 15 inside the row): the even floats of 16 by one shuffle and one
      // permute — a strided scalar copy here was a third of the strided convs' time on CIFAR maps
      for (; x + 8 <= Lw && 2 * x + p - g.pad + 15 < g.w; x += 8) evens8(src + (2 * x + p - g.pad), d + x);
#endif
      for (; x < Lw && 2 * x + p - g.pad < g.w; ++x) d[x] = src[2 * x + p - g.pad];
      zero(d + x, Lw - x);  // the right halo
    }
  }
}

/**
 * Stride-1 (and stride-2, on phase-split rows) k×k packing through zero-padded input rows: for each (channel, ky) the input rows the
 * chunk needs are copied once with a (k−1)/2 zero halo, then every kx is a plain shifted copy,
 * so no per-element bounds checks remain. Returns false when the rows do not fit the scratch.
 */
bool packBPadded(const ConvGeom& g, const float* in, int64_t pc, int64_t kc, int64_t c0, int64_t cols, float* Bp, float* pad,
                 int64_t padFloats) {
  const bool s2 = g.stride == 2;  // rows split into phases (padRowsPhases): every kx is a shifted copy again
  const int64_t Lw = (g.w + 2 * g.pad + 1) / 2, Lp = Lw + kNR;
  const int64_t rowLen = s2 ? 2 * Lp : g.w + 2 * g.pad + kNR;  // halo + slack for 16-wide over-reads
  const int64_t r0 = c0 / g.ow, r1 = (c0 + cols - 1) / g.ow;
  const int64_t nrows = r1 - r0 + 1;
  if (nrows * rowLen > padFloats || cols > 256) return false;
  // The slack is zeroed once here, not again for every (channel, ky): on small maps (rows of 4–8)
  // rewriting it was most of the packing and the packing most of the conv (perf: 4×4 stride-2 convs).
  zero(pad, nrows * rowLen);
  struct Seg {
    int32_t panel, dst, len, row;
    int64_t ox;
  };
  Seg seg[256];
  int nseg = 0;
  for (int64_t c = c0; c < c0 + cols;) {
    const int64_t p = (c - c0) / kNR, j = (c - c0) % kNR;
    const int64_t ox = c % g.ow;
    const int64_t len = std::min<int64_t>({kNR - j, g.ow - ox, c0 + cols - c});
    seg[nseg++] = {static_cast<int32_t>(p), static_cast<int32_t>(j), static_cast<int32_t>(len), static_cast<int32_t>(c / g.ow - r0), ox};
    c += len;
  }
  const int64_t panels = (cols + kNR - 1) / kNR;
  if (cols % kNR)  // zero the unused columns of the last panel once
    for (int64_t q = 0; q < kc; ++q) zero(Bp + (panels - 1) * kc * kNR + q * kNR + cols % kNR, kNR - cols % kNR);
  const int64_t kk2 = g.k * g.k;
  int64_t q = 0;
  while (q < kc) {
    const int64_t kidx = pc + q, ci = kidx / kk2, ky = (kidx % kk2) / g.k;
    int64_t kx = kidx % g.k;
    const float* chan = in + ci * g.inStride;
    if (s2) padRowsPhases(g, chan, ky, r0, nrows, pad, Lp, Lw);
    else padRows(g, chan, ky, r0, nrows, pad, rowLen, g.pad);
    for (; kx < g.k && q < kc; ++kx, ++q) {
      const int64_t shift = s2 ? (kx % 2) * Lp + kx / 2 : kx;
      for (int s = 0; s < nseg; ++s) {
        const Seg& sg = seg[s];
        float* o = Bp + sg.panel * kc * kNR + q * kNR + sg.dst;
        const float* src = pad + sg.row * rowLen + sg.ox + shift;
#if ZENNAS_VEC
        if (sg.len == kNR) {
          _mm256_storeu_ps(o, _mm256_loadu_ps(src));
          _mm256_storeu_ps(o + 8, _mm256_loadu_ps(src + 8));
          continue;
        }
        if ((sg.len & 3) == 0) {  // rows of 4-, 8- or 12-wide maps: plain 8- and 4-float copies
          int t = 0;
          for (; t + 8 <= sg.len; t += 8) _mm256_storeu_ps(o + t, _mm256_loadu_ps(src + t));
          if (t < sg.len) _mm_storeu_ps(o + t, _mm_loadu_ps(src + t));
          continue;
        }
        {  // other short segments (rows of 5- to 14-wide maps): masked copies (slow stores on AMD), no scalar loop
          __m256i m0, m1;
          firstLanes16(sg.len, m0, m1);
          _mm256_maskstore_ps(o, m0, _mm256_maskload_ps(src, m0));
          if (sg.len > 8) _mm256_maskstore_ps(o + 8, m1, _mm256_maskload_ps(src + 8, m1));
          continue;
        }
#endif
        for (int t = 0; t < sg.len; ++t) o[t] = src[t];
      }
    }
  }
  return true;
}

/** Packs B[pc .. pc+kc) × columns [c0, c0+cols) into NR-wide panels (each kc × NR). */
void packB(const ConvGeom& g, const float* in, int64_t pc, int64_t kc, int64_t c0, int64_t cols, float* Bp) {
  const int64_t chanStride = g.inStride;
  const int64_t panels = (cols + kNR - 1) / kNR;
  const bool direct = g.k == 1 && g.stride == 1;  // pad 0, same plane: column index = input offset
  const int64_t ohw = g.oh * g.ow, kk2 = g.k * g.k;
  for (int64_t p = 0; p < panels; ++p) {
    const int64_t cs = c0 + p * kNR;
    const int nr = static_cast<int>(std::min<int64_t>(kNR, c0 + cols - cs));
    float* dst = Bp + p * kc * kNR;
    if (direct) {
      const float* src = in + pc * chanStride + cs;
      if (nr == kNR) {
        for (int64_t q = 0; q < kc; ++q, src += chanStride, dst += kNR) std::memcpy(dst, src, sizeof(float) * kNR);
      } else {
        for (int64_t q = 0; q < kc; ++q, src += chanStride, dst += kNR) {
          std::memcpy(dst, src, sizeof(float) * nr);
          zero(dst + nr, kNR - nr);
        }
      }
      continue;
    }
    Segment seg[kNR];
    int nseg = 0;
    for (int j = 0; j < nr;) {
      const int64_t c = cs + j;
      const int64_t img = c / ohw, rem = c % ohw, oy = rem / g.ow, ox = rem % g.ow;
      const int len = static_cast<int>(std::min<int64_t>(nr - j, g.ow - ox));
      seg[nseg++] = {j, len, img * g.h * g.w, oy * g.stride - g.pad, ox * g.stride - g.pad};
      j += len;
    }
    int64_t ci = pc / kk2, ky = (pc % kk2) / g.k, kx = pc % g.k;
    for (int64_t q = 0; q < kc; ++q, dst += kNR) {
      const float* chan = in + ci * chanStride;
      if (nr < kNR) zero(dst + nr, kNR - nr);
      for (int s = 0; s < nseg; ++s) {
        const Segment& sg = seg[s];
        float* o = dst + sg.dst;
        const int64_t iy = sg.iy0 + ky;
        if (iy < 0 || iy >= g.h) { zero(o, sg.len); continue; }
        const float* row = chan + sg.base + iy * g.w;
        const int64_t ix = sg.ix0 + kx;
        if (g.stride == 1 && sg.len == kNR && ix >= 0 && ix + kNR <= g.w) {
          std::memcpy(o, row + ix, sizeof(float) * kNR);
          continue;
        }
#if ZENNAS_VEC
        // Masked loads: lanes outside [0, W) or past the segment read nothing and give 0.
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i wv = _mm256_set1_epi32(static_cast<int>(g.w)), minus1 = _mm256_set1_epi32(-1);
        for (int t0 = 0; t0 < sg.len; t0 += 8) {
          const __m256i t = _mm256_add_epi32(lane, _mm256_set1_epi32(t0));
          const __m256i inSeg = _mm256_cmpgt_epi32(_mm256_set1_epi32(sg.len), t);
          const __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(ix)), _mm256_mullo_epi32(t, _mm256_set1_epi32(static_cast<int>(g.stride))));
          const __m256i ok = _mm256_and_si256(inSeg, _mm256_and_si256(_mm256_cmpgt_epi32(idx, minus1), _mm256_cmpgt_epi32(wv, idx)));
          __m256 v;
          if (g.stride == 1) {
            v = _mm256_maskload_ps(row + ix + t0, ok);
          } else if (g.stride == 2) {
            // The 16 floats from row[ix + 2·t0] by two masked loads (a lane outside [0, W) reads
            // nothing and gives 0), their even ones kept: the gather's values, several times faster.
            const int64_t b0 = ix + 2 * t0;
            const __m256i i0 = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(b0)), lane);
            const __m256i i1 = _mm256_add_epi32(i0, _mm256_set1_epi32(8));
            const __m256i ok0 = _mm256_and_si256(_mm256_cmpgt_epi32(i0, minus1), _mm256_cmpgt_epi32(wv, i0));
            const __m256i ok1 = _mm256_and_si256(_mm256_cmpgt_epi32(i1, minus1), _mm256_cmpgt_epi32(wv, i1));
            const __m256 lo = _mm256_maskload_ps(row + b0, ok0), hi = _mm256_maskload_ps(row + b0 + 8, ok1);
            const __m256 ev = _mm256_shuffle_ps(lo, hi, 0x88);  // lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6
            v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev), 0xD8));
          } else {
            v = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), row, idx, _mm256_castsi256_ps(ok), 4);
          }
          if (sg.len - t0 >= 8) _mm256_storeu_ps(o + t0, v);
          else _mm256_maskstore_ps(o + t0, inSeg, v);
        }
#else
        if (g.stride == 1) {
          const int64_t lo = std::min<int64_t>(sg.len, std::max<int64_t>(0, -ix));
          const int64_t hi = std::max<int64_t>(lo, std::min<int64_t>(sg.len, g.w - ix));
          for (int64_t t = 0; t < lo; ++t) o[t] = 0.f;
          for (int64_t t = lo; t < hi; ++t) o[t] = row[ix + t];
          for (int64_t t = hi; t < sg.len; ++t) o[t] = 0.f;
        } else {
          for (int64_t t = 0; t < sg.len; ++t) {
            const int64_t x = ix + t * g.stride;
            o[t] = (x >= 0 && x < g.w) ? row[x] : 0.f;
          }
        }
#endif
      }
      if (++kx == g.k) {
        kx = 0;
        if (++ky == g.k) { ky = 0; ++ci; }
      }
    }
  }
}

void subsample(const ConvGeom& g, const float* in, float* out, int64_t outStride, int64_t c0, int64_t c1) {
  const int64_t st = g.stride, ihw = g.h * g.w, ohw = g.oh * g.ow;
  for (int64_t c = c0; c < c1; ++c)
    for (int64_t img = 0; img < g.n; ++img)
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        const float* src = in + c * g.inStride + img * ihw + oy * st * g.w;
        float* d = out + c * outStride + img * ohw + oy * g.ow;
        int64_t ox = 0;
#if ZENNAS_VEC
        if (st == 2) {  // the even floats of 16 (8) read inside the row
          for (; ox + 8 <= g.ow && 2 * ox + 15 < g.w; ox += 8) evens8(src + 2 * ox, d + ox);
          for (; ox + 4 <= g.ow && 2 * ox + 7 < g.w; ox += 4)
            _mm_storeu_ps(d + ox, _mm_shuffle_ps(_mm_loadu_ps(src + 2 * ox), _mm_loadu_ps(src + 2 * ox + 4), _MM_SHUFFLE(2, 0, 2, 0)));
        }
#endif
        for (; ox < g.ow; ++ox) d[ox] = src[ox * st];
      }
}

constexpr int64_t kIndirectScratch = int64_t(1) << 19;  // floats of padded rows (≤ ThreadPool::kScratchFloats)

/**
 * Stride-1 and stride-2 k×k convolution without im2col copies ("indirect GEMM"), when the output width is a
 * multiple of 8 (every 8-column half of a micro-panel lies in one output row): for each K block
 * the zero-padded input rows the column chunk needs are copied once per (channel, ky), and B rows
 * are read from them in place (off[q] selects channel, ky and kx; a half's base selects image,
 * row and x). Packing every kx shift costs as much as the FMAs when cout is small; this copies
 * 1/k of it (−20 to −25% on the k×k convs of CIFAR ZenNets). Not for 1×1: there B rows would be
 * read from up to KC pages per panel, and the TLB misses cost more than the packing (measured).
 * Returns false (nothing done) when the geometry does not fit; convGemm then packs.
 */
bool convGemmIndirect(const ConvGeom& g, const float* packedA, const float* in, float* out, int64_t col0, int64_t col1, float* pad) {
  if ((g.stride != 1 && g.stride != 2) || g.k == 1 || g.ow % 8 != 0 || col0 % kNR != 0 || (col1 - col0) % kNR != 0) return false;
  const int64_t K = g.K(), M = g.cout, ldc = g.outStride;
  const bool s2 = g.stride == 2;
  const int64_t Lp = (g.w + 2 * g.pad + 1) / 2;  // stride 2: floats of one phase of a padded row
  const int64_t rowLen = s2 ? 2 * Lp : g.w + 2 * g.pad;
  const int64_t r0 = col0 / g.ow, nrows = (col1 - 1) / g.ow - r0 + 1;
  const int64_t maxGroups = (std::min<int64_t>(kKC, K) + g.k - 1) / g.k + 1;  // (ci, ky) groups a K block can touch
  if (maxGroups * nrows * rowLen > kIndirectScratch) return false;
  int64_t off[kKC];
  for (int64_t pc = 0; pc < K; pc += kKC) {
    const int64_t kc = std::min<int64_t>(kKC, K - pc);
    // Padded rows: group j = the j-th (ci, ky) of this block, row r = output row r0 + r.
    const int64_t g0 = pc / g.k, groups = (pc + kc - 1) / g.k - g0 + 1;
    for (int64_t j = 0; j < groups; ++j) {
      const int64_t gk = g0 + j;
      if (s2) padRowsPhases(g, in + (gk / g.k) * g.inStride, gk % g.k, r0, nrows, pad + j * nrows * rowLen, Lp, Lp);
      else padRows(g, in + (gk / g.k) * g.inStride, gk % g.k, r0, nrows, pad + j * nrows * rowLen, rowLen, g.pad);
    }
    for (int64_t q = 0; q < kc; ++q) {  // (ci, ky) group, then kx (stride 2: its phase, then its shift in it)
      const int64_t kx = (pc + q) % g.k;
      off[q] = ((pc + q) / g.k - g0) * nrows * rowLen + (s2 ? (kx % 2) * Lp + kx / 2 : kx);
    }
    // Where the 8 floats of column c start in the padded rows.
    const auto at = [&](int64_t c) { return pad + (c / g.ow - r0) * rowLen + c % g.ow; };
    microKernelIndirectRows(kc, packedA + pc * kMR, K * kMR, M, at, off, out, ldc, pc > 0, col0, col1);
  }
  return true;
}

void convGemm(const ConvGeom& g, const float* packedA, const float* in, float* out, int64_t col0, int64_t col1, float* Bp) {
  // ZENNAS_CONV=packed forces the packed path; ZENNAS_CONV=indirect makes any conv that cannot take
  // the indirect path an error. The tests use both to check the two give the same bits.
  static const int mode = [] {
    const char* v = std::getenv("ZENNAS_CONV");
    return !v ? 0 : std::strcmp(v, "packed") == 0 ? 1 : std::strcmp(v, "indirect") == 0 ? 2 : 0;
  }();
  if (mode != 1 && convGemmIndirect(g, packedA, in, out, col0, col1, Bp)) return;
  if (mode == 2) throw std::logic_error("ZENNAS_CONV=indirect: a convolution cannot take the indirect path");
  const int64_t K = g.K(), M = g.cout, ldc = g.outStride, cols = col1 - col0;
  const int64_t panels = (cols + kNR - 1) / kNR;
  for (int64_t pc = 0; pc < K; pc += kKC) {
    const int64_t kc = std::min<int64_t>(kKC, K - pc);
    const int64_t packed = panels * kc * kNR;
    if (!((g.stride == 1 || g.stride == 2) && g.k > 1 && packBPadded(g, in, pc, kc, col0, cols, Bp, Bp + packed, kPadScratch)))
      packB(g, in, pc, kc, col0, cols, Bp);
    // A-stationary: one MR-row A micro-panel (≤ 6 KiB) stays in L1 while the packed B chunk
    // (≤ 256 KiB, in L2) streams through; measured faster than the classic MC blocking here.
    microKernelRows(kc, packedA + pc * kMR, K * kMR, M, Bp, kc * kNR, out + col0, ldc, pc > 0, panels, static_cast<int>(cols - (panels - 1) * kNR));
  }
}

// ---------------------------------------------------------------- depthwise conv, pools

inline void validRange(int64_t kx, const ConvGeom& g, int64_t* lo, int64_t* hi) {
  // ox with 0 <= ox·s − pad + kx <= W − 1 (kx: the tap's column offset, kx·dil for a dilated tap)
  const int64_t a = g.pad - kx;
  *lo = a <= 0 ? 0 : (a + g.stride - 1) / g.stride;
  const int64_t b = g.w - 1 + g.pad - kx;
  *hi = b < 0 ? 0 : std::min<int64_t>(g.ow, b / g.stride + 1);
  if (*hi < *lo) *hi = *lo;
}

void dwConv(const ConvGeom& g, const float* w, const float* in, float* out, int64_t c0, int64_t c1) {
  const int64_t ihw = g.h * g.w, ohw = g.oh * g.ow;
  int64_t lo[16], hi[16];
  for (int64_t kx = 0; kx < g.k; ++kx) validRange(kx * g.dil, g, &lo[kx], &hi[kx]);
  for (int64_t c = c0; c < c1; ++c) {
    const float* wc = w + c * g.k * g.k;
    for (int64_t n = 0; n < g.n; ++n) {
      const float* ip = in + c * g.inStride + n * ihw;
      float* op = out + c * g.outStride + n * ohw;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        float* orow = op + oy * g.ow;
        for (int64_t ox = 0; ox < g.ow; ++ox) orow[ox] = 0.f;
        for (int64_t ky = 0; ky < g.k; ++ky) {
          const int64_t iy = oy * g.stride - g.pad + ky * g.dil;
          if (iy < 0 || iy >= g.h) continue;
          const float* irow = ip + iy * g.w;
          for (int64_t kx = 0; kx < g.k; ++kx) {
            const float wv = wc[ky * g.k + kx];
            const float* src = irow - g.pad + kx * g.dil;
            if (g.stride == 1) {
              for (int64_t ox = lo[kx]; ox < hi[kx]; ++ox) orow[ox] += wv * src[ox];
            } else {
              for (int64_t ox = lo[kx]; ox < hi[kx]; ++ox) orow[ox] += wv * src[ox * g.stride];
            }
          }
        }
      }
    }
  }
}

void maxPool(const ConvGeom& g, const float* in, float* out, int64_t c0, int64_t c1) {
  const int64_t ihw = g.h * g.w, ohw = g.oh * g.ow;
  int64_t lo[16], hi[16];
  for (int64_t kx = 0; kx < g.k; ++kx) validRange(kx, g, &lo[kx], &hi[kx]);
  for (int64_t p = c0 * g.n; p < c1 * g.n; ++p) {
    const float* ip = in + (p / g.n) * g.inStride + (p % g.n) * ihw;
    float* op = out + (p / g.n) * g.outStride + (p % g.n) * ohw;
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      float* orow = op + oy * g.ow;
      for (int64_t ox = 0; ox < g.ow; ++ox) orow[ox] = -std::numeric_limits<float>::infinity();
      for (int64_t ky = 0; ky < g.k; ++ky) {
        const int64_t iy = oy * g.stride - g.pad + ky;
        if (iy < 0 || iy >= g.h) continue;
        const float* irow = ip + iy * g.w;
        for (int64_t kx = 0; kx < g.k; ++kx) {
          const float* src = irow - g.pad + kx;
          for (int64_t ox = lo[kx]; ox < hi[kx]; ++ox) orow[ox] = std::max(orow[ox], src[ox * g.stride]);
        }
      }
    }
  }
}

void gap(const ConvGeom& g, const float* in, float* out, int64_t c0, int64_t c1) {
  const int64_t hw = g.h * g.w;
  for (int64_t p = c0 * g.n; p < c1 * g.n; ++p) {
    const float* x = in + (p / g.n) * g.inStride + (p % g.n) * hw;
    double s = 0;
    for (int64_t i = 0; i < hw; ++i) s += x[i];
    out[(p / g.n) * g.outStride + p % g.n] = static_cast<float>(s / static_cast<double>(hw));
  }
}

// ---------------------------------------------------------------- BN, element-wise, reductions

/**
 * Σx and Σx² (float64) of R runs of n values at once (the executor's channels × BN groups): lane j
 * of a run sums its values j mod 8 in order, then the lanes pairwise. One run's sums are a chain of
 * dependent adds (its latency, not the loads, bounds the time), so R runs' chains interleave; each
 * run's sums do not depend on R (bnStats is R = 1).
 */
template <int R>
inline void bnStatsR(const float* const* xs, int64_t n, double* sumOut, double* sumsqOut) {
  int64_t i = 0;
  double s[R] = {}, q[R] = {};
#if ZENNAS_VEC512
  __m512d a0[R], b0[R];  // lanes 0–3 / 4–7 = bnStats's s0 / s1 (and q0 / q1)
  for (int r = 0; r < R; ++r) a0[r] = b0[r] = _mm512_setzero_pd();
  for (; i + 8 <= n; i += 8)
    for (int r = 0; r < R; ++r) {
      const __m512d v = _mm512_cvtps_pd(_mm256_loadu_ps(xs[r] + i));
      a0[r] = _mm512_add_pd(a0[r], v);
      b0[r] = _mm512_fmadd_pd(v, v, b0[r]);
    }
  for (int r = 0; r < R; ++r) {
    alignas(32) double ts[4], tq[4];
    _mm256_store_pd(ts, _mm256_add_pd(_mm512_castpd512_pd256(a0[r]), _mm512_extractf64x4_pd(a0[r], 1)));
    _mm256_store_pd(tq, _mm256_add_pd(_mm512_castpd512_pd256(b0[r]), _mm512_extractf64x4_pd(b0[r], 1)));
    s[r] = (ts[0] + ts[1]) + (ts[2] + ts[3]);
    q[r] = (tq[0] + tq[1]) + (tq[2] + tq[3]);
  }
#elif ZENNAS_VEC
  __m256d s0[R], s1[R], q0[R], q1[R];
  for (int r = 0; r < R; ++r) s0[r] = s1[r] = q0[r] = q1[r] = _mm256_setzero_pd();
  for (; i + 8 <= n; i += 8)
    for (int r = 0; r < R; ++r) {
      const __m256 v = _mm256_loadu_ps(xs[r] + i);
      const __m256d a = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), b = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
      s0[r] = _mm256_add_pd(s0[r], a); s1[r] = _mm256_add_pd(s1[r], b);
      q0[r] = _mm256_fmadd_pd(a, a, q0[r]); q1[r] = _mm256_fmadd_pd(b, b, q1[r]);
    }
  for (int r = 0; r < R; ++r) {
    alignas(32) double ts[4], tq[4];
    _mm256_store_pd(ts, _mm256_add_pd(s0[r], s1[r]));
    _mm256_store_pd(tq, _mm256_add_pd(q0[r], q1[r]));
    s[r] = (ts[0] + ts[1]) + (ts[2] + ts[3]);
    q[r] = (tq[0] + tq[1]) + (tq[2] + tq[3]);
  }
#endif
  for (int r = 0; r < R; ++r) {
    for (int64_t j = i; j < n; ++j) {
      const double v = xs[r][j];
      s[r] += v;
      q[r] += v * v;
    }
    sumOut[r] = s[r];
    sumsqOut[r] = q[r];
  }
}

void bnStats(const float* x, int64_t n, double* sumOut, double* sumsqOut) { bnStatsR<1>(&x, n, sumOut, sumsqOut); }

void bnStatsRuns(const float* const* xs, int runs, int64_t n, double* sumOut, double* sumsqOut) {
  // AVX-512: up to 4 runs (8 zmm chains); AVX2: 2 (8 ymm chains of 16 registers)
  constexpr int kMax = ZENNAS_VEC512 ? 4 : 2;
  for (int r = 0; r < runs;) {
    const int k = std::min(kMax, runs - r);
    if (k >= 4) bnStatsR<4>(xs + r, n, sumOut + r, sumsqOut + r);
    else if (k == 3) bnStatsR<3>(xs + r, n, sumOut + r, sumsqOut + r);
    else if (k == 2) bnStatsR<2>(xs + r, n, sumOut + r, sumsqOut + r);
    else bnStatsR<1>(xs + r, n, sumOut + r, sumsqOut + r);
    r += k;
  }
}

void bnApply(const float* x, float* y, int64_t n, float mean, float invstd, bool relu) {
  if (relu) {
    for (int64_t i = 0; i < n; ++i) y[i] = std::max((x[i] - mean) * invstd, 0.f);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * invstd;
  }
}

void bnApplyAddRelu(const float* x, const float* r, float* y, int64_t n, float mean, float invstd, bool train) {
  if (train) {
    for (int64_t i = 0; i < n; ++i) y[i] = std::max((x[i] - mean) * invstd + r[i], 0.f);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = std::max(x[i] + r[i], 0.f);
  }
}

void relu(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::max(x[i], 0.f);
}

void sigmoid(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(x[i]))));
}

void add(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void scale(const float* x, float* y, int64_t n, float g) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * g;
}

float absMax(const float* x, int64_t n) {
  // On the bits of |x| as unsigned integers: the same order as the floats', and NaN (above inf) wins.
  uint32_t m = 0;
  int64_t i = 0;
#if ZENNAS_VEC
  const __m256i mag = _mm256_set1_epi32(0x7fffffff);
  __m256i v0 = _mm256_setzero_si256(), v1 = v0;
  for (; i + 16 <= n; i += 16) {
    v0 = _mm256_max_epu32(v0, _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i)), mag));
    v1 = _mm256_max_epu32(v1, _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i + 8)), mag));
  }
  alignas(32) uint32_t t[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(t), _mm256_max_epu32(v0, v1));
  for (uint32_t u : t) m = std::max(m, u);
#endif
  for (; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, x + i, sizeof u);
    m = std::max(m, u & 0x7fffffffu);
  }
  float f;
  std::memcpy(&f, &m, sizeof f);
  return f;
}

double l1Diff(const float* a, const float* b, int64_t n) {
  int64_t i = 0;
  double s = 0;
#if ZENNAS_VEC
  const __m256 absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  __m256d s0 = _mm256_setzero_pd(), s1 = s0;
  for (; i + 8 <= n; i += 8) {
    const __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)), absMask);
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(d)));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(d, 1)));
  }
  alignas(32) double t[4];
  _mm256_store_pd(t, _mm256_add_pd(s0, s1));
  s = (t[0] + t[1]) + (t[2] + t[3]);
#endif
  for (; i < n; ++i) s += std::fabs(static_cast<double>(a[i] - b[i]));
  return s;
}

// ---------------------------------------------------------------- Philox + Box–Muller

#if ZENNAS_VEC
inline void mulhilo(__m256i x, __m256i m, __m256i* hi, __m256i* lo) {
  const __m256i pe = _mm256_mul_epu32(x, m);
  const __m256i po = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m);
  *lo = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
  *hi = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
}

/** 8 Philox blocks with counters (j0 .. j0+7, stream, repeat, 0). */
inline void philox8(uint32_t j0, uint32_t stream, uint32_t repeat, PhiloxKey key, __m256i x[4]) {
  __m256i x0 = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(j0)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  __m256i x1 = _mm256_set1_epi32(static_cast<int>(stream)), x2 = _mm256_set1_epi32(static_cast<int>(repeat)),
          x3 = _mm256_setzero_si256();
  __m256i k0 = _mm256_set1_epi32(static_cast<int>(key.k0)), k1 = _mm256_set1_epi32(static_cast<int>(key.k1));
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(kPhiloxM0)), m1 = _mm256_set1_epi32(static_cast<int>(kPhiloxM1));
  const __m256i w0 = _mm256_set1_epi32(static_cast<int>(kPhiloxW0)), w1 = _mm256_set1_epi32(static_cast<int>(kPhiloxW1));
  for (int r = 0; r < 10; ++r) {
    if (r > 0) { k0 = _mm256_add_epi32(k0, w0); k1 = _mm256_add_epi32(k1, w1); }
    __m256i hi0, lo0, hi1, lo1;
    mulhilo(x0, m0, &hi0, &lo0);
    mulhilo(x2, m1, &hi1, &lo1);
    const __m256i y0 = _mm256_xor_si256(_mm256_xor_si256(hi1, x1), k0);
    const __m256i y2 = _mm256_xor_si256(_mm256_xor_si256(hi0, x3), k1);
    x1 = lo1; x3 = lo0; x0 = y0; x2 = y2;
  }
  x[0] = x0; x[1] = x1; x[2] = x2; x[3] = x3;
}

inline __m256d uniformOpen4(__m128i x) {
  const __m256d d = _mm256_add_pd(_mm256_cvtepi32_pd(_mm_xor_si128(x, _mm_set1_epi32(INT32_MIN))), _mm256_set1_pd(2147483648.0));
  return _mm256_mul_pd(_mm256_add_pd(d, _mm256_set1_pd(0.5)), _mm256_set1_pd(gm::kInv2p32));
}

#define ZD(x) _mm256_set1_pd(x)
inline __m256d logOpen4(__m256d u) {
  const __m256i bits = _mm256_castpd_si256(u);
  const __m256i ebits = _mm256_srli_epi64(bits, 52);
  const __m256i mbits = _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi64x(0x000FFFFFFFFFFFFFll)),
                                        _mm256_set1_epi64x(0x3FE0000000000000ll));
  __m256d m = _mm256_castsi256_pd(mbits);
  __m256d k = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(ebits, _mm256_set1_epi64x(0x4330000000000000ll))), ZD(gm::kTwo52));
  k = _mm256_sub_pd(k, ZD(1022.0));
  const __m256d lt = _mm256_cmp_pd(m, ZD(gm::kSqrtHalf), _CMP_LT_OQ);
  m = _mm256_blendv_pd(m, _mm256_add_pd(m, m), lt);
  k = _mm256_blendv_pd(k, _mm256_sub_pd(k, ZD(1.0)), lt);
  const __m256d f = _mm256_sub_pd(m, ZD(1.0));
  const __m256d s = _mm256_div_pd(f, _mm256_add_pd(ZD(2.0), f));
  const __m256d z = _mm256_mul_pd(s, s);
  const __m256d w = _mm256_mul_pd(z, z);
  const __m256d t1 = _mm256_mul_pd(w, _mm256_add_pd(ZD(gm::kLg2), _mm256_mul_pd(w, _mm256_add_pd(ZD(gm::kLg4), _mm256_mul_pd(w, ZD(gm::kLg6))))));
  const __m256d t2 = _mm256_mul_pd(
      z, _mm256_add_pd(ZD(gm::kLg1),
                       _mm256_mul_pd(w, _mm256_add_pd(ZD(gm::kLg3), _mm256_mul_pd(w, _mm256_add_pd(ZD(gm::kLg5), _mm256_mul_pd(w, ZD(gm::kLg7))))))));
  const __m256d R = _mm256_add_pd(t2, t1);
  const __m256d hfsq = _mm256_mul_pd(_mm256_mul_pd(ZD(0.5), f), f);
  const __m256d inner = _mm256_add_pd(_mm256_mul_pd(s, _mm256_add_pd(hfsq, R)), _mm256_mul_pd(k, ZD(gm::kLn2Lo)));
  return _mm256_sub_pd(_mm256_mul_pd(k, ZD(gm::kLn2Hi)), _mm256_sub_pd(_mm256_sub_pd(hfsq, inner), f));
}

inline void sinCosTwoPi4(__m256d u, __m256d* cosOut, __m256d* sinOut) {
  const __m256d u4 = _mm256_mul_pd(u, ZD(4.0));
  const __m256d q = _mm256_round_pd(u4, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256d a = _mm256_mul_pd(_mm256_sub_pd(u4, q), ZD(gm::kPiO2));
  const __m256d z = _mm256_mul_pd(a, a);
  const __m256d v = _mm256_mul_pd(z, a);
  const __m256d rs = _mm256_add_pd(
      ZD(gm::kS2), _mm256_mul_pd(z, _mm256_add_pd(ZD(gm::kS3), _mm256_mul_pd(z, _mm256_add_pd(ZD(gm::kS4), _mm256_mul_pd(z, _mm256_add_pd(ZD(gm::kS5), _mm256_mul_pd(z, ZD(gm::kS6)))))))));
  const __m256d s = _mm256_add_pd(a, _mm256_mul_pd(v, _mm256_add_pd(ZD(gm::kS1), _mm256_mul_pd(z, rs))));
  const __m256d rc = _mm256_mul_pd(
      z, _mm256_add_pd(ZD(gm::kC1),
                       _mm256_mul_pd(z, _mm256_add_pd(ZD(gm::kC2),
                                                      _mm256_mul_pd(z, _mm256_add_pd(ZD(gm::kC3), _mm256_mul_pd(z, _mm256_add_pd(ZD(gm::kC4), _mm256_mul_pd(z, _mm256_add_pd(ZD(gm::kC5), _mm256_mul_pd(z, ZD(gm::kC6))))))))))));
  const __m256d hz = _mm256_mul_pd(ZD(0.5), z);
  const __m256d w = _mm256_sub_pd(ZD(1.0), hz);
  const __m256d c = _mm256_add_pd(w, _mm256_add_pd(_mm256_sub_pd(_mm256_sub_pd(ZD(1.0), w), hz), _mm256_mul_pd(z, rc)));
  const __m256d q1 = _mm256_cmp_pd(q, ZD(1.0), _CMP_EQ_OQ), q2 = _mm256_cmp_pd(q, ZD(2.0), _CMP_EQ_OQ),
                q3 = _mm256_cmp_pd(q, ZD(3.0), _CMP_EQ_OQ);
  const __m256d swap = _mm256_or_pd(q1, q3);
  const __m256d sign = ZD(-0.0);
  __m256d X = _mm256_blendv_pd(c, s, swap), Y = _mm256_blendv_pd(s, c, swap);
  X = _mm256_xor_pd(X, _mm256_and_pd(_mm256_or_pd(q1, q2), sign));
  Y = _mm256_xor_pd(Y, _mm256_and_pd(_mm256_or_pd(q2, q3), sign));
  *cosOut = X;
  *sinOut = Y;
}

inline void boxMuller4(__m128i xa, __m128i xb, __m128* g0, __m128* g1) {
  const __m256d r = _mm256_sqrt_pd(_mm256_mul_pd(ZD(-2.0), logOpen4(uniformOpen4(xa))));
  __m256d c, s;
  sinCosTwoPi4(uniformOpen4(xb), &c, &s);
  *g0 = _mm256_cvtpd_ps(_mm256_mul_pd(r, c));
  *g1 = _mm256_cvtpd_ps(_mm256_mul_pd(r, s));
}
#undef ZD

#if ZENNAS_VEC512
// The same generator 16 counters / 8 doubles at a time: every operation as in the 4-lane version
// (compares into masks, blends by mask), so the same bits as the AVX2 and scalar builds.
inline void mulhilo16(__m512i x, __m512i m, __m512i* hi, __m512i* lo) {
  const __m512i pe = _mm512_mul_epu32(x, m);
  const __m512i po = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), m);
  *lo = _mm512_mask_blend_epi32(0xAAAA, pe, _mm512_slli_epi64(po, 32));
  *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 32), po);
}

inline void philox16(uint32_t j0, uint32_t stream, uint32_t repeat, PhiloxKey key, __m512i x[4]) {
  __m512i x0 = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(j0)), _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  __m512i x1 = _mm512_set1_epi32(static_cast<int>(stream)), x2 = _mm512_set1_epi32(static_cast<int>(repeat)), x3 = _mm512_setzero_si512();
  __m512i k0 = _mm512_set1_epi32(static_cast<int>(key.k0)), k1 = _mm512_set1_epi32(static_cast<int>(key.k1));
  const __m512i m0 = _mm512_set1_epi32(static_cast<int>(kPhiloxM0)), m1 = _mm512_set1_epi32(static_cast<int>(kPhiloxM1));
  const __m512i w0 = _mm512_set1_epi32(static_cast<int>(kPhiloxW0)), w1 = _mm512_set1_epi32(static_cast<int>(kPhiloxW1));
  for (int r = 0; r < 10; ++r) {
    if (r > 0) { k0 = _mm512_add_epi32(k0, w0); k1 = _mm512_add_epi32(k1, w1); }
    __m512i hi0, lo0, hi1, lo1;
    mulhilo16(x0, m0, &hi0, &lo0);
    mulhilo16(x2, m1, &hi1, &lo1);
    const __m512i y0 = _mm512_xor_si512(_mm512_xor_si512(hi1, x1), k0);
    const __m512i y2 = _mm512_xor_si512(_mm512_xor_si512(hi0, x3), k1);
    x1 = lo1; x3 = lo0; x0 = y0; x2 = y2;
  }
  x[0] = x0; x[1] = x1; x[2] = x2; x[3] = x3;
}

#define ZE(x) _mm512_set1_pd(x)
inline __m512d uniformOpen8(__m256i x) {
  const __m512d d = _mm512_add_pd(_mm512_cvtepi32_pd(_mm256_xor_si256(x, _mm256_set1_epi32(INT32_MIN))), ZE(2147483648.0));
  return _mm512_mul_pd(_mm512_add_pd(d, ZE(0.5)), ZE(gm::kInv2p32));
}

inline __m512d logOpen8(__m512d u) {
  const __m512i bits = _mm512_castpd_si512(u);
  const __m512i ebits = _mm512_srli_epi64(bits, 52);
  const __m512i mbits = _mm512_or_si512(_mm512_and_si512(bits, _mm512_set1_epi64(0x000FFFFFFFFFFFFFll)), _mm512_set1_epi64(0x3FE0000000000000ll));
  __m512d m = _mm512_castsi512_pd(mbits);
  __m512d k = _mm512_sub_pd(_mm512_castsi512_pd(_mm512_or_si512(ebits, _mm512_set1_epi64(0x4330000000000000ll))), ZE(gm::kTwo52));
  k = _mm512_sub_pd(k, ZE(1022.0));
  const __mmask8 lt = _mm512_cmp_pd_mask(m, ZE(gm::kSqrtHalf), _CMP_LT_OQ);
  m = _mm512_mask_blend_pd(lt, m, _mm512_add_pd(m, m));
  k = _mm512_mask_blend_pd(lt, k, _mm512_sub_pd(k, ZE(1.0)));
  const __m512d f = _mm512_sub_pd(m, ZE(1.0));
  const __m512d s = _mm512_div_pd(f, _mm512_add_pd(ZE(2.0), f));
  const __m512d z = _mm512_mul_pd(s, s);
  const __m512d w = _mm512_mul_pd(z, z);
  const __m512d t1 = _mm512_mul_pd(w, _mm512_add_pd(ZE(gm::kLg2), _mm512_mul_pd(w, _mm512_add_pd(ZE(gm::kLg4), _mm512_mul_pd(w, ZE(gm::kLg6))))));
  const __m512d t2 = _mm512_mul_pd(
      z, _mm512_add_pd(ZE(gm::kLg1), _mm512_mul_pd(w, _mm512_add_pd(ZE(gm::kLg3), _mm512_mul_pd(w, _mm512_add_pd(ZE(gm::kLg5), _mm512_mul_pd(w, ZE(gm::kLg7))))))));
  const __m512d R = _mm512_add_pd(t2, t1);
  const __m512d hfsq = _mm512_mul_pd(_mm512_mul_pd(ZE(0.5), f), f);
  const __m512d inner = _mm512_add_pd(_mm512_mul_pd(s, _mm512_add_pd(hfsq, R)), _mm512_mul_pd(k, ZE(gm::kLn2Lo)));
  return _mm512_sub_pd(_mm512_mul_pd(k, ZE(gm::kLn2Hi)), _mm512_sub_pd(_mm512_sub_pd(hfsq, inner), f));
}

inline void sinCosTwoPi8(__m512d u, __m512d* cosOut, __m512d* sinOut) {
  const __m512d u4 = _mm512_mul_pd(u, ZE(4.0));
  const __m512d q = _mm512_roundscale_pd(u4, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512d a = _mm512_mul_pd(_mm512_sub_pd(u4, q), ZE(gm::kPiO2));
  const __m512d z = _mm512_mul_pd(a, a);
  const __m512d v = _mm512_mul_pd(z, a);
  const __m512d rs = _mm512_add_pd(
      ZE(gm::kS2), _mm512_mul_pd(z, _mm512_add_pd(ZE(gm::kS3), _mm512_mul_pd(z, _mm512_add_pd(ZE(gm::kS4), _mm512_mul_pd(z, _mm512_add_pd(ZE(gm::kS5), _mm512_mul_pd(z, ZE(gm::kS6)))))))));
  const __m512d s = _mm512_add_pd(a, _mm512_mul_pd(v, _mm512_add_pd(ZE(gm::kS1), _mm512_mul_pd(z, rs))));
  const __m512d rc = _mm512_mul_pd(
      z, _mm512_add_pd(ZE(gm::kC1),
                       _mm512_mul_pd(z, _mm512_add_pd(ZE(gm::kC2),
                                                      _mm512_mul_pd(z, _mm512_add_pd(ZE(gm::kC3), _mm512_mul_pd(z, _mm512_add_pd(ZE(gm::kC4), _mm512_mul_pd(z, _mm512_add_pd(ZE(gm::kC5), _mm512_mul_pd(z, ZE(gm::kC6))))))))))));
  const __m512d hz = _mm512_mul_pd(ZE(0.5), z);
  const __m512d w = _mm512_sub_pd(ZE(1.0), hz);
  const __m512d c = _mm512_add_pd(w, _mm512_add_pd(_mm512_sub_pd(_mm512_sub_pd(ZE(1.0), w), hz), _mm512_mul_pd(z, rc)));
  const __mmask8 q1 = _mm512_cmp_pd_mask(q, ZE(1.0), _CMP_EQ_OQ), q2 = _mm512_cmp_pd_mask(q, ZE(2.0), _CMP_EQ_OQ), q3 = _mm512_cmp_pd_mask(q, ZE(3.0), _CMP_EQ_OQ);
  const __mmask8 swap = q1 | q3;
  const __m512i sign = _mm512_set1_epi64(static_cast<long long>(0x8000000000000000ull));
  const __m512i X = _mm512_castpd_si512(_mm512_mask_blend_pd(swap, c, s)), Y = _mm512_castpd_si512(_mm512_mask_blend_pd(swap, s, c));
  *cosOut = _mm512_castsi512_pd(_mm512_mask_xor_epi64(X, q1 | q2, X, sign));
  *sinOut = _mm512_castsi512_pd(_mm512_mask_xor_epi64(Y, q2 | q3, Y, sign));
}

inline void boxMuller8(__m256i xa, __m256i xb, __m256* g0, __m256* g1) {
  const __m512d r = _mm512_sqrt_pd(_mm512_mul_pd(ZE(-2.0), logOpen8(uniformOpen8(xa))));
  __m512d c, s;
  sinCosTwoPi8(uniformOpen8(xb), &c, &s);
  *g0 = _mm512_cvtpd_ps(_mm512_mul_pd(r, c));
  *g1 = _mm512_cvtpd_ps(_mm512_mul_pd(r, s));
}
#undef ZE

inline __m256i half256(__m512i v, int h) { return h ? _mm512_extracti64x4_epi64(v, 1) : _mm512_castsi512_si256(v); }
#endif
#endif

void gaussianFill(PhiloxKey key, uint32_t stream, uint32_t repeat, size_t begin, size_t end, float* out) {
#if ZENNAS_VEC
  size_t n = begin;
  const size_t head = std::min(end, (begin + 3) / 4 * 4);
  if (head > n) { gaussianFillScalar(key, stream, repeat, n, head, out); n = head; }
#if ZENNAS_VEC512
  for (; n + 64 <= end; n += 64) {  // 16 counters: 8 at a time through the 8-double Box–Muller
    __m512i x[4];
    philox16(static_cast<uint32_t>(n / 4), stream, repeat, key, x);
    float* o = out + (n - begin);
    for (int h = 0; h < 2; ++h) {
      __m256 a0, a1, b0, b1;
      boxMuller8(half256(x[0], h), half256(x[1], h), &a0, &a1);
      boxMuller8(half256(x[2], h), half256(x[3], h), &b0, &b1);
      for (int q = 0; q < 2; ++q) {  // counters 4q .. 4q+3 of these 8: their 4 outputs each, as the 4-lane loop writes them
        __m128 c0 = q ? _mm256_extractf128_ps(a0, 1) : _mm256_castps256_ps128(a0), c1 = q ? _mm256_extractf128_ps(a1, 1) : _mm256_castps256_ps128(a1);
        __m128 c2 = q ? _mm256_extractf128_ps(b0, 1) : _mm256_castps256_ps128(b0), c3 = q ? _mm256_extractf128_ps(b1, 1) : _mm256_castps256_ps128(b1);
        _MM_TRANSPOSE4_PS(c0, c1, c2, c3);
        float* oq = o + 32 * h + 16 * q;
        _mm_storeu_ps(oq + 0, c0);
        _mm_storeu_ps(oq + 4, c1);
        _mm_storeu_ps(oq + 8, c2);
        _mm_storeu_ps(oq + 12, c3);
      }
    }
  }
#endif
  for (; n + 32 <= end; n += 32) {
    __m256i x[4];
    philox8(static_cast<uint32_t>(n / 4), stream, repeat, key, x);
    float* o = out + (n - begin);
    for (int h = 0; h < 2; ++h) {
      const __m128i x0 = h ? _mm256_extracti128_si256(x[0], 1) : _mm256_castsi256_si128(x[0]);
      const __m128i x1 = h ? _mm256_extracti128_si256(x[1], 1) : _mm256_castsi256_si128(x[1]);
      const __m128i x2 = h ? _mm256_extracti128_si256(x[2], 1) : _mm256_castsi256_si128(x[2]);
      const __m128i x3 = h ? _mm256_extracti128_si256(x[3], 1) : _mm256_castsi256_si128(x[3]);
      __m128 a0, a1, b0, b1;
      boxMuller4(x0, x1, &a0, &a1);
      boxMuller4(x2, x3, &b0, &b1);
      _MM_TRANSPOSE4_PS(a0, a1, b0, b1);
      _mm_storeu_ps(o + 16 * h + 0, a0);
      _mm_storeu_ps(o + 16 * h + 4, a1);
      _mm_storeu_ps(o + 16 * h + 8, b0);
      _mm_storeu_ps(o + 16 * h + 12, b1);
    }
  }
  if (n < end) gaussianFillScalar(key, stream, repeat, n, end, out + (n - begin));
#else
  gaussianFillScalar(key, stream, repeat, begin, end, out);
#endif
}

void uniformFillScalar(PhiloxKey key, uint32_t stream, uint32_t repeat, int64_t begin, int64_t end, double bound, float* out) {
  uint32_t o[4];
  int64_t block = -1;
  for (int64_t n = begin; n < end; ++n) {
    if (n / 4 != block) {
      block = n / 4;
      const uint32_t ctr[4] = {static_cast<uint32_t>(block), stream, repeat, 0};
      philox4x32_10(ctr, key, o);
    }
    const double u = (static_cast<double>(o[n % 4]) + 0.5) / 4294967296.0;
    out[n - begin] = static_cast<float>(bound * (2.0 * u - 1.0));
  }
}

void uniformFill(PhiloxKey key, uint32_t stream, uint32_t repeat, int64_t begin, int64_t end, double bound, float* out) {
#if ZENNAS_VEC
  // 8 counters at a time (philox8); per word, 4 counters' doubles as the scalar formula (÷ 2³² is
  // the exact × 2⁻³²), then a 4 × 4 transpose puts each counter's 4 words in order
  int64_t n = begin;
  const int64_t head = std::min(end, (begin + 3) / 4 * 4);
  if (head > n) { uniformFillScalar(key, stream, repeat, n, head, bound, out); n = head; }
  const __m256d b = _mm256_set1_pd(bound), two = _mm256_set1_pd(2.0), one = _mm256_set1_pd(1.0);
  for (; n + 32 <= end; n += 32) {
    __m256i x[4];
    philox8(static_cast<uint32_t>(n / 4), stream, repeat, key, x);
    float* o = out + (n - begin);
    for (int h = 0; h < 2; ++h) {
      __m128 a[4];
      for (int w = 0; w < 4; ++w) {
        const __m128i xw = h ? _mm256_extracti128_si256(x[w], 1) : _mm256_castsi256_si128(x[w]);
        a[w] = _mm256_cvtpd_ps(_mm256_mul_pd(b, _mm256_sub_pd(_mm256_mul_pd(two, uniformOpen4(xw)), one)));
      }
      _MM_TRANSPOSE4_PS(a[0], a[1], a[2], a[3]);
      for (int c = 0; c < 4; ++c) _mm_storeu_ps(o + 16 * h + 4 * c, a[c]);
    }
  }
  if (n < end) uniformFillScalar(key, stream, repeat, n, end, bound, out + (n - begin));
#else
  uniformFillScalar(key, stream, repeat, begin, end, bound, out);
#endif
}

#include "winograd_impl.inl"
#include "backward_impl.inl"

}  // namespace

const Kernels& table() {
  static const Kernels k = {ZENNAS_VEC512 ? "avx512" : ZENNAS_VEC ? "avx2" : "scalar", gaussianFill, uniformFill, convGemm, subsample, dwConv, bnStats, bnStatsRuns, bnApply, maxPool, gap,
                            relu, sigmoid, add, scale, absMax, l1Diff,
                            convBwdWeight, convBwdWeightDot, conv1x1BwdWeightDot, convBwdData, dwConvBwd, maxPoolBwd, avgPool, avgPoolBwd, bnBwd,
                            reluBwd, sigmoidBwd, scaleBwd, dot,
                            convBwdDataImages, convBwdWeightPacked, bnBwdFused, spreadStrided, winoWeights, winoConv,
                            winoInputCols, winoGemmCols, winoOutputCols,
                            winoWgradPack, winoWgradGemm, winoWgradFinish, bnApplyAddRelu, bnAddReluBwd};
  return k;
}

}  // namespace ZENNAS_ISA
}  // namespace cpu
}  // namespace zennas
