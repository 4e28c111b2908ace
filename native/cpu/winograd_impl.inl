// Winograd F(4×4, 3×3) kernel bodies (winograd.h), included by kernels_impl.inl into both ISA
// translation units (inside its anonymous namespace: microKernel, kKC, kMR, kNR). The transforms
// are loops over the tiles of a chunk (innermost, contiguous), which the AVX2 TU vectorises.

// U = G w Gᵀ in float64 for the rows of an MR-row panel at once: lanes 0–3 in a 4-double vector, 4–5
// in a 2-double one (kMR = 6), read and written as the panel's contiguous rows. The values are
// exactly those of the scalar float64 expressions a/4, −(a+b+c)/6, −(a−b+c)/6, a/24 + b/12 + c/6,
// a/24 − b/12 + c/6, c (the rows of G): x/(3·2ᵏ) is written (x/3)·2⁻ᵏ, the same double (scaling by a
// power of 2 commutes with rounding; these operands are sums of floats' transforms, far from the
// subnormal range), so three divisions by 3 per column replace nine divisions.
typedef double WinoD4 __attribute__((vector_size(32)));
typedef double WinoD2 __attribute__((vector_size(16)));
typedef float WinoF4 __attribute__((vector_size(16)));
typedef float WinoF2 __attribute__((vector_size(8)));
typedef double WinoD8 __attribute__((vector_size(64)));  // the AVX-512 build: a panel's 6 rows in one vector
typedef float WinoF8 __attribute__((vector_size(32)));

/** RN(x / 3). With FMA: q₀ = RN(x·t), t = RN(1/3); r = x − 3q₀ (exact, one FMA); RN(q₀ + r·t). x/3 is
 *  never closer than 1/6 ulp to a rounding boundary (3 is odd: x/3 has a fraction of 0, 1/3 or 2/3
 *  ulp), and q₀ + r·t is within 2⁻⁵² ulp of x/3, so the result is the correctly rounded quotient —
 *  what the division gives, in 3 FMA-unit operations instead of a 13-cycle divide. */
template <class V> inline V winoDiv3(const V& x) {
#if ZENNAS_VEC
  constexpr double t = 1.0 / 3.0;
#if ZENNAS_VEC512
  if constexpr (sizeof(V) == 64) {
    const __m512d q0 = _mm512_mul_pd(x, _mm512_set1_pd(t)), r = _mm512_fnmadd_pd(q0, _mm512_set1_pd(3.0), x);
    return _mm512_fmadd_pd(r, _mm512_set1_pd(t), q0);
  } else
#endif
  if constexpr (sizeof(V) == 32) {
    const __m256d q0 = _mm256_mul_pd(x, _mm256_set1_pd(t)), r = _mm256_fnmadd_pd(q0, _mm256_set1_pd(3.0), x);
    return _mm256_fmadd_pd(r, _mm256_set1_pd(t), q0);
  } else {
    const __m128d q0 = _mm_mul_pd(x, _mm_set1_pd(t)), r = _mm_fnmadd_pd(q0, _mm_set1_pd(3.0), x);
    return _mm_fmadd_pd(r, _mm_set1_pd(t), q0);
  }
#else
  return x / 3.0;
#endif
}

template <class V> inline void winoG(const V& a, const V& b, const V& c, V o[6]) {
  const V a3 = winoDiv3(a), b3 = winoDiv3(b), c3 = winoDiv3(c);
  o[0] = a * 0.25;
  o[1] = -winoDiv3(a + b + c) * 0.5;
  o[2] = -winoDiv3(a - b + c) * 0.5;
  o[3] = a3 * 0.125 + b3 * 0.25 + c3 * 0.5;
  o[4] = a3 * 0.125 - b3 * 0.25 + c3 * 0.5;
  o[5] = c;
}

/** One transform of the lanes of V (`tap(q, w)`: the 9 taps of the 3×3 sub-kernel, `put(ξ, u)`: the 36 results). */
template <class V, class Tap, class Put> inline void winoWeightLanes(Tap tap, Put put) {
  V w[3][3], t[6][3];
  for (int q = 0; q < 9; ++q) tap(q, w[q / 3][q % 3]);
  for (int x = 0; x < 3; ++x) {  // G w
    V o[6];
    winoG(w[0][x], w[1][x], w[2][x], o);
    for (int i = 0; i < 6; ++i) t[i][x] = o[i];
  }
  for (int i = 0; i < 6; ++i) {  // (G w) Gᵀ
    V u[6];
    winoG(t[i][0], t[i][1], t[i][2], u);
    for (int j = 0; j < 6; ++j) put(i * 6 + j, u[j]);
  }
}

/**
 * Rows [kOff, kOff + lanes of V) of one panel's sub-kernel: `src(q)` points at tap q's kMR floats
 * (nullptr past the kernel's edge: zero), `dst` at its U rows (ξ apart by uSize = winoUStride). A whole panel is
 * stored as vectors; else rows [r0, r1w) only, those from `live` on (past cout) as zero.
 */
template <class V, class F, int kOff, class Src>
inline void winoPanelLanes(const Src& src, float* dst, int64_t uSize, bool whole, int64_t r0, int64_t r1w, int64_t live) {
  constexpr int64_t kLanes = std::min<int64_t>(sizeof(F) / sizeof(float), kMR - kOff);  // rows of the panel in V (an 8-lane V: 6)
#if ZENNAS_VEC
  // A 6-of-8-lane vector moves by masked load / store: a memcpy of 24 bytes into a zeroed 32-byte
  // vector and its reload as one could not be store-forwarded (≈ 40 % of the transform's time).
  constexpr bool kMasked = sizeof(F) == 32 && kLanes == 6;
  const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
#endif
  winoWeightLanes<V>(
      [&](int q, V& w) {
        F f = {};
        const float* s = src(q);
#if ZENNAS_VEC
        if constexpr (kMasked) {
          if (s) f = reinterpret_cast<F>(_mm256_maskload_ps(s + kOff, six));
        } else
#endif
        if (s) std::memcpy(&f, s + kOff, kLanes * sizeof(float));
        w = __builtin_convertvector(f, V);
      },
      [&](int xi, const V& u) {
        const F f = __builtin_convertvector(u, F);
        float* d = dst + xi * uSize;
#if ZENNAS_VEC
        if constexpr (kMasked)
          if (whole) { _mm256_maskstore_ps(d + kOff, six, reinterpret_cast<__m256>(f)); return; }
#endif
        if (whole) { std::memcpy(d + kOff, &f, kLanes * sizeof(float)); return; }
        for (int64_t r = std::max<int64_t>(r0, kOff); r < std::min<int64_t>(r1w, kOff + kLanes); ++r) d[r] = r < live ? f[r - kOff] : 0.f;
      });
}

void winoWeights(const ConvGeom& g, const float* packedA, float* U, int64_t co0, int64_t co1) {
  const int64_t K = g.cin * g.k * g.k, S = winoSub(g), Kw = winoK(g), uSize = winoUStride(g);
  static_assert(kMR == 6, "a panel's rows are 4 + 2 lanes");
  for (int64_t p = co0 / kMR; p * kMR < co1; ++p) {  // MR-row panels: a row's taps and U values are kMR floats apart
    // rows [r0, r1) of this panel; the task that ends at cout also writes the padding rows past it
    // (zero: the plan does not clear U, and the micro-kernel never reads them, but U stays defined)
    const int64_t r0 = std::max<int64_t>(co0 - p * kMR, 0), r1 = std::min<int64_t>(co1 - p * kMR, kMR);
    const int64_t live = std::min<int64_t>(g.cout - p * kMR, kMR), r1w = co1 == g.cout ? kMR : r1;
    const bool whole = r0 == 0 && r1 == kMR;
    const float* panel = packedA + p * K * kMR;
    float* uPanel = U + p * Kw * kMR;
    for (int64_t sub = 0; sub < S * S; ++sub) {
      // taps (3a + u, 3b + v) of the kernel, zero past its edge: offsets within a channel's k·k taps
      // (computed once per sub-kernel: two divisions per tap were a large part of the transform)
      int64_t tapOff[9];
      for (int q = 0; q < 9; ++q) {
        const int64_t ky = 3 * (sub / S) + q / 3, kx = 3 * (sub % S) + q % 3;
        tapOff[q] = ky < g.k && kx < g.k ? (ky * g.k + kx) * kMR : -1;
      }
      for (int64_t ci = 0; ci < g.cin; ++ci) {
        const float* chan = panel + ci * g.k * g.k * kMR;
        const auto src = [&](int q) -> const float* { return tapOff[q] >= 0 ? chan + tapOff[q] : nullptr; };
        float* dst = uPanel + (sub * g.cin + ci) * kMR;
#if ZENNAS_VEC512
        winoPanelLanes<WinoD8, WinoF8, 0>(src, dst, uSize, whole, r0, r1w, live);  // the same double operations per row, so the same bits
#else
        winoPanelLanes<WinoD4, WinoF4, 0>(src, dst, uSize, whole, r0, r1w, live);
        winoPanelLanes<WinoD2, WinoF2, 4>(src, dst, uSize, whole, r0, r1w, live);
#endif
      }
    }
  }
}

/** Bᵀ x of 6 rows (row stride `rs` floats) for `n` tiles, into 6 rows of `o` (stride `os`). */
inline void winoBt(const float* __restrict x, int64_t rs, float* __restrict o, int64_t os, int64_t n) {
  const float *x0 = x, *x1 = x + rs, *x2 = x + 2 * rs, *x3 = x + 3 * rs, *x4 = x + 4 * rs, *x5 = x + 5 * rs;
  float *o0 = o, *o1 = o + os, *o2 = o + 2 * os, *o3 = o + 3 * os, *o4 = o + 4 * os, *o5 = o + 5 * os;
  for (int64_t t = 0; t < n; ++t) {
    const float a0 = x0[t], a1 = x1[t], a2 = x2[t], a3 = x3[t], a4 = x4[t], a5 = x5[t];
    o0[t] = 4.f * a0 - 5.f * a2 + a4;
    o1[t] = -4.f * (a1 + a2) + (a3 + a4);
    o2[t] = 4.f * (a1 - a2) + (a4 - a3);
    o3[t] = 2.f * (a3 - a1) + (a4 - a2);
    o4[t] = 2.f * (a1 - a3) + (a4 - a2);
    o5[t] = 4.f * a1 - 5.f * a3 + a5;
  }
}

/** Aᵀ m of 6 rows (stride `rs`) for `n` tiles, into 4 rows of `o` (stride `os`). */
inline void winoAt(const float* __restrict m, int64_t rs, float* __restrict o, int64_t os, int64_t n) {
  const float *m0 = m, *m1 = m + rs, *m2 = m + 2 * rs, *m3 = m + 3 * rs, *m4 = m + 4 * rs, *m5 = m + 5 * rs;
  float *o0 = o, *o1 = o + os, *o2 = o + 2 * os, *o3 = o + 3 * os;
  for (int64_t t = 0; t < n; ++t) {
    const float p12 = m1[t] + m2[t], d12 = m1[t] - m2[t], p34 = m3[t] + m4[t], d34 = m3[t] - m4[t];
    o0[t] = m0[t] + p12 + p34;
    o1[t] = d12 + 2.f * d34;
    o2[t] = p12 + 4.f * p34;
    o3[t] = d12 + 8.f * d34 + m5[t];
  }
}

#if ZENNAS_VEC
/** 8×8 transpose of r[0..7] in place. */
inline void transpose8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]), t2 = _mm256_unpacklo_ps(r[2], r[3]),
               t3 = _mm256_unpackhi_ps(r[2], r[3]), t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]),
               t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE), s2 = _mm256_shuffle_ps(t1, t3, 0x44),
               s3 = _mm256_shuffle_ps(t1, t3, 0xEE), s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE),
               s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20); r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20); r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31); r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31); r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/** Bᵀ of 6 vectors (the same formulas as winoBt; V = __m256 or __m512, GCC's vector operators). */
template <class V>
inline void winoBtV(const V a[6], V o[6]) {
  const V a34 = a[3] + a[4], a12 = a[1] + a[2], d12 = a[1] - a[2], d43 = a[4] - a[3], d42 = a[4] - a[2], d31 = a[3] - a[1];
  o[0] = (4.f * a[0] - 5.f * a[2]) + a[4];
  o[1] = -4.f * a12 + a34;
  o[2] = 4.f * d12 + d43;
  o[3] = 2.f * d31 + d42;
  o[4] = 2.f * (a[1] - a[3]) + d42;
  o[5] = (4.f * a[1] - 5.f * a[3]) + a[5];
}
inline void winoBt8(const __m256 a[6], __m256 o[6]) { winoBtV(a, o); }

/** Aᵀ of 6 vectors (the same formulas as winoAt). */
template <class V>
inline void winoAtV(const V m[6], V o[4]) {
  const V p12 = m[1] + m[2], d12 = m[1] - m[2], p34 = m[3] + m[4], d34 = m[3] - m[4];
  o[0] = (m[0] + p12) + p34;
  o[1] = d12 + 2.f * d34;
  o[2] = p12 + 4.f * p34;
  o[3] = (d12 + 8.f * d34) + m[5];
}
inline void winoAt8(const __m256 m[6], __m256 o[4]) { winoAtV(m, o); }

/**
 * Input transform of channel `chan` for 8 tiles (t0 .. t0+7 of the chunk; ≥ nt: zero) into 36
 * rows of 8 floats, `vs` floats apart (ξ = 6i + j): rows of each patch are loaded as vectors,
 * Bᵀ runs down them, an 8×8 transpose puts the tiles in the lanes, then B along the patch rows.
 */
/** The 6 rows of tile t's 6 × 6 input patch (lanes 0–5; ≥ nt: zero), from (ty + offY, tx + offX). */
inline void winoPatch(const ConvGeom& g, const float* chan, const int64_t* base, const int32_t* ty, const int32_t* tx, int64_t t, int64_t nt,
                      int64_t offY, int64_t offX, __m256 d[6]) {
  const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
  if (t >= nt) {
    for (int i = 0; i < 6; ++i) d[i] = _mm256_setzero_ps();
    return;
  }
  const float* p = chan + base[t];
  const int64_t y0 = ty[t] + offY, x0 = tx[t] + offX;
  if (y0 >= 0 && y0 + 6 <= g.h && x0 >= 0 && x0 + 6 <= g.w) {
    for (int i = 0; i < 6; ++i) d[i] = _mm256_maskload_ps(p + (y0 + i) * g.w + x0, six);
    return;
  }
  // A patch over the map's edge: masked loads of the columns inside it (a lane outside reads
  // nothing and gives 0). Building it by scalar stores and loading it back as a vector cost a
  // store-forwarding stall per row: most of the transform's time on 32² and smaller maps.
  const __m256i xs = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(x0)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  const __m256i cols = _mm256_and_si256(six, _mm256_and_si256(_mm256_cmpgt_epi32(xs, _mm256_set1_epi32(-1)),
                                                               _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(g.w)), xs)));
  const uintptr_t rowAt = reinterpret_cast<uintptr_t>(p) + static_cast<uintptr_t>(x0 * static_cast<int64_t>(sizeof(float)));
  for (int i = 0; i < 6; ++i) {
    const int64_t y = y0 + i;
    d[i] = y >= 0 && y < g.h ? _mm256_maskload_ps(reinterpret_cast<const float*>(rowAt + static_cast<uintptr_t>(y * g.w * static_cast<int64_t>(sizeof(float)))), cols)
                             : _mm256_setzero_ps();
  }
}

inline void winoInput8(const ConvGeom& g, const float* chan, const int64_t* base, const int32_t* ty, const int32_t* tx, int64_t t0, int64_t nt,
                       int64_t offY, int64_t offX, float* V, int64_t vs) {
  alignas(32) float z[6][8][8];  // [i'][tile][j]
  for (int k = 0; k < 8; ++k) {
    __m256 d[6], zz[6];
    winoPatch(g, chan, base, ty, tx, t0 + k, nt, offY, offX, d);
    winoBt8(d, zz);
    for (int i = 0; i < 6; ++i) _mm256_store_ps(z[i][k], zz[i]);
  }
  for (int i = 0; i < 6; ++i) {
    __m256 r[8];
    for (int k = 0; k < 8; ++k) r[k] = _mm256_load_ps(z[i][k]);
    transpose8(r);  // r[j]: element j of row i' of every tile
    __m256 o[6];
    winoBt8(r, o);
    for (int j = 0; j < 6; ++j) _mm256_store_ps(V + (i * 6 + j) * vs, o[j]);
  }
}

/** Row r of the 4 × 4 outputs of tiles t0 .. t0+7 (y_s: output (r, s) of each tile, one lane per tile) into the output channel `oc`. */
inline void winoStoreRows8(const ConvGeom& g, __m256 y0, __m256 y1, __m256 y2, __m256 y3, float* oc, const int64_t* base, const int32_t* ty,
                           const int32_t* tx, int64_t t0, int64_t nt, int r) {
  __m128 lo0 = _mm256_castps256_ps128(y0), lo1 = _mm256_castps256_ps128(y1), lo2 = _mm256_castps256_ps128(y2), lo3 = _mm256_castps256_ps128(y3);
  __m128 hi0 = _mm256_extractf128_ps(y0, 1), hi1 = _mm256_extractf128_ps(y1, 1), hi2 = _mm256_extractf128_ps(y2, 1), hi3 = _mm256_extractf128_ps(y3, 1);
  _MM_TRANSPOSE4_PS(lo0, lo1, lo2, lo3);
  _MM_TRANSPOSE4_PS(hi0, hi1, hi2, hi3);
  const __m128 row[8] = {lo0, lo1, lo2, lo3, hi0, hi1, hi2, hi3};  // row[k]: outputs (r, 0..3) of tile k
  for (int k = 0; k < 8; ++k) {
    const int64_t t = t0 + k;
    if (t >= nt) break;
    const int64_t oy = ty[t] + r, ox0 = tx[t];
    if (oy >= g.oh) continue;
    float* dst = oc + base[t] + oy * g.ow + ox0;
    if (ox0 + 4 <= g.ow) {
      _mm_storeu_ps(dst, row[k]);
    } else {
      alignas(16) float v[4];
      _mm_store_ps(v, row[k]);
      for (int64_t s = 0; s < g.ow - ox0; ++s) dst[s] = v[s];
    }
  }
}

/** Output transform of 8 tiles from M (row ξ at m + ξ·ms, 8 tiles wide) into the output channel `oc`. */
inline void winoOutput8(const ConvGeom& g, const float* m, int64_t ms, float* oc, const int64_t* base, const int32_t* ty, const int32_t* tx,
                        int64_t t0, int64_t nt) {
  alignas(32) float q[4][6][8];  // [r][j][tile]
  for (int j = 0; j < 6; ++j) {
    __m256 a[6], o[4];
    for (int i = 0; i < 6; ++i) a[i] = _mm256_load_ps(m + (i * 6 + j) * ms);
    winoAt8(a, o);
    for (int r = 0; r < 4; ++r) _mm256_store_ps(q[r][j], o[r]);
  }
  for (int r = 0; r < 4; ++r) {
    __m256 a[6], y[4];
    for (int j = 0; j < 6; ++j) a[j] = _mm256_load_ps(q[r][j]);
    winoAt8(a, y);  // y[s]: output (r, s) of every tile
    winoStoreRows8(g, y[0], y[1], y[2], y[3], oc, base, ty, tx, t0, nt, r);
  }
}
#endif

#if ZENNAS_VEC512
/** Two 8 × 8 transposes at once: lanes 0–7 and 8–15 of r[0..7] each transposed in place (transpose8's steps per 256-bit half). */
inline void transpose8x2(__m512 r[8]) {
  const __m512 t0 = _mm512_unpacklo_ps(r[0], r[1]), t1 = _mm512_unpackhi_ps(r[0], r[1]), t2 = _mm512_unpacklo_ps(r[2], r[3]),
               t3 = _mm512_unpackhi_ps(r[2], r[3]), t4 = _mm512_unpacklo_ps(r[4], r[5]), t5 = _mm512_unpackhi_ps(r[4], r[5]),
               t6 = _mm512_unpacklo_ps(r[6], r[7]), t7 = _mm512_unpackhi_ps(r[6], r[7]);
  const __m512 s0 = _mm512_shuffle_ps(t0, t2, 0x44), s1 = _mm512_shuffle_ps(t0, t2, 0xEE), s2 = _mm512_shuffle_ps(t1, t3, 0x44),
               s3 = _mm512_shuffle_ps(t1, t3, 0xEE), s4 = _mm512_shuffle_ps(t4, t6, 0x44), s5 = _mm512_shuffle_ps(t4, t6, 0xEE),
               s6 = _mm512_shuffle_ps(t5, t7, 0x44), s7 = _mm512_shuffle_ps(t5, t7, 0xEE);
  // permute2f128 per half: 128-bit lanes (0, 2) of a with (0, 2) of b → a0 b0 a2 b2; (1, 3) → a1 b1 a3 b3
  const auto lo = [](__m512 a, __m512 b) { return _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27), b); };
  const auto hi = [](__m512 a, __m512 b) { return _mm512_permutex2var_ps(a, _mm512_setr_epi32(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31), b); };
  r[0] = lo(s0, s4); r[1] = lo(s1, s5); r[2] = lo(s2, s6); r[3] = lo(s3, s7);
  r[4] = hi(s0, s4); r[5] = hi(s1, s5); r[6] = hi(s2, s6); r[7] = hi(s3, s7);
}

inline __m512 joinHalves(__m256 a, __m256 b) {
  return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(a)), _mm256_castps_pd(b), 1));
}

/** winoInput8 for 16 tiles (t0 .. t0+15) at once: tiles k and k + 8 share a 512-bit vector; the same operations per element, so the same bits. */
inline void winoInput16(const ConvGeom& g, const float* chan, const int64_t* base, const int32_t* ty, const int32_t* tx, int64_t t0, int64_t nt,
                        int64_t offY, int64_t offX, float* V, int64_t vs) {
  alignas(64) float z[6][8][16];  // [i'][k][j of tile k (lanes 0–7), of tile k + 8 (lanes 8–15)]
  for (int k = 0; k < 8; ++k) {
    __m256 da[6], db[6];
    winoPatch(g, chan, base, ty, tx, t0 + k, nt, offY, offX, da);
    winoPatch(g, chan, base, ty, tx, t0 + 8 + k, nt, offY, offX, db);
    __m512 d[6], zz[6];
    for (int i = 0; i < 6; ++i) d[i] = joinHalves(da[i], db[i]);
    winoBtV(d, zz);
    for (int i = 0; i < 6; ++i) _mm512_store_ps(z[i][k], zz[i]);
  }
  for (int i = 0; i < 6; ++i) {
    __m512 r[8];
    for (int k = 0; k < 8; ++k) r[k] = _mm512_load_ps(z[i][k]);
    transpose8x2(r);  // r[j]: element j of row i' of tiles 0–7 (lanes 0–7) and 8–15 (lanes 8–15)
    __m512 o[6];
    winoBtV(r, o);
    for (int j = 0; j < 6; ++j) _mm512_storeu_ps(V + (i * 6 + j) * vs, o[j]);
  }
}

/** winoOutput8 for 16 tiles: both 1-D transforms at 512 bits, the stores per 8 tiles as there. */
inline void winoOutput16(const ConvGeom& g, const float* m, int64_t ms, float* oc, const int64_t* base, const int32_t* ty, const int32_t* tx,
                         int64_t t0, int64_t nt) {
  alignas(64) float q[4][6][16];  // [r][j][tile]
  for (int j = 0; j < 6; ++j) {
    __m512 a[6], o[4];
    for (int i = 0; i < 6; ++i) a[i] = _mm512_loadu_ps(m + (i * 6 + j) * ms);
    winoAtV(a, o);
    for (int r = 0; r < 4; ++r) _mm512_store_ps(q[r][j], o[r]);
  }
  for (int r = 0; r < 4; ++r) {
    __m512 a[6], y[4];
    for (int j = 0; j < 6; ++j) a[j] = _mm512_load_ps(q[r][j]);
    winoAtV(a, y);  // y[s]: output (r, s) of every tile
    for (int h = 0; h < 2; ++h) {
      const int64_t tb = t0 + 8 * h;
      if (tb >= nt) break;
      const auto half = [h](__m512 v) { return h ? _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)) : _mm512_castps512_ps256(v); };
      winoStoreRows8(g, half(y[0]), half(y[1]), half(y[2]), half(y[3]), oc, base, ty, tx, tb, nt, r);
    }
  }
}
#endif

/** Tile coordinates of the tiles [t0, t0 + nt): image offset, top row, left column. */
inline void winoTileCoords(const ConvGeom& g, int64_t t0, int64_t nt, int64_t* base, int32_t* ty, int32_t* tx) {
  const int64_t tw = winoTilesW(g), tpi = tw * winoTilesH(g), plane = g.h * g.w;
  for (int64_t t = 0; t < nt; ++t) {
    const int64_t tile = t0 + t, r = tile % tpi;
    base[t] = (tile / tpi) * plane;
    ty[t] = static_cast<int32_t>(4 * (r / tw));
    tx[t] = static_cast<int32_t>(4 * (r % tw));
  }
}

// The forward in three pieces on a column layout: V ([36][T/16][Kw][16], the packed B of each ξ)
// and M ([36][cout][T]) hold T columns, one per tile; a chunk of tiles starts at column c0 (a
// multiple of 16). winoConv runs all three on one chunk in the worker's scratch; the layer-wide
// form (executor) runs each piece over the whole layer, so the transformed weights are read once.

void winoInputCols(const ConvGeom& g, const float* in, float* V, int64_t T, int64_t c0, int64_t t0, int64_t nt, int64_t q0, int64_t q1,
                   float* scratch) {
  const int64_t Tl = winoCols(nt);  // this chunk's columns (tiles ≥ nt: zero)
  if (nt <= 0 || Tl > kWinoMaxChunk) return;
  const int64_t cin = g.cin, S = winoSub(g), Kw = winoK(g), vs = winoVStride(g, T);
  float* Vc = V + c0 * Kw;  // the chunk's first panel
  int64_t base[kWinoMaxChunk];  // image offset of each tile
  int32_t ty[kWinoMaxChunk], tx[kWinoMaxChunk];
  winoTileCoords(g, t0, nt, base, ty, tx);
#if !ZENNAS_VEC
  float* X = scratch;         // [36][Tl]: gathered patches
  float* Tm = X + kWinoXi * Tl;  // [36][Tl]: after the first 1-D transform
  for (int64_t xi = 0; xi < kWinoXi; ++xi)
    for (int64_t t = nt; t < Tl; ++t) X[xi * Tl + t] = 0.f;  // padding tiles: zero columns
#else
  (void)scratch;
#endif
  // (sub-kernel, channel) by (sub-kernel, channel), into the packed B of every ξ; sub-kernel (a, b)
  // reads the patch shifted by (3a, 3b) from the conv's own (−pad, −pad)
  for (int64_t q = q0; q < q1; ++q) {
    const int64_t sub = q / cin, ci = q % cin, offY = 3 * (sub / S) - g.pad, offX = 3 * (sub % S) - g.pad;
    const float* chan = in + ci * g.inStride;
#if ZENNAS_VEC
#if ZENNAS_VEC512
    for (int64_t t = 0; t < Tl; t += kNR) winoInput16(g, chan, base, ty, tx, t, nt, offY, offX, Vc + (t / kNR) * Kw * kNR + q * kNR, vs);
#else
    for (int64_t t = 0; t < Tl; t += 8) winoInput8(g, chan, base, ty, tx, t, nt, offY, offX, Vc + (t / kNR) * Kw * kNR + q * kNR + t % kNR, vs);
#endif
#else
    for (int64_t t = 0; t < nt; ++t) {
      const float* p = chan + base[t];
      const int64_t y0 = ty[t] + offY, x0 = tx[t] + offX;
      if (y0 >= 0 && y0 + 6 <= g.h && x0 >= 0 && x0 + 6 <= g.w) {
        for (int64_t i = 0; i < 6; ++i) {
          const float* row = p + (y0 + i) * g.w + x0;
          for (int64_t j = 0; j < 6; ++j) X[(i * 6 + j) * Tl + t] = row[j];
        }
      } else {
        for (int64_t i = 0; i < 6; ++i) {
          const int64_t y = y0 + i;
          const bool rowOk = y >= 0 && y < g.h;
          for (int64_t j = 0; j < 6; ++j) {
            const int64_t x = x0 + j;
            X[(i * 6 + j) * Tl + t] = rowOk && x >= 0 && x < g.w ? p[y * g.w + x] : 0.f;
          }
        }
      }
    }
    for (int64_t j = 0; j < 6; ++j) winoBt(X + j * Tl, 6 * Tl, Tm + j * Tl, 6 * Tl, Tl);  // Bᵀ d (down the columns)
    for (int64_t i = 0; i < 6; ++i)                                                        // (Bᵀ d) B (along the rows)
      for (int64_t p = 0; p < Tl / kNR; ++p)
        winoBt(Tm + i * 6 * Tl + p * kNR, Tl, Vc + (i * 6) * vs + p * Kw * kNR + q * kNR, vs, kNR);
#endif
  }
}

void winoGemmCols(const ConvGeom& g, const float* U, const float* V, float* M, int64_t T, int64_t xi0, int64_t xi1, int64_t p0, int64_t p1) {
  // M[ξ] (cout × T) = U[ξ] (cout × S·cin) · V[ξ] (S·cin × T); K order fixed by S·cin and KC
  const int64_t cout = g.cout, Kw = winoK(g), uSize = winoUStride(g), vs = winoVStride(g, T), ms = winoMStride(g, T);
  for (int64_t xi = xi0; xi < xi1; ++xi) {
    const float* A = U + xi * uSize;
    const float* B = V + xi * vs;
    float* C = M + xi * ms;
    for (int64_t pc = 0; pc < Kw; pc += kKC) {
      const int64_t kc = std::min<int64_t>(kKC, Kw - pc);
      if (p1 > p0) microKernelRows(kc, A + pc * kMR, Kw * kMR, cout, B + p0 * Kw * kNR + pc * kNR, Kw * kNR, C + p0 * kNR, T, pc > 0, p1 - p0, kNR);
    }
  }
}

void winoOutputCols(const ConvGeom& g, const float* M, int64_t T, int64_t c0, float* out, int64_t t0, int64_t nt, int64_t co0, int64_t co1,
                    float* scratch) {
  const int64_t Tl = winoCols(nt);
  if (nt <= 0 || Tl > kWinoMaxChunk) return;
  const int64_t ms = winoMStride(g, T);
  int64_t base[kWinoMaxChunk];
  int32_t ty[kWinoMaxChunk], tx[kWinoMaxChunk];
  winoTileCoords(g, t0, nt, base, ty, tx);
#if ZENNAS_VEC
  (void)scratch;
  for (int64_t co = co0; co < co1; ++co)
#if ZENNAS_VEC512
    for (int64_t t = 0; t < nt; t += 16) winoOutput16(g, M + co * T + c0 + t, ms, out + co * g.outStride, base, ty, tx, t, nt);
#else
    for (int64_t t = 0; t < nt; t += 8) winoOutput8(g, M + co * T + c0 + t, ms, out + co * g.outStride, base, ty, tx, t, nt);
#endif
#else
  float* X = scratch;            // [16][Tl]: output tiles
  float* Tm = X + kWinoXi * Tl;  // [24][Tl]: after the first 1-D transform
  for (int64_t co = co0; co < co1; ++co) {
    for (int64_t j = 0; j < 6; ++j) winoAt(M + j * ms + co * T + c0, 6 * ms, Tm + j * Tl, 6 * Tl, Tl);  // Aᵀ m
    for (int64_t r = 0; r < 4; ++r) winoAt(Tm + r * 6 * Tl, Tl, X + r * 4 * Tl, Tl, Tl);                              // (Aᵀ m) A
    float* oc = out + co * g.outStride;
    for (int64_t t = 0; t < nt; ++t) {
      float* q = oc + base[t];
      const int64_t oy0 = ty[t], ox0 = tx[t];
      if (oy0 + 4 <= g.oh && ox0 + 4 <= g.ow) {
        for (int64_t r = 0; r < 4; ++r) {
          float* row = q + (oy0 + r) * g.ow + ox0;
          for (int64_t s = 0; s < 4; ++s) row[s] = X[(r * 4 + s) * Tl + t];
        }
      } else {
        for (int64_t r = 0; r < 4 && oy0 + r < g.oh; ++r)
          for (int64_t s = 0; s < 4 && ox0 + s < g.ow; ++s) q[(oy0 + r) * g.ow + ox0 + s] = X[(r * 4 + s) * Tl + t];
      }
    }
  }
#endif
}

void winoConv(const ConvGeom& g, const float* U, const float* in, float* out, int64_t t0, int64_t t1, float* scratch) {
  const int64_t nt = t1 - t0, T = winoCols(nt);
  if (nt <= 0 || T > kWinoMaxChunk) return;
  float* V = scratch;                                // [36][panel][S·cin][16]
  float* Mb = V + kWinoXi * winoVStride(g, T);       // [36][cout][T]
  float* rest = Mb + kWinoXi * winoMStride(g, T);    // 72·T floats for the portable transforms
  winoInputCols(g, in, V, T, 0, t0, nt, 0, winoK(g), rest);
  winoGemmCols(g, U, V, Mb, T, 0, kWinoXi, 0, T / kNR);
  winoOutputCols(g, Mb, T, 0, out, t0, nt, 0, g.cout, rest);
}

// ---------------------------------------------------------------- weight gradient F(3×3, 4×4) (winograd.h)

/** A y of a 4-vector (A = the transpose of winoAt's Aᵀ): 6 values. */
inline void winoA(float y0, float y1, float y2, float y3, float* o, int64_t os) {
  const float p02 = y0 + y2, p13 = y1 + y3, q02 = y0 + 4.f * y2, q13 = 2.f * y1 + 8.f * y3;
  o[0] = y0; o[os] = p02 + p13; o[2 * os] = p02 - p13; o[3 * os] = q02 + q13; o[4 * os] = q02 - q13; o[5 * os] = y3;
}

/** A dY Aᵀ of one 4×4 output tile (zero past the map's edge) into o[ξ·os]. */
inline void winoDyTile(const ConvGeom& g, const float* chan, int64_t base, int64_t ty, int64_t tx, float* o, int64_t os) {
  float y[4][4], t[6][4];
  for (int r = 0; r < 4; ++r)
    for (int s = 0; s < 4; ++s) y[r][s] = ty + r < g.oh && tx + s < g.ow ? chan[base + (ty + r) * g.ow + tx + s] : 0.f;
  for (int s = 0; s < 4; ++s) {
    float col[6];
    winoA(y[0][s], y[1][s], y[2][s], y[3][s], col, 1);
    for (int i = 0; i < 6; ++i) t[i][s] = col[i];
  }
  for (int i = 0; i < 6; ++i) winoA(t[i][0], t[i][1], t[i][2], t[i][3], o + i * 6 * os, os);
}

/** Bᵀ D B of one 6×6 input patch at (y0, x0) (zero outside the map) into o[ξ·os]. */
inline void winoPatchTile(const ConvGeom& g, const float* chan, int64_t base, int64_t y0, int64_t x0, float* o, int64_t os) {
  float d[36], t[36];
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j) {
      const int64_t y = y0 + i, x = x0 + j;
      d[i * 6 + j] = y >= 0 && y < g.h && x >= 0 && x < g.w ? chan[base + y * g.w + x] : 0.f;
    }
  for (int j = 0; j < 6; ++j) winoBt(d + j, 6, t + j, 6, 1);
  for (int i = 0; i < 6; ++i) winoBt(t + i * 6, 1, o + i * 6 * os, os, 1);
}

#if ZENNAS_VEC
/** A dY Aᵀ of 8 tiles (t0 .. t0+7; ≥ nt: zero) into 36 rows of 8 floats, `vs` apart (the dual of winoInput8). */
inline void winoDy8(const ConvGeom& g, const float* chan, const int64_t* base, const int32_t* ty, const int32_t* tx, int64_t t0, int64_t nt,
                    float* V, int64_t vs) {
  alignas(32) float z[6][8][8];  // [ξr][tile][s]
  alignas(32) float row[4][8];
  const __m256 two = _mm256_set1_ps(2.f), four = _mm256_set1_ps(4.f), eight = _mm256_set1_ps(8.f);
  for (int k = 0; k < 8; ++k) {
    const int64_t t = t0 + k;
    __m256 y[4];
    if (t >= nt) {
      for (int r = 0; r < 4; ++r) y[r] = _mm256_setzero_ps();
    } else {
      const float* p = chan + base[t];
      const int64_t oy = ty[t], ox = tx[t];
      if (oy + 4 <= g.oh && ox + 4 <= g.ow) {
        for (int r = 0; r < 4; ++r) y[r] = _mm256_insertf128_ps(_mm256_setzero_ps(), _mm_loadu_ps(p + (oy + r) * g.ow + ox), 0);
      } else {
        for (int r = 0; r < 4; ++r) {
          for (int s = 0; s < 8; ++s) row[r][s] = s < 4 && oy + r < g.oh && ox + s < g.ow ? p[(oy + r) * g.ow + ox + s] : 0.f;
          y[r] = _mm256_load_ps(row[r]);
        }
      }
    }
    const __m256 p02 = _mm256_add_ps(y[0], y[2]), p13 = _mm256_add_ps(y[1], y[3]);
    const __m256 q02 = _mm256_fmadd_ps(four, y[2], y[0]), q13 = _mm256_fmadd_ps(eight, y[3], _mm256_mul_ps(two, y[1]));
    _mm256_store_ps(z[0][k], y[0]);
    _mm256_store_ps(z[1][k], _mm256_add_ps(p02, p13));
    _mm256_store_ps(z[2][k], _mm256_sub_ps(p02, p13));
    _mm256_store_ps(z[3][k], _mm256_add_ps(q02, q13));
    _mm256_store_ps(z[4][k], _mm256_sub_ps(q02, q13));
    _mm256_store_ps(z[5][k], y[3]);
  }
  for (int i = 0; i < 6; ++i) {
    __m256 r[8];
    for (int k = 0; k < 8; ++k) r[k] = _mm256_load_ps(z[i][k]);
    transpose8(r);  // r[s]: column s of row ξr of every tile (s < 4)
    const __m256 p02 = _mm256_add_ps(r[0], r[2]), p13 = _mm256_add_ps(r[1], r[3]);
    const __m256 q02 = _mm256_fmadd_ps(four, r[2], r[0]), q13 = _mm256_fmadd_ps(eight, r[3], _mm256_mul_ps(two, r[1]));
    float* o = V + i * 6 * vs;
    _mm256_store_ps(o, r[0]);
    _mm256_store_ps(o + vs, _mm256_add_ps(p02, p13));
    _mm256_store_ps(o + 2 * vs, _mm256_sub_ps(p02, p13));
    _mm256_store_ps(o + 3 * vs, _mm256_add_ps(q02, q13));
    _mm256_store_ps(o + 4 * vs, _mm256_sub_ps(q02, q13));
    _mm256_store_ps(o + 5 * vs, r[3]);
  }
}
#endif

void winoWgradPack(const ConvGeom& g, const float* dy, const float* in, float* Ad, float* Bx, int64_t ct, int64_t t0, int64_t nt, int64_t u0,
                   int64_t u1) {
  if (nt <= 0 || ct > kWinoMaxChunk || nt > ct) return;
  const int64_t coPanels = winoWgradCoPanels(g), S = winoSub(g), Kw = winoK(g), aSize = winoWgradAStride(g, ct), bSize = winoWgradBStride(g, ct);
  const int64_t nt8 = (nt + 7) / 8 * 8;  // tiles written (≤ ct): whole groups of 8, zero past nt
  int64_t base[kWinoMaxChunk];
  int32_t ty[kWinoMaxChunk], tx[kWinoMaxChunk];
  winoTileCoords(g, t0, nt, base, ty, tx);
  for (int64_t u = u0; u < u1; ++u) {
    if (u < coPanels) {  // dỸ of output channels 6u .. 6u+5 into A panel u
      float* panel = Ad + u * ct * kMR;
#if ZENNAS_VEC
      alignas(32) float tmp[kMR][kWinoXi][8];
      for (int64_t t = 0; t < nt8; t += 8) {
        for (int r = 0; r < kMR; ++r) {
          const int64_t co = u * kMR + r;
          if (co < g.cout) winoDy8(g, dy + co * g.outStride, base, ty, tx, t, nt, tmp[r][0], 8);
          else std::memset(tmp[r], 0, sizeof(tmp[r]));
        }
        for (int64_t xi = 0; xi < kWinoXi; ++xi) {
          __m256 v[8];
          for (int r = 0; r < kMR; ++r) v[r] = _mm256_load_ps(tmp[r][xi]);
          v[6] = v[7] = _mm256_setzero_ps();
          transpose8(v);  // v[k]: the 6 channels of tile t + k
          // 6 floats per tile: full 8-float stores in tile order (lanes 6–7, zero, are overwritten by the
          // next tile's store), the last one as 4 + 2 so nothing past this group's slots is touched
          // (masked stores are slow on AMD cores: a fifth of this function's time)
          float* a = panel + xi * aSize + t * kMR;
          for (int k = 0; k < 7; ++k) _mm256_storeu_ps(a + k * kMR, v[k]);
          _mm_storeu_ps(a + 7 * kMR, _mm256_castps256_ps128(v[7]));
          _mm_storel_pi(reinterpret_cast<__m64*>(a + 7 * kMR + 4), _mm256_extractf128_ps(v[7], 1));
        }
      }
#else
      float o[kWinoXi];
      for (int r = 0; r < kMR; ++r) {
        const int64_t co = u * kMR + r;
        for (int64_t t = 0; t < nt8; ++t) {
          if (co < g.cout && t < nt) winoDyTile(g, dy + co * g.outStride, base[t], ty[t], tx[t], o, 1);
          else std::fill(o, o + kWinoXi, 0.f);
          for (int64_t xi = 0; xi < kWinoXi; ++xi) panel[xi * aSize + t * kMR + r] = o[xi];
        }
      }
#endif
    } else {  // X̃ of rows q = 8v .. 8v+7 (sub-kernel · cin + channel) into B panel q / 16
      const int64_t q0 = (u - coPanels) * 8;
      float* panel = Bx + (q0 / kNR) * ct * kNR + q0 % kNR;
#if ZENNAS_VEC
      alignas(32) float tmp[8][kWinoXi][8];
      for (int64_t t = 0; t < nt8; t += 8) {
        for (int qq = 0; qq < 8; ++qq) {
          const int64_t q = q0 + qq;
          if (q >= Kw) { std::memset(tmp[qq], 0, sizeof(tmp[qq])); continue; }
          const int64_t sub = q / g.cin, ci = q % g.cin;
          winoInput8(g, in + ci * g.inStride, base, ty, tx, t, nt, 3 * (sub / S) - g.pad, 3 * (sub % S) - g.pad, tmp[qq][0], 8);
        }
        for (int64_t xi = 0; xi < kWinoXi; ++xi) {
          __m256 v[8];
          for (int qq = 0; qq < 8; ++qq) v[qq] = _mm256_load_ps(tmp[qq][xi]);
          transpose8(v);  // v[k]: the 8 rows q of tile t + k
          for (int k = 0; k < 8; ++k) _mm256_storeu_ps(panel + xi * bSize + (t + k) * kNR, v[k]);
        }
      }
#else
      float o[kWinoXi];
      for (int qq = 0; qq < 8; ++qq) {
        const int64_t q = q0 + qq, sub = q / g.cin, ci = q % g.cin;
        for (int64_t t = 0; t < nt8; ++t) {
          if (q < Kw && t < nt)
            winoPatchTile(g, in + ci * g.inStride, base[t], ty[t] + 3 * (sub / S) - g.pad, tx[t] + 3 * (sub % S) - g.pad, o, 1);
          else std::fill(o, o + kWinoXi, 0.f);
          for (int64_t xi = 0; xi < kWinoXi; ++xi) panel[xi * bSize + t * kNR + qq] = o[xi];
        }
      }
#endif
    }
  }
}

void winoWgradGemm(const ConvGeom& g, const float* Ad, const float* Bx, float* M, int64_t ct, int64_t nt, int64_t xi0, int64_t xi1, bool acc) {
  const int64_t coPanels = winoWgradCoPanels(g), Kw = winoK(g), KwP = winoWgradKwPad(g), aSize = winoWgradAStride(g, ct), bSize = winoWgradBStride(g, ct);
  const int64_t np = KwP / kNR;
  (void)coPanels;
  for (int64_t xi = xi0; xi < xi1; ++xi)
    microKernelRows(nt, Ad + xi * aSize, ct * kMR, g.cout, Bx + xi * bSize, ct * kNR, M + xi * winoWgradMStride(g), KwP, acc, np,
                    static_cast<int>(Kw - (np - 1) * kNR));
}

void winoWgradFinish(const ConvGeom& g, const float* M, float* dW, int64_t co0, int64_t co1) {
  const int64_t S = winoSub(g), Kw = winoK(g), KwP = winoWgradKwPad(g), K = g.cin * g.k * g.k, ms = winoWgradMStride(g);
  // G (6 × 3) of winoWeights; dW_sub = Gᵀ m G for 8 rows q at a time (lanes: the compiler vectorises them)
  static const float G[6][3] = {{0.25f, 0, 0}, {-1.f / 6, -1.f / 6, -1.f / 6}, {-1.f / 6, 1.f / 6, -1.f / 6},
                                {1.f / 24, 1.f / 12, 1.f / 6}, {1.f / 24, -1.f / 12, 1.f / 6}, {0, 0, 1}};
  for (int64_t co = co0; co < co1; ++co)
    for (int64_t q0 = 0; q0 < Kw; q0 += 8) {  // KwP is a multiple of 16: lanes past Kw read padding
      float t[3][6][8], w[3][3][8];
      for (int k = 0; k < 3; ++k)
        for (int j = 0; j < 6; ++j)
          for (int l = 0; l < 8; ++l) {
            float s = 0.f;
            for (int i = 0; i < 6; ++i) s += G[i][k] * M[(i * 6 + j) * ms + co * KwP + q0 + l];
            t[k][j][l] = s;
          }
      for (int k = 0; k < 3; ++k)
        for (int c = 0; c < 3; ++c)
          for (int l = 0; l < 8; ++l) {
            float s = 0.f;
            for (int j = 0; j < 6; ++j) s += t[k][j][l] * G[j][c];
            w[k][c][l] = s;
          }
      for (int64_t l = 0; l < std::min<int64_t>(8, Kw - q0); ++l) {
        const int64_t q = q0 + l, sub = q / g.cin, ci = q % g.cin, ky0 = 3 * (sub / S), kx0 = 3 * (sub % S);
        for (int k = 0; k < 3 && ky0 + k < g.k; ++k)
          for (int c = 0; c < 3 && kx0 + c < g.k; ++c) dW[co * K + (ci * g.k + ky0 + k) * g.k + kx0 + c] = w[k][c][l];
      }
    }
}
