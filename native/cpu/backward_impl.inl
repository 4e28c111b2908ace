// Backward kernel bodies (included by kernels_impl.inl inside its ISA namespace, so they share
// the forward's GEMM micro-kernel and are compiled for AVX2+FMA and portable alike).

// ---------------------------------------------------------------- conv weight gradient

inline int64_t roundUpTo(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

constexpr int64_t kBwdCols = 256;  // output columns per GEMM chunk (fixed: the summation order)

/** dst[p] = im2col(X)[k][c0 + p] for p in [0, cc): row segments copied, borders zero. */
inline void im2colRow(const ConvGeom& g, const float* in, int64_t k, int64_t c0, int64_t cc, float* dst) {
  if (g.k == 1 && g.stride == 1) {
    std::memcpy(dst, in + k * g.inStride + c0, sizeof(float) * static_cast<size_t>(cc));
    return;
  }
  const int64_t kk = g.k * g.k, ohw = g.oh * g.ow, ihw = g.h * g.w;
  const int64_t ci = k / kk, ky = (k % kk) / g.k, kx = k % g.k;
  const float* chan = in + ci * g.inStride;
  int64_t lo, hi;
  validRange(kx, g, &lo, &hi);
  const int64_t end = c0 + cc;
  // (image, output row, column) of c0, then advanced segment by segment: four divisions per row
  // segment were a third of this function on 4×4 maps
  int64_t img = c0 / ohw, oy = (c0 % ohw) / g.ow, ox0 = c0 % g.ow;
  for (int64_t c = c0; c < end;) {
    const int64_t seg = std::min(g.ow - ox0, end - c);
    float* d = dst + (c - c0) - ox0;  // d[ox] for ox in [ox0, ox0 + seg)
    const int64_t iy = oy * g.stride - g.pad + ky;
    const int64_t a = std::max(ox0, lo), b = std::max(a, std::min(ox0 + seg, hi));
    if (iy < 0 || iy >= g.h) {
      for (int64_t ox = ox0; ox < ox0 + seg; ++ox) d[ox] = 0.f;
    } else {
      const float* row = chan + img * ihw + iy * g.w - g.pad + kx;
      for (int64_t ox = ox0; ox < a; ++ox) d[ox] = 0.f;
      if (g.stride == 1) {
        if (b > a) std::memcpy(d + a, row + a, sizeof(float) * static_cast<size_t>(b - a));
      } else {
        for (int64_t ox = a; ox < b; ++ox) d[ox] = row[ox * g.stride];
      }
      for (int64_t ox = b; ox < ox0 + seg; ++ox) d[ox] = 0.f;
    }
    c += seg;
    ox0 = 0;
    if (++oy == g.oh) { oy = 0; ++img; }
  }
}

/** dst[p·NR + j] = src[j·ld + p] for j < NR, p < cc (cc a multiple of 8): the [NR][cc] rows as one B panel. */
inline void transposeToPanel(const float* src, int64_t ld, int64_t cc, float* dst) {
#if ZENNAS_VEC
  for (int64_t p = 0; p < cc; p += 8)
    for (int h = 0; h < kNR; h += 8) {
      const float* s0 = src + h * ld + p;
      const __m256 r0 = _mm256_loadu_ps(s0), r1 = _mm256_loadu_ps(s0 + ld), r2 = _mm256_loadu_ps(s0 + 2 * ld), r3 = _mm256_loadu_ps(s0 + 3 * ld);
      const __m256 r4 = _mm256_loadu_ps(s0 + 4 * ld), r5 = _mm256_loadu_ps(s0 + 5 * ld), r6 = _mm256_loadu_ps(s0 + 6 * ld), r7 = _mm256_loadu_ps(s0 + 7 * ld);
      const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
      const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5), t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
      const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE), u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE), u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      float* d = dst + p * kNR + h;
      _mm256_storeu_ps(d + 0 * kNR, _mm256_permute2f128_ps(u0, u4, 0x20));
      _mm256_storeu_ps(d + 1 * kNR, _mm256_permute2f128_ps(u1, u5, 0x20));
      _mm256_storeu_ps(d + 2 * kNR, _mm256_permute2f128_ps(u2, u6, 0x20));
      _mm256_storeu_ps(d + 3 * kNR, _mm256_permute2f128_ps(u3, u7, 0x20));
      _mm256_storeu_ps(d + 4 * kNR, _mm256_permute2f128_ps(u0, u4, 0x31));
      _mm256_storeu_ps(d + 5 * kNR, _mm256_permute2f128_ps(u1, u5, 0x31));
      _mm256_storeu_ps(d + 6 * kNR, _mm256_permute2f128_ps(u2, u6, 0x31));
      _mm256_storeu_ps(d + 7 * kNR, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
#else
  for (int64_t p = 0; p < cc; ++p)
    for (int j = 0; j < kNR; ++j) dst[p * kNR + j] = src[j * ld + p];
#endif
}

void convBwdWeightPacked(const ConvGeom& g, const float* dyPacked, const float* in, float* dW, int64_t m0, int64_t m1, int64_t k0, int64_t k1,
                   float* scratch) {
  const int64_t K = g.K(), cols = g.cols(), M = m1 - m0, KB = k1 - k0;
  const int64_t mPanels = (M + kMR - 1) / kMR, kPanels = (KB + kNR - 1) / kNR;
  float* Bp = scratch;                          // kPanels × kBwdCols × NR (panel stride: the chunk depth rounded up to 8)
  float* rows = Bp + kPanels * kBwdCols * kNR;  // NR × kBwdCols: one panel's im2col rows
  float* Ct = rows + kNR * kBwdCols;            // MR × NR edge tile
  for (int64_t c0 = 0; c0 < cols; c0 += kBwdCols) {
    const int64_t cc = std::min<int64_t>(kBwdCols, cols - c0), cc8 = roundUpTo(cc, 8);
    // B: im2col(X)ᵀ, depth = the chunk's columns, NR panels over k ∈ [k0, k1): rows, then one transpose.
    for (int64_t jp = 0; jp < kPanels; ++jp) {
      for (int j = 0; j < kNR; ++j) {
        const int64_t k = k0 + jp * kNR + j;
        float* r = rows + j * kBwdCols;
        if (k < k1) im2colRow(g, in, k, c0, cc, r);
        else std::memset(r, 0, sizeof(float) * static_cast<size_t>(cc));
        for (int64_t p = cc; p < cc8; ++p) r[p] = 0.f;
      }
      transposeToPanel(rows, kBwdCols, cc8, Bp + jp * cc8 * kNR);
    }
    // A: dY rows [m0, m1), pre-packed once per conv as MR-row panels of depth `cols`.
    const bool acc = c0 > 0;
    for (int64_t ip = 0; ip < mPanels; ++ip) {
      const int mr = static_cast<int>(std::min<int64_t>(kMR, M - ip * kMR));
      const float* a = dyPacked + (m0 / kMR + ip) * cols * kMR + c0 * kMR;
      int64_t jp = 0;
      if (mr == kMR) {  // the whole panels as one strip (AVX-512: two per register block), the edge below
        jp = KB / kNR;
        microKernelStrip(cc, a, Bp, cc8 * kNR, dW + (m0 + ip * kMR) * K + k0, K, acc, kMR, jp, kNR);
      }
      for (; jp < kPanels; ++jp) {
        const int nr = static_cast<int>(std::min<int64_t>(kNR, KB - jp * kNR));
        float* c = dW + (m0 + ip * kMR) * K + k0 + jp * kNR;
        const float* b = Bp + jp * cc8 * kNR;
        if (mr == kMR && nr == kNR) {
          microKernel(cc, a, b, c, K, acc, mr, nr);
        } else {
          microKernel(cc, a, b, Ct, kNR, false, kMR, kNR);
          for (int i = 0; i < mr; ++i)
            for (int j = 0; j < nr; ++j) c[i * K + j] = acc ? c[i * K + j] + Ct[i * kNR + j] : Ct[i * kNR + j];
        }
      }
    }
  }
}

// The same weight gradient with dY packed per task (its own A per 48-row × 64-column block): the
// form the grasp proxy's R-operator uses (no conv-wide dY staging buffer there).
/** dst[p·NR] = im2col(X)[k][c0 + p] for p in [0, cc). */
inline void packIm2colRow(const ConvGeom& g, const float* in, int64_t k, int64_t c0, int64_t cc, float* dst) {
  const int64_t kk = g.k * g.k, ohw = g.oh * g.ow, ihw = g.h * g.w;
  const int64_t ci = k / kk, ky = (k % kk) / g.k, kx = k % g.k;
  const float* chan = in + ci * g.inStride;
  int64_t c = c0;
  const int64_t end = c0 + cc;
  int64_t img = c0 / ohw, oy = (c0 % ohw) / g.ow, ox0 = c0 % g.ow;  // then advanced per row segment
  while (c < end) {
    const int64_t seg = std::min(g.ow - ox0, end - c);
    float* d = dst + (c - c0) * kNR;
    const int64_t iy = oy * g.stride - g.pad + ky;
    if (iy < 0 || iy >= g.h) {
      for (int64_t t = 0; t < seg; ++t) d[t * kNR] = 0.f;
    } else {
      const float* row = chan + img * ihw + iy * g.w;
      int64_t lo, hi;
      validRange(kx, g, &lo, &hi);
      for (int64_t t = 0; t < seg; ++t) {
        const int64_t ox = ox0 + t;
        d[t * kNR] = (ox >= lo && ox < hi) ? row[ox * g.stride - g.pad + kx] : 0.f;
      }
    }
    c += seg;
    ox0 = 0;
    if (++oy == g.oh) { oy = 0; ++img; }
  }
}

void convBwdWeight(const ConvGeom& g, const float* dy, const float* in, float* dW, int64_t m0, int64_t m1, int64_t k0, int64_t k1,
                   float* scratch) {
  const int64_t K = g.K(), cols = g.cols(), M = m1 - m0, KB = k1 - k0;
  const int64_t mPanels = (M + kMR - 1) / kMR, kPanels = (KB + kNR - 1) / kNR;
  float* Ap = scratch;                                       // mPanels × kBwdCols × MR
  float* Bp = Ap + mPanels * kBwdCols * kMR;                 // kPanels × kBwdCols × NR
  float* Ct = Bp + kPanels * kBwdCols * kNR;                 // MR × NR edge tile
  const bool dense1x1 = g.k == 1 && g.stride == 1;
  for (int64_t c0 = 0; c0 < cols; c0 += kBwdCols) {
    const int64_t cc = std::min<int64_t>(kBwdCols, cols - c0);
    // A: dY rows [m0, m1), columns [c0, c0 + cc), as MR-row panels of depth cc.
    for (int64_t ip = 0; ip < mPanels; ++ip) {
      float* a = Ap + ip * cc * kMR;
      for (int r = 0; r < kMR; ++r) {
        const int64_t m = m0 + ip * kMR + r;
        if (m < m1) {
          const float* row = dy + m * g.outStride + c0;
          for (int64_t p = 0; p < cc; ++p) a[p * kMR + r] = row[p];
        } else {
          for (int64_t p = 0; p < cc; ++p) a[p * kMR + r] = 0.f;
        }
      }
    }
    // B: im2col(X)ᵀ, depth = the chunk's columns, NR panels over k ∈ [k0, k1); walked by output-row
    // segments so the index arithmetic is per segment, not per element.
    for (int64_t jp = 0; jp < kPanels; ++jp) {
      float* b = Bp + jp * cc * kNR;
      for (int j = 0; j < kNR; ++j) {
        const int64_t k = k0 + jp * kNR + j;
        if (k >= k1) {
          for (int64_t p = 0; p < cc; ++p) b[p * kNR + j] = 0.f;
        } else if (dense1x1) {
          const float* row = in + k * g.inStride + c0;
          for (int64_t p = 0; p < cc; ++p) b[p * kNR + j] = row[p];
        } else {
          packIm2colRow(g, in, k, c0, cc, b + j);
        }
      }
    }
    const bool acc = c0 > 0;
    for (int64_t ip = 0; ip < mPanels; ++ip) {
      const int mr = static_cast<int>(std::min<int64_t>(kMR, M - ip * kMR));
      int64_t jp = 0;
      if (mr == kMR) {
        jp = KB / kNR;
        microKernelStrip(cc, Ap + ip * cc * kMR, Bp, cc * kNR, dW + (m0 + ip * kMR) * K + k0, K, acc, kMR, jp, kNR);
      }
      for (; jp < kPanels; ++jp) {
        const int nr = static_cast<int>(std::min<int64_t>(kNR, KB - jp * kNR));
        float* c = dW + (m0 + ip * kMR) * K + k0 + jp * kNR;
        if (mr == kMR && nr == kNR) {
          microKernel(cc, Ap + ip * cc * kMR, Bp + jp * cc * kNR, c, K, acc, mr, nr);
        } else {
          microKernel(cc, Ap + ip * cc * kMR, Bp + jp * cc * kNR, Ct, kNR, false, kMR, kNR);
          for (int i = 0; i < mr; ++i)
            for (int j = 0; j < nr; ++j) c[i * K + j] = acc ? c[i * K + j] + Ct[i * kNR + j] : Ct[i * kNR + j];
        }
      }
    }
  }
}

// ---------------------------------------------------------------- conv weight gradient, dot form
// dW[co][k] = Σ_col dY[co][col]·X_k[col] with both operands contiguous along the columns: a 4 × 3
// block of dot products (4 output channels × 3 im2col indices) in 12 vector accumulators, no
// packing or transposition. X_k runs come from a zero-padded, phase-split copy of one input image
// (phase q of padded row r holds columns q, q + s, q + 2s, …), so every run is contiguous for any
// stride. Partial sums are float32 per image, added in float64 in image order (deterministic).

constexpr int64_t kZeroRun = 4096;  // ≥ any output width (resolution ≤ 4096) and the 1×1 piece
alignas(32) static const float kZeros[kZeroRun + 8] = {};

#if ZENNAS_VEC512
/** The AVX2 kernels' reduction of one 8-lane chain, here half `h` of a zmm: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), their order. */
inline float halfSum(__m512 v, int h) {
  const __m256 a = h ? _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)) : _mm512_castps512_ps256(v);
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  const __m128 q = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(q, _mm_shuffle_ps(q, q, 1)));
}
#endif

/** out[r·3 + j] = Σ_rows Σ_t y_r[row·ys_r + t] · x_j[row·xs_j + t], t < len (stride 0 for kZeros). */
inline void dotRows4x3(const float* const y[4], const int64_t ys[4], const float* const x[3], const int64_t xs[3], int64_t rows, int64_t len,
                       float out[12]) {
#if ZENNAS_VEC512
  // The AVX2 loop with y rows 2p and 2p + 1 in the two halves of one zmm (each x row in both): every
  // lane's FMA chain and the final reduction are the AVX2 loop's, so the same bits, half the FMAs.
  __m512 b[2][3];
  for (int p = 0; p < 2; ++p)
    for (int j = 0; j < 3; ++j) b[p][j] = _mm512_setzero_ps();
  const int64_t full = len & ~int64_t(7);
  alignas(32) int32_t mk[8];
  for (int t = 0; t < 8; ++t) mk[t] = t < (len & 7) ? -1 : 0;
  const __m256i mask = _mm256_load_si256(reinterpret_cast<const __m256i*>(mk));
  const auto both = [](__m256 v) { return _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_castps_pd(v))); };
  for (int64_t row = 0; row < rows; ++row) {
    const float* y0 = y[0] + row * ys[0]; const float* y1 = y[1] + row * ys[1];
    const float* y2 = y[2] + row * ys[2]; const float* y3 = y[3] + row * ys[3];
    const float* x0 = x[0] + row * xs[0]; const float* x1 = x[1] + row * xs[1]; const float* x2 = x[2] + row * xs[2];
    auto step = [&](__m256 v0, __m256 v1, __m256 v2, __m256 w0, __m256 w1, __m256 w2, __m256 w3) {
      const __m512 u0 = both(v0), u1 = both(v1), u2 = both(v2), z01 = joinHalves(w0, w1), z23 = joinHalves(w2, w3);
      b[0][0] = _mm512_fmadd_ps(z01, u0, b[0][0]); b[0][1] = _mm512_fmadd_ps(z01, u1, b[0][1]); b[0][2] = _mm512_fmadd_ps(z01, u2, b[0][2]);
      b[1][0] = _mm512_fmadd_ps(z23, u0, b[1][0]); b[1][1] = _mm512_fmadd_ps(z23, u1, b[1][1]); b[1][2] = _mm512_fmadd_ps(z23, u2, b[1][2]);
    };
    int64_t t = 0;
    for (; t < full; t += 8)
      step(_mm256_loadu_ps(x0 + t), _mm256_loadu_ps(x1 + t), _mm256_loadu_ps(x2 + t), _mm256_loadu_ps(y0 + t), _mm256_loadu_ps(y1 + t),
           _mm256_loadu_ps(y2 + t), _mm256_loadu_ps(y3 + t));
    if (t < len)
      step(_mm256_maskload_ps(x0 + t, mask), _mm256_maskload_ps(x1 + t, mask), _mm256_maskload_ps(x2 + t, mask), _mm256_maskload_ps(y0 + t, mask),
           _mm256_maskload_ps(y1 + t, mask), _mm256_maskload_ps(y2 + t, mask), _mm256_maskload_ps(y3 + t, mask));
  }
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 3; ++j) out[r * 3 + j] = halfSum(b[r / 2][j], r % 2);
#elif ZENNAS_VEC
  __m256 a[4][3];
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 3; ++j) a[r][j] = _mm256_setzero_ps();
  const int64_t full = len & ~int64_t(7);
  alignas(32) int32_t mk[8];
  for (int t = 0; t < 8; ++t) mk[t] = t < (len & 7) ? -1 : 0;
  const __m256i mask = _mm256_load_si256(reinterpret_cast<const __m256i*>(mk));
  for (int64_t row = 0; row < rows; ++row) {
    const float* y0 = y[0] + row * ys[0]; const float* y1 = y[1] + row * ys[1];
    const float* y2 = y[2] + row * ys[2]; const float* y3 = y[3] + row * ys[3];
    const float* x0 = x[0] + row * xs[0]; const float* x1 = x[1] + row * xs[1]; const float* x2 = x[2] + row * xs[2];
    auto step = [&](__m256 v0, __m256 v1, __m256 v2, __m256 w0, __m256 w1, __m256 w2, __m256 w3) {
      a[0][0] = _mm256_fmadd_ps(w0, v0, a[0][0]); a[0][1] = _mm256_fmadd_ps(w0, v1, a[0][1]); a[0][2] = _mm256_fmadd_ps(w0, v2, a[0][2]);
      a[1][0] = _mm256_fmadd_ps(w1, v0, a[1][0]); a[1][1] = _mm256_fmadd_ps(w1, v1, a[1][1]); a[1][2] = _mm256_fmadd_ps(w1, v2, a[1][2]);
      a[2][0] = _mm256_fmadd_ps(w2, v0, a[2][0]); a[2][1] = _mm256_fmadd_ps(w2, v1, a[2][1]); a[2][2] = _mm256_fmadd_ps(w2, v2, a[2][2]);
      a[3][0] = _mm256_fmadd_ps(w3, v0, a[3][0]); a[3][1] = _mm256_fmadd_ps(w3, v1, a[3][1]); a[3][2] = _mm256_fmadd_ps(w3, v2, a[3][2]);
    };
    int64_t t = 0;
    for (; t < full; t += 8)
      step(_mm256_loadu_ps(x0 + t), _mm256_loadu_ps(x1 + t), _mm256_loadu_ps(x2 + t), _mm256_loadu_ps(y0 + t), _mm256_loadu_ps(y1 + t),
           _mm256_loadu_ps(y2 + t), _mm256_loadu_ps(y3 + t));
    if (t < len)
      step(_mm256_maskload_ps(x0 + t, mask), _mm256_maskload_ps(x1 + t, mask), _mm256_maskload_ps(x2 + t, mask), _mm256_maskload_ps(y0 + t, mask),
           _mm256_maskload_ps(y1 + t, mask), _mm256_maskload_ps(y2 + t, mask), _mm256_maskload_ps(y3 + t, mask));
  }
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 3; ++j) {
      const __m128 h = _mm_add_ps(_mm256_castps256_ps128(a[r][j]), _mm256_extractf128_ps(a[r][j], 1));
      const __m128 q = _mm_add_ps(h, _mm_movehl_ps(h, h));
      out[r * 3 + j] = _mm_cvtss_f32(_mm_add_ss(q, _mm_shuffle_ps(q, q, 1)));
    }
#else
  for (int i = 0; i < 12; ++i) out[i] = 0.f;
  for (int64_t row = 0; row < rows; ++row)
    for (int r = 0; r < 4; ++r)
      for (int j = 0; j < 3; ++j) {
        float s = 0.f;
        const float* yr = y[r] + row * ys[r];
        const float* xj = x[j] + row * xs[j];
        for (int64_t t = 0; t < len; ++t) s += yr[t] * xj[t];
        out[r * 3 + j] += s;
      }
#endif
}

#if ZENNAS_VEC512
/**
 * dotRows4x3 for J taps at once (J = 5, 7: a whole kernel row, no zero taps): out[r·J + j]. Each
 * (r, j) sum has dotRows4x3's lane chains (y rows 2p and 2p + 1 in the halves of one zmm, the x row
 * in both) and its final reduction, so the same bits; 2J FMAs per 2 y joins instead of 6.
 */
template <int J, int S>
inline void dotRows4xJ(const float* const y[4], const int64_t ys[4], const float* x, int64_t wq, int64_t rows, int64_t len, float* out) {
  __m512 b[2][J];
  for (int p = 0; p < 2; ++p)
    for (int j = 0; j < J; ++j) b[p][j] = _mm512_setzero_ps();
  const int64_t full = len & ~int64_t(7);
  alignas(32) int32_t mk[8];
  for (int t = 0; t < 8; ++t) mk[t] = t < (len & 7) ? -1 : 0;
  const __m256i mask = _mm256_load_si256(reinterpret_cast<const __m256i*>(mk));
  for (int64_t row = 0; row < rows; ++row) {
    const float* y0 = y[0] + row * ys[0]; const float* y1 = y[1] + row * ys[1];
    const float* y2 = y[2] + row * ys[2]; const float* y3 = y[3] + row * ys[3];
    const float* xr = x + row * S * S * wq;  // tap j at xr + (j % S)·wq + j / S: one pointer (an array of tap pointers spilled)
    int64_t t = 0;
    for (; t < full; t += 8) {
      const __m512 z01 = joinHalves(_mm256_loadu_ps(y0 + t), _mm256_loadu_ps(y1 + t)), z23 = joinHalves(_mm256_loadu_ps(y2 + t), _mm256_loadu_ps(y3 + t));
      for (int j = 0; j < J; ++j) {
        const __m512 u = _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_castps_pd(_mm256_loadu_ps(xr + (j % S) * wq + j / S + t))));
        b[0][j] = _mm512_fmadd_ps(z01, u, b[0][j]);
        b[1][j] = _mm512_fmadd_ps(z23, u, b[1][j]);
      }
    }
    if (t < len) {
      const __m512 z01 = joinHalves(_mm256_maskload_ps(y0 + t, mask), _mm256_maskload_ps(y1 + t, mask));
      const __m512 z23 = joinHalves(_mm256_maskload_ps(y2 + t, mask), _mm256_maskload_ps(y3 + t, mask));
      for (int j = 0; j < J; ++j) {
        const __m512 u = _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_castps_pd(_mm256_maskload_ps(xr + (j % S) * wq + j / S + t, mask))));
        b[0][j] = _mm512_fmadd_ps(z01, u, b[0][j]);
        b[1][j] = _mm512_fmadd_ps(z23, u, b[1][j]);
      }
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < J; ++j) out[r * J + j] = halfSum(b[r / 2][j], r % 2);
}

/**
 * A 3×3 kernel's 9 taps in one call, stride S = 1 or 2 (x tap (ky, kx) of the phase image at
 * x + (ky·S + kx % S)·wq + kx / S, output rows S²·wq apart): 18 FMAs per 2 y joins and 9
 * broadcasts, addressed from one x pointer (an array of 9 tap pointers spilled). Each (row, tap)
 * sum is dotRows4x3's chain and reduction: the same bits.
 */
template <int S>
inline void dotRows4x9(const float* const y[4], const int64_t ys[4], const float* x, int64_t wq, int64_t rows, int64_t len, float out[36]) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0;
  __m512 c0 = a0, c1 = a0, c2 = a0, c3 = a0, c4 = a0, c5 = a0, c6 = a0, c7 = a0, c8 = a0;
  const int64_t full = len & ~int64_t(7);
  alignas(32) int32_t mk[8];
  for (int t = 0; t < 8; ++t) mk[t] = t < (len & 7) ? -1 : 0;
  const __m256i mask = _mm256_load_si256(reinterpret_cast<const __m256i*>(mk));
  const auto both = [](__m256 v) { return _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_castps_pd(v))); };
#define ZENNAS_TAPS9(LOAD)                                                                                  \
  {                                                                                                         \
    __m512 u;                                                                                               \
    u = both(LOAD(xr + (0 * S + 0 % S) * wq + 0 / S)); a0 = _mm512_fmadd_ps(z01, u, a0); c0 = _mm512_fmadd_ps(z23, u, c0);                 \
    u = both(LOAD(xr + (0 * S + 1 % S) * wq + 1 / S)); a1 = _mm512_fmadd_ps(z01, u, a1); c1 = _mm512_fmadd_ps(z23, u, c1);             \
    u = both(LOAD(xr + (0 * S + 2 % S) * wq + 2 / S)); a2 = _mm512_fmadd_ps(z01, u, a2); c2 = _mm512_fmadd_ps(z23, u, c2);             \
    u = both(LOAD(xr + (1 * S + 0 % S) * wq + 0 / S)); a3 = _mm512_fmadd_ps(z01, u, a3); c3 = _mm512_fmadd_ps(z23, u, c3);            \
    u = both(LOAD(xr + (1 * S + 1 % S) * wq + 1 / S)); a4 = _mm512_fmadd_ps(z01, u, a4); c4 = _mm512_fmadd_ps(z23, u, c4);        \
    u = both(LOAD(xr + (1 * S + 2 % S) * wq + 2 / S)); a5 = _mm512_fmadd_ps(z01, u, a5); c5 = _mm512_fmadd_ps(z23, u, c5);        \
    u = both(LOAD(xr + (2 * S + 0 % S) * wq + 0 / S)); a6 = _mm512_fmadd_ps(z01, u, a6); c6 = _mm512_fmadd_ps(z23, u, c6);        \
    u = both(LOAD(xr + (2 * S + 1 % S) * wq + 1 / S)); a7 = _mm512_fmadd_ps(z01, u, a7); c7 = _mm512_fmadd_ps(z23, u, c7);    \
    u = both(LOAD(xr + (2 * S + 2 % S) * wq + 2 / S)); a8 = _mm512_fmadd_ps(z01, u, a8); c8 = _mm512_fmadd_ps(z23, u, c8);    \
  }
  for (int64_t row = 0; row < rows; ++row) {
    const float* y0 = y[0] + row * ys[0]; const float* y1 = y[1] + row * ys[1];
    const float* y2 = y[2] + row * ys[2]; const float* y3 = y[3] + row * ys[3];
    const float* xr = x + row * S * S * wq;
    int64_t t = 0;
    for (; t < full; t += 8, xr += 8) {
      const __m512 z01 = joinHalves(_mm256_loadu_ps(y0 + t), _mm256_loadu_ps(y1 + t)), z23 = joinHalves(_mm256_loadu_ps(y2 + t), _mm256_loadu_ps(y3 + t));
#define ZENNAS_LOADU(p) _mm256_loadu_ps(p)
      ZENNAS_TAPS9(ZENNAS_LOADU)
#undef ZENNAS_LOADU
    }
    if (t < len) {
      const __m512 z01 = joinHalves(_mm256_maskload_ps(y0 + t, mask), _mm256_maskload_ps(y1 + t, mask));
      const __m512 z23 = joinHalves(_mm256_maskload_ps(y2 + t, mask), _mm256_maskload_ps(y3 + t, mask));
#define ZENNAS_LOADM(p) _mm256_maskload_ps(p, mask)
      ZENNAS_TAPS9(ZENNAS_LOADM)
#undef ZENNAS_LOADM
    }
  }
#undef ZENNAS_TAPS9
  const __m512 lo[9] = {a0, a1, a2, a3, a4, a5, a6, a7, a8}, hi[9] = {c0, c1, c2, c3, c4, c5, c6, c7, c8};
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 9; ++j) out[r * 9 + j] = halfSum(r < 2 ? lo[j] : hi[j], r % 2);
}
#endif

/** Floats of one image's padded, phase-split copy (see padPhaseImage). */
inline int64_t phaseImageFloats(const ConvGeom& g) {
  const int64_t hp = g.h + 2 * g.pad, wq = (g.w + 2 * g.pad + g.stride - 1) / g.stride + 8;
  return hp * g.stride * wq;
}

/** Image n of input channel ci, zero-padded and split into `stride` phases per padded row (only the rows and phases the dot form reads: r % stride < k, phase < k). */
inline void padPhaseImage(const ConvGeom& g, const float* in, int64_t ci, int64_t n, float* dst, int64_t* wqOut) {
  const int64_t hp = g.h + 2 * g.pad, wp = g.w + 2 * g.pad, s = g.stride, wq = (wp + s - 1) / s + 8;
  *wqOut = wq;
  const float* src = in + ci * g.inStride + n * g.h * g.w;
  for (int64_t r = 0; r < hp; ++r) {
    const int64_t iy = r - g.pad;
    if (r % s >= g.k) continue;  // a kernel narrower than the stride (1×1 stride 2) never reads these rows
    for (int64_t q = 0; q < s && q < g.k; ++q) {  // nor these phases
      float* d = dst + (r * s + q) * wq;
      if (iy < 0 || iy >= g.h) { zero(d, wq); continue; }
      // t of phase q reads column ix = q + t·s − pad: inside the row for t ∈ [lo, hi), zero elsewhere
      // (ranges instead of a test per element: this copy was a fifth of the dot form's time)
      const int64_t lo = std::max<int64_t>(0, (g.pad - q + s - 1) / s), hi = std::max<int64_t>(lo, (g.w + g.pad - q + s - 1) / s);
      const float* row = src + iy * g.w + q - g.pad;
      zero(d, lo);
      if (s == 1) {
        std::memcpy(d + lo, row + lo, sizeof(float) * static_cast<size_t>(hi - lo));
      } else {
        int64_t t = lo;
#if ZENNAS_VEC
        if (s == 2)  // 8 at a time while the 16 floats read stay inside the row's valid columns
          for (; t + 8 < hi; t += 8) evens8(row + 2 * t, d + t);
#endif
        for (; t < hi; ++t) d[t] = row[t * s];
      }
      zero(d + hi, wq - hi);
    }
  }
}

/**
 * Dot-form weight gradient for input channels [ci0, ci1) and output channels [m0, m1): dW (row
 * stride K, OIHW) is overwritten. Image by image: the block's phase images, then per 4 output
 * channels every input channel of the block, so that those dY rows are read once per block of input
 * channels (one per channel was the layer's dY from L3 per input channel). Each (output, input,
 * tap) sum is the same float64 sum over images in order, so the blocks do not change any bit.
 * `scratch` holds (ci1 − ci0) phase images and (ci1 − ci0)·(m1 − m0)·k·k doubles (dotScratchFloats).
 */
void convBwdWeightDot(const ConvGeom& g, const float* dy, const float* in, float* dW, int64_t ci0, int64_t ci1, int64_t m0, int64_t m1,
                      float* scratch) {
  const int64_t K = g.K(), kk = g.k * g.k, ohw = g.oh * g.ow, s = g.stride;
  const int64_t M = m1 - m0, C = ci1 - ci0, imgFloats = C > 1 ? roundUpTo(phaseImageFloats(g), 16) : phaseImageFloats(g);
  double* acc = reinterpret_cast<double*>(scratch);  // [C][M][kk]
  float* imgs = scratch + 2 * roundUpTo(C * M * kk, 8);
  for (int64_t i = 0; i < C * M * kk; ++i) acc[i] = 0.0;
  float part[12];
  for (int64_t n = 0; n < g.n; ++n) {
    int64_t wq = 0;
    for (int64_t c = 0; c < C; ++c) padPhaseImage(g, in, ci0 + c, n, imgs + c * imgFloats, &wq);
    const int64_t xStride = s * s * wq;  // one output row = s padded rows
    for (int64_t co = m0; co < m1; co += 4) {
      const float* y[4];
      int64_t ys[4];
      for (int r = 0; r < 4; ++r) {
        const bool ok = co + r < m1;
        y[r] = ok ? dy + (co + r) * g.outStride + n * ohw : kZeros;
        ys[r] = ok ? g.ow : 0;
      }
      for (int64_t c = 0; c < C; ++c) {
        const float* img = imgs + c * imgFloats;
        double* ac = acc + c * M * kk;
#if ZENNAS_VEC512
        if (g.k == 3 && (s == 1 || s == 2)) {  // all 9 taps per call (dotRows4x9: the same sums as three taps at a time)
          float all[36];
          if (s == 1) dotRows4x9<1>(y, ys, img, wq, g.oh, g.ow, all);
          else dotRows4x9<2>(y, ys, img, wq, g.oh, g.ow, all);
          for (int r = 0; r < 4 && co + r < m1; ++r)
            for (int q = 0; q < 9; ++q) ac[(co + r - m0) * kk + q] += all[r * 9 + q];
          continue;
        }
        if ((g.k == 5 || g.k == 7) && (s == 1 || s == 2)) {  // a whole kernel row per call (dotRows4xJ: the same sums as three taps at a time)
          float row[28];
          for (int64_t ky = 0; ky < g.k; ++ky) {
            const float* x = img + ky * s * wq;
            if (g.k == 5) s == 1 ? dotRows4xJ<5, 1>(y, ys, x, wq, g.oh, g.ow, row) : dotRows4xJ<5, 2>(y, ys, x, wq, g.oh, g.ow, row);
            else s == 1 ? dotRows4xJ<7, 1>(y, ys, x, wq, g.oh, g.ow, row) : dotRows4xJ<7, 2>(y, ys, x, wq, g.oh, g.ow, row);
            for (int r = 0; r < 4 && co + r < m1; ++r)
              for (int64_t q = 0; q < g.k; ++q) ac[(co + r - m0) * kk + ky * g.k + q] += row[r * g.k + q];
          }
          continue;
        }
#endif
        for (int64_t ky = 0; ky < g.k; ++ky)
          for (int64_t kx = 0; kx < g.k; kx += 3) {
            const float* x[3];
            int64_t xs[3];
            for (int j = 0; j < 3; ++j) {
              const int64_t q = kx + j;
              x[j] = q < g.k ? img + (ky * s + q % s) * wq + q / s : kZeros;
              xs[j] = q < g.k ? xStride : 0;
            }
            dotRows4x3(y, ys, x, xs, g.oh, g.ow, part);
            for (int r = 0; r < 4 && co + r < m1; ++r)
              for (int j = 0; j < 3 && kx + j < g.k; ++j) ac[(co + r - m0) * kk + ky * g.k + kx + j] += part[r * 3 + j];
          }
      }
    }
  }
  for (int64_t c = 0; c < C; ++c)
    for (int64_t r = 0; r < M; ++r)
      for (int64_t q = 0; q < kk; ++q) dW[(m0 + r) * K + (ci0 + c) * kk + q] = static_cast<float>(acc[(c * M + r) * kk + q]);
}

/**
 * Dot-form weight gradient of a 1×1 stride-1 conv or LINEAR: X rows are contiguous over all images,
 * so each 4 × 3 block (output × input channels) is one long dot product (float64 every 4096 columns).
 */
void conv1x1BwdWeightDot(const ConvGeom& g, const float* dy, const float* in, float* dW, int64_t c0, int64_t c1, int64_t m0, int64_t m1,
                         float* scratch) {
  constexpr int64_t kPiece = 4096;
  const int64_t K = g.K(), cols = g.cols(), M = m1 - m0, C = c1 - c0;
  double* acc = reinterpret_cast<double*>(scratch);
  for (int64_t i = 0; i < M * C; ++i) acc[i] = 0.0;
  float part[12];
  const int64_t zs[4] = {0, 0, 0, 0};
  for (int64_t p0 = 0; p0 < cols; p0 += kPiece) {
    const int64_t len = std::min(kPiece, cols - p0);
    for (int64_t co = m0; co < m1; co += 4) {
      const float* y[4];
      for (int r = 0; r < 4; ++r) y[r] = co + r < m1 ? dy + (co + r) * g.outStride + p0 : kZeros;
      for (int64_t ci = c0; ci < c1; ci += 3) {
        const float* x[3];
        for (int j = 0; j < 3; ++j) x[j] = ci + j < c1 ? in + (ci + j) * g.inStride + p0 : kZeros;
        dotRows4x3(y, zs, x, zs, 1, len, part);
        for (int r = 0; r < 4 && co + r < m1; ++r)
          for (int j = 0; j < 3 && ci + j < c1; ++j) acc[(co + r - m0) * C + (ci + j - c0)] += part[r * 3 + j];
      }
    }
  }
  for (int64_t r = 0; r < M; ++r)
    for (int64_t c = 0; c < C; ++c) dW[(m0 + r) * K + c0 + c] = static_cast<float>(acc[r * C + c]);
}

// ---------------------------------------------------------------- conv input gradient

/** Packs rows [r0, r0 + rows) of Wᵀ (row r = im2col index k, depth = output channels [p0, p0 + kc)). */
inline void packWt(const float* packedA, int64_t K, int64_t r0, int64_t rows, int64_t p0, int64_t kc, float* Ap) {
  for (int64_t ip = 0; ip * kMR < rows; ++ip) {
    float* a = Ap + ip * kc * kMR;
    for (int r = 0; r < kMR; ++r) {
      const int64_t k = r0 + ip * kMR + r;
      if (k < r0 + rows) {
        for (int64_t p = 0; p < kc; ++p) a[p * kMR + r] = packedA[packedAIndex(p0 + p, k, K)];
      } else {
        for (int64_t p = 0; p < kc; ++p) a[p * kMR + r] = 0.f;
      }
    }
  }
}

/** Packs dY rows [p0, p0 + kc), columns [c0, c0 + cc) into NR panels. */
inline void packDy(const ConvGeom& g, const float* dy, int64_t p0, int64_t kc, int64_t c0, int64_t cc, float* Bp) {
  const int64_t panels = (cc + kNR - 1) / kNR;
  for (int64_t jp = 0; jp < panels; ++jp) {
    float* b = Bp + jp * kc * kNR;
    const int64_t cj = c0 + jp * kNR, nr = std::min<int64_t>(kNR, c0 + cc - cj);
    for (int64_t p = 0; p < kc; ++p) {
      const float* row = dy + (p0 + p) * g.outStride + cj;
      int64_t j = 0;
      for (; j < nr; ++j) b[p * kNR + j] = row[j];
      for (; j < kNR; ++j) b[p * kNR + j] = 0.f;
    }
  }
}

void convBwdData(const ConvGeom& g, const float* packedA, const float* dy, float* dx, int64_t c0, int64_t c1, bool acc, float* scratch) {
  const int64_t K = g.K(), M = g.cout, kk = g.k * g.k, cols = g.cols(), ihw = g.h * g.w, ohw = g.oh * g.ow;
  const int64_t r0 = c0 * kk, rows = (c1 - c0) * kk;
  const int64_t rPanels = (rows + kMR - 1) / kMR, cPanels = (kBwdCols + kNR - 1) / kNR;
  float* Bp = scratch;                               // cPanels × KC × NR
  float* Ap = Bp + cPanels * kKC * kNR;              // rPanels × KC × MR (one KC slice of Wᵀ)
  float* dcol = Ap + rPanels * kKC * kMR;            // rPanels·MR × kBwdCols
  const int64_t ldd = kBwdCols;
  if (!acc)
    for (int64_t ci = c0; ci < c1; ++ci) std::memset(dx + ci * g.inStride, 0, sizeof(float) * static_cast<size_t>(g.n * ihw));
  for (int64_t col = 0; col < cols; col += kBwdCols) {
    const int64_t cc = std::min<int64_t>(kBwdCols, cols - col);
    for (int64_t p0 = 0; p0 < M; p0 += kKC) {
      const int64_t kc = std::min<int64_t>(kKC, M - p0);
      packDy(g, dy, p0, kc, col, cc, Bp);
      packWt(packedA, K, r0, rows, p0, kc, Ap);
      microKernelRows(kc, Ap, kc * kMR, rPanels * kMR, Bp, kc * kNR, dcol, ldd, p0 > 0, (cc + kNR - 1) / kNR, kNR);
    }
    // col2im: scatter-add the chunk's columns into the input planes (fixed order: r, then column),
    // walked by output-row segments.
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t k = r0 + r, ci = k / kk, ky = (k % kk) / g.k, kx = k % g.k;
      float* plane = dx + ci * g.inStride;
      const float* src = dcol + r * ldd;
      int64_t lo, hi;
      validRange(kx, g, &lo, &hi);
      int64_t img = col / ohw, oy = (col % ohw) / g.ow, ox0 = col % g.ow;  // then advanced per row segment
      for (int64_t c = col; c < col + cc;) {
        const int64_t seg = std::min(g.ow - ox0, col + cc - c);
        const int64_t iy = oy * g.stride - g.pad + ky;
        if (iy >= 0 && iy < g.h) {
          float* drow = plane + img * ihw + iy * g.w - g.pad + kx;
          const float* s0 = src + (c - col) - ox0;
          for (int64_t ox = std::max(ox0, lo); ox < std::min(ox0 + seg, hi); ++ox) drow[ox * g.stride] += s0[ox];
        }
        c += seg;
        ox0 = 0;
        if (++oy == g.oh) { oy = 0; ++img; }
      }
    }
  }
}

constexpr int64_t kColRows = 8 * kMR;  // rows of the column matrix per block (48 × 256 floats: L2)

static_assert(kBwdCols == 256 && kColRows == 48, "bwdDataImagesScratch (backward.h) assumes these");

/** drow[ox·stride] += s0[ox] for ox ∈ [a, b): one add per element, so any order gives the same bits.
 *  Stride 2 (AVX2): 8 values spread to the even lanes of two vectors and added there (a blend keeps
 *  the odd lanes' bits); only blocks whose 16 floats end before the last even element, so every
 *  float touched lies between two of this row's own (the rest, scalar: past it may be another
 *  task's image). Masked stores would be simpler but are slow on AMD cores. */
inline void col2imRow(float* drow, const float* s0, int64_t a, int64_t b, int64_t stride) {
  int64_t ox = a;
  if (stride == 1) {
    for (; ox < b; ++ox) drow[ox] += s0[ox];
    return;
  }
#if ZENNAS_VEC
  if (stride == 2) {
    for (; ox + 9 <= b; ox += 8) {
      const __m256 v = _mm256_loadu_ps(s0 + ox);
      const __m256 lo = _mm256_unpacklo_ps(v, v), hi = _mm256_unpackhi_ps(v, v);  // (v0 v0 v1 v1 | v4 v4 v5 v5), (v2 v2 v3 v3 | v6 v6 v7 v7)
      const __m256 e0 = _mm256_permute2f128_ps(lo, hi, 0x20), e1 = _mm256_permute2f128_ps(lo, hi, 0x31);
      float* d = drow + 2 * ox;
      const __m256 d0 = _mm256_loadu_ps(d), d1 = _mm256_loadu_ps(d + 8);
      _mm256_storeu_ps(d, _mm256_blend_ps(d0, _mm256_add_ps(d0, e0), 0x55));
      _mm256_storeu_ps(d + 8, _mm256_blend_ps(d1, _mm256_add_ps(d1, e1), 0x55));
    }
  }
#endif
  for (; ox < b; ++ox) drow[ox * stride] += s0[ox];
}

void spreadStrided(const ConvGeom& g, const float* src, int64_t srcStride, float* dx, int64_t c0, int64_t c1, bool acc) {
  const int64_t st = g.stride, ihw = g.h * g.w, ohw = g.oh * g.ow;
  for (int64_t c = c0; c < c1; ++c) {
    float* d = dx + c * g.inStride;
    if (!acc) std::memset(d, 0, sizeof(float) * static_cast<size_t>(g.n * ihw));
    for (int64_t img = 0; img < g.n; ++img)
      for (int64_t oy = 0; oy < g.oh; ++oy) col2imRow(d + img * ihw + oy * st * g.w, src + c * srcStride + img * ohw + oy * g.ow, 0, g.ow, st);
  }
}

void convBwdDataImages(const ConvGeom& g, const float* wT, const float* dy, float* dx, int64_t n0, int64_t n1, bool acc, float* scratch) {
  const int64_t M = g.cout, K = g.K(), kk = g.k * g.k, ihw = g.h * g.w, ohw = g.oh * g.ow;
  const int64_t cPanelsMax = kBwdCols / kNR;
  float* Bp = scratch;                                  // per depth slice p0: cPanels × kc × NR
  float* dcol = Bp + roundUpTo(M, 8) * kBwdCols;        // kColRows × kBwdCols
  const int64_t ldd = kBwdCols;
  if (!acc)
    for (int64_t ci = 0; ci < g.cin; ++ci) std::memset(dx + ci * g.inStride + n0 * ihw, 0, sizeof(float) * static_cast<size_t>((n1 - n0) * ihw));
  const int64_t end = n1 * ohw;
  for (int64_t col = n0 * ohw; col < end; col += kBwdCols) {
    const int64_t cc = std::min<int64_t>(kBwdCols, end - col), cPanels = (cc + kNR - 1) / kNR;
    for (int64_t p0 = 0; p0 < M; p0 += kKC) packDy(g, dy, p0, std::min<int64_t>(kKC, M - p0), col, cc, Bp + p0 * cPanelsMax * kNR);
    for (int64_t r0 = 0; r0 < K; r0 += kColRows) {
      const int64_t rows = std::min(kColRows, K - r0), rPanels = (rows + kMR - 1) / kMR;
      for (int64_t p0 = 0; p0 < M; p0 += kKC) {  // each element: its K blocks in order (the bits of any loop order)
        const int64_t kc = std::min<int64_t>(kKC, M - p0);
        microKernelRows(kc, wT + (r0 / kMR) * M * kMR + p0 * kMR, M * kMR, rPanels * kMR, Bp + p0 * cPanelsMax * kNR, kc * kNR, dcol, ldd, p0 > 0,
                        cPanels, kNR);
      }
      // col2im of these rows (fixed order: row, then column; the task's images only).
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t k = r0 + r, ci = k / kk, ky = (k % kk) / g.k, kx = k % g.k;
        float* plane = dx + ci * g.inStride;
        const float* src = dcol + r * ldd;
        int64_t lo, hi;
        validRange(kx, g, &lo, &hi);
        // (image, output row, column) of `col`, then advanced segment by segment (no division per row)
        int64_t img = col / ohw, oy = (col % ohw) / g.ow, ox0 = col % g.ow;
        for (int64_t c = col; c < col + cc;) {
          const int64_t seg = std::min(g.ow - ox0, col + cc - c);
          const int64_t iy = oy * g.stride - g.pad + ky;
          if (iy >= 0 && iy < g.h) {
            float* drow = plane + img * ihw + iy * g.w - g.pad + kx;
            const float* s0 = src + (c - col) - ox0;
            const int64_t a = std::max(ox0, lo), b = std::min(ox0 + seg, hi);
            col2imRow(drow, s0, a, b, g.stride);
          }
          c += seg;
          ox0 = 0;
          if (++oy == g.oh) { oy = 0; ++img; }
        }
      }
    }
  }
}

// ---------------------------------------------------------------- depthwise, pools

void dwConvBwd(const ConvGeom& g, const float* w, const float* in, const float* dy, float* dx, float* dw, int64_t c0, int64_t c1, bool acc) {
  const int64_t ihw = g.h * g.w, ohw = g.oh * g.ow, kk = g.k * g.k;
  int64_t lo[16], hi[16];
  for (int64_t kx = 0; kx < g.k; ++kx) validRange(kx * g.dil, g, &lo[kx], &hi[kx]);
  for (int64_t c = c0; c < c1; ++c) {
    const float* wc = w + c * kk;
    double wsum[225] = {};
    if (dx && !acc) std::memset(dx + c * g.inStride, 0, sizeof(float) * static_cast<size_t>(g.n * ihw));
    for (int64_t n = 0; n < g.n; ++n) {
      const float* ip = in + c * g.inStride + n * ihw;
      const float* gp = dy + c * g.outStride + n * ohw;
      float* xp = dx ? dx + c * g.inStride + n * ihw : nullptr;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        const float* grow = gp + oy * g.ow;
        for (int64_t ky = 0; ky < g.k; ++ky) {
          const int64_t iy = oy * g.stride - g.pad + ky * g.dil;
          if (iy < 0 || iy >= g.h) continue;
          const float* irow = ip + iy * g.w - g.pad;
          for (int64_t kx = 0; kx < g.k; ++kx) {
            float s = 0.f;
            const float* src = irow + kx * g.dil;
            for (int64_t ox = lo[kx]; ox < hi[kx]; ++ox) s += grow[ox] * src[ox * g.stride];
            wsum[ky * g.k + kx] += s;
            if (xp) {
              const float wv = wc[ky * g.k + kx];
              float* dst = xp + iy * g.w - g.pad + kx * g.dil;
              for (int64_t ox = lo[kx]; ox < hi[kx]; ++ox) dst[ox * g.stride] += wv * grow[ox];
            }
          }
        }
      }
    }
    for (int64_t q = 0; q < kk; ++q) dw[c * kk + q] = static_cast<float>(wsum[q]);
  }
}

void maxPoolBwd(const ConvGeom& g, const float* in, const float* dy, float* dx, int64_t c0, int64_t c1, bool acc) {
  // Per output row, blocks of output columns: each window's first maximum (taps in (ky, kx) order,
  // the first valid tap taken whatever its value, then strictly greater ones: PyTorch's routing)
  // found tap by tap over the block (branch-free selects the compiler vectorises), then the
  // gradients added in (oy, ox) order as before — the same floats in the same order.
  constexpr int64_t kBlock = 256;
  float best[kBlock];
  int32_t at[kBlock];
  const int64_t ihw = g.h * g.w, ohw = g.oh * g.ow;
  for (int64_t p = c0 * g.n; p < c1 * g.n; ++p) {
    const float* ip = in + (p / g.n) * g.inStride + (p % g.n) * ihw;
    const float* gp = dy + (p / g.n) * g.outStride + (p % g.n) * ohw;
    float* xp = dx + (p / g.n) * g.inStride + (p % g.n) * ihw;
    if (!acc) std::memset(xp, 0, sizeof(float) * static_cast<size_t>(ihw));
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t b0 = 0; b0 < g.ow; b0 += kBlock) {
        const int64_t nb = std::min(kBlock, g.ow - b0);
        for (int64_t j = 0; j < nb; ++j) { best[j] = 0.f; at[j] = -1; }
        for (int64_t ky = 0; ky < g.k; ++ky) {
          const int64_t iy = oy * g.stride - g.pad + ky;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t kx = 0; kx < g.k; ++kx) {
            // columns of the block whose tap (ky, kx) lies inside the row: ix = (b0 + j)·s − pad + kx ∈ [0, w)
            const int64_t off = kx - g.pad;
            if (g.w - 1 - off < 0) continue;  // the tap is right of every column's row (a map narrower than the window)
            int64_t lo = off >= 0 ? 0 : (-off + g.stride - 1) / g.stride - b0;
            int64_t hi = (g.w - 1 - off) / g.stride + 1 - b0;
            lo = std::max<int64_t>(lo, 0);
            hi = std::min<int64_t>(hi, nb);
            const float* src = ip + iy * g.w + b0 * g.stride + off;
            const int32_t base = static_cast<int32_t>(iy * g.w + b0 * g.stride + off);
            for (int64_t j = lo; j < hi; ++j) {
              const float v = src[j * g.stride];
              const bool take = at[j] < 0 || v > best[j];
              best[j] = take ? v : best[j];
              at[j] = take ? base + static_cast<int32_t>(j * g.stride) : at[j];
            }
          }
        }
        const float* grow = gp + oy * g.ow + b0;
        for (int64_t j = 0; j < nb; ++j)
          if (at[j] >= 0) xp[at[j]] += grow[j];
      }
  }
}

inline float avgDivisor(const ConvGeom& g, int64_t oy, int64_t ox, bool countIncludePad) {
  if (countIncludePad) return static_cast<float>(g.k * g.k);
  const int64_t y0 = std::max<int64_t>(0, oy * g.stride - g.pad), y1 = std::min<int64_t>(g.h, oy * g.stride - g.pad + g.k);
  const int64_t x0 = std::max<int64_t>(0, ox * g.stride - g.pad), x1 = std::min<int64_t>(g.w, ox * g.stride - g.pad + g.k);
  return static_cast<float>((y1 - y0) * (x1 - x0));
}

void avgPool(const ConvGeom& g, const float* in, float* out, int64_t c0, int64_t c1, bool countIncludePad) {
  const int64_t ihw = g.h * g.w, ohw = g.oh * g.ow;
  for (int64_t p = c0 * g.n; p < c1 * g.n; ++p) {
    const float* ip = in + (p / g.n) * g.inStride + (p % g.n) * ihw;
    float* op = out + (p / g.n) * g.outStride + (p % g.n) * ohw;
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        float s = 0.f;
        for (int64_t ky = 0; ky < g.k; ++ky) {
          const int64_t iy = oy * g.stride - g.pad + ky;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t kx = 0; kx < g.k; ++kx) {
            const int64_t ix = ox * g.stride - g.pad + kx;
            if (ix >= 0 && ix < g.w) s += ip[iy * g.w + ix];
          }
        }
        op[oy * g.ow + ox] = s / avgDivisor(g, oy, ox, countIncludePad);
      }
  }
}

void avgPoolBwd(const ConvGeom& g, const float* dy, float* dx, int64_t c0, int64_t c1, bool countIncludePad, bool acc) {
  const int64_t ihw = g.h * g.w, ohw = g.oh * g.ow;
  for (int64_t p = c0 * g.n; p < c1 * g.n; ++p) {
    const float* gp = dy + (p / g.n) * g.outStride + (p % g.n) * ohw;
    float* xp = dx + (p / g.n) * g.inStride + (p % g.n) * ihw;
    if (!acc) std::memset(xp, 0, sizeof(float) * static_cast<size_t>(ihw));
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const float v = gp[oy * g.ow + ox] / avgDivisor(g, oy, ox, countIncludePad);
        for (int64_t ky = 0; ky < g.k; ++ky) {
          const int64_t iy = oy * g.stride - g.pad + ky;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t kx = 0; kx < g.k; ++kx) {
            const int64_t ix = ox * g.stride - g.pad + kx;
            if (ix >= 0 && ix < g.w) xp[iy * g.w + ix] += v;
          }
        }
      }
  }
}

// ---------------------------------------------------------------- BN and element-wise

double dot(const float* a, const float* b, int64_t n) {
  int64_t i = 0;
  double s = 0;
#if ZENNAS_VEC
  __m256d s0 = _mm256_setzero_pd(), s1 = s0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(a + i), y = _mm256_loadu_ps(b + i);
    s0 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(x)), _mm256_cvtps_pd(_mm256_castps256_ps128(y)), s0);
    s1 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)), _mm256_cvtps_pd(_mm256_extractf128_ps(y, 1)), s1);
  }
  alignas(32) double t[4];
  _mm256_store_pd(t, _mm256_add_pd(s0, s1));
  s = (t[0] + t[1]) + (t[2] + t[3]);
#endif
  for (; i < n; ++i) s += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  return s;
}

// The masks of bnBwdCore: none (plain BN), RELU(BN(x)) recomputed from x, or RELU(BN(x) + r) read from
// the RELU's output (which also hands g to the ADD's residual input).
enum class BnMask { None, ReluOfBn, ReluOfSum };

template <BnMask kMask>
inline void bnBwdCore(const float* x, const float* y, const float* dy, float* dx, float* res, int64_t n, float mean, float invstd, bool acc,
                      bool accRes, double* dGamma, double* dBeta) {
  // ReluOfBn: dy is the gradient of ReLU(BN(x)); the ReLU's mask is recomputed from x exactly as the
  // forward computed its output ((x − mean)·invstd > 0, same float operations), so this gives the
  // bits of RELU backward then BN backward without the intermediate pass. ReluOfSum: the mask is
  // y > 0 (y = ReLU(BN(x) + r), what RELU backward reads) and g also goes to r's gradient.
  // Σ dy and Σ dy·x in float64 (vectorised), then Σ dy·x̂ = invstd·(Σ dy·x − mean·Σ dy).
  double sdy = 0, sdyx = 0;
  int64_t i = 0;
#if ZENNAS_VEC
  const __m256 vm = _mm256_set1_ps(mean), vs = _mm256_set1_ps(invstd), zero = _mm256_setzero_ps();
  const auto grad8 = [&](int64_t at, __m256 v) {
    __m256 g = _mm256_loadu_ps(dy + at);
    if constexpr (kMask == BnMask::ReluOfBn) g = _mm256_and_ps(g, _mm256_cmp_ps(_mm256_mul_ps(_mm256_sub_ps(v, vm), vs), zero, _CMP_GT_OQ));
    if constexpr (kMask == BnMask::ReluOfSum) {
      g = _mm256_and_ps(g, _mm256_cmp_ps(_mm256_loadu_ps(y + at), zero, _CMP_GT_OQ));
      if (res) _mm256_storeu_ps(res + at, accRes ? _mm256_add_ps(_mm256_loadu_ps(res + at), g) : g);
    }
    return g;
  };
#if ZENNAS_VEC512
  // lanes 0–3 / 4–7 of one 8-double vector = the AVX2 loop's s0 / s1 (q0 / q1): the same chains, one conversion each
  __m512d sz = _mm512_setzero_pd(), qz = sz;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m512d g = _mm512_cvtps_pd(grad8(i, v));
    sz = _mm512_add_pd(sz, g);
    qz = _mm512_fmadd_pd(g, _mm512_cvtps_pd(v), qz);
  }
  const __m256d s0 = _mm512_castpd512_pd256(sz), s1 = _mm512_extractf64x4_pd(sz, 1);
  const __m256d q0 = _mm512_castpd512_pd256(qz), q1 = _mm512_extractf64x4_pd(qz, 1);
#else
  __m256d s0 = _mm256_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 g = grad8(i, v);
    const __m256d g0 = _mm256_cvtps_pd(_mm256_castps256_ps128(g)), g1 = _mm256_cvtps_pd(_mm256_extractf128_ps(g, 1));
    s0 = _mm256_add_pd(s0, g0); s1 = _mm256_add_pd(s1, g1);
    q0 = _mm256_fmadd_pd(g0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)), q0);
    q1 = _mm256_fmadd_pd(g1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), q1);
  }
#endif
  alignas(32) double ts[4], tq[4];
  _mm256_store_pd(ts, _mm256_add_pd(s0, s1));
  _mm256_store_pd(tq, _mm256_add_pd(q0, q1));
  sdy = (ts[0] + ts[1]) + (ts[2] + ts[3]);
  sdyx = (tq[0] + tq[1]) + (tq[2] + tq[3]);
#endif
  const auto gradAt = [&](int64_t j) -> float {
    if constexpr (kMask == BnMask::ReluOfBn) return (x[j] - mean) * invstd > 0.f ? dy[j] : 0.f;
    if constexpr (kMask == BnMask::ReluOfSum) return y[j] > 0.f ? dy[j] : 0.f;
    return dy[j];
  };
  for (; i < n; ++i) {
    const float g = gradAt(i);
    if constexpr (kMask == BnMask::ReluOfSum)
      if (res) res[i] = accRes ? res[i] + g : g;
    sdy += g;
    sdyx += static_cast<double>(g) * static_cast<double>(x[i]);
  }
  const double sdyxhat = static_cast<double>(invstd) * (sdyx - static_cast<double>(mean) * sdy);
  *dGamma += sdyxhat;
  *dBeta += sdy;
  if (!dx) return;
  const float a = static_cast<float>(sdy / static_cast<double>(n)), b = static_cast<float>(sdyxhat / static_cast<double>(n));
  if constexpr (kMask != BnMask::None) {
    for (int64_t j = 0; j < n; ++j) {
      const float g = gradAt(j);
      const float d = invstd * (g - a - (x[j] - mean) * invstd * b);
      dx[j] = acc ? dx[j] + d : d;
    }
  } else if (acc) {
    for (int64_t j = 0; j < n; ++j) dx[j] += invstd * (dy[j] - a - (x[j] - mean) * invstd * b);
  } else {
    for (int64_t j = 0; j < n; ++j) dx[j] = invstd * (dy[j] - a - (x[j] - mean) * invstd * b);
  }
}

void bnBwdFused(const float* x, const float* dy, float* dx, int64_t n, float mean, float invstd, bool acc, bool relu, double* dGamma,
                double* dBeta) {
  if (relu) bnBwdCore<BnMask::ReluOfBn>(x, nullptr, dy, dx, nullptr, n, mean, invstd, acc, false, dGamma, dBeta);
  else bnBwdCore<BnMask::None>(x, nullptr, dy, dx, nullptr, n, mean, invstd, acc, false, dGamma, dBeta);
}

void bnAddReluBwd(const float* x, const float* y, const float* dy, float* dx, float* res, int64_t n, float mean, float invstd, bool acc,
                  bool accRes, double* dGamma, double* dBeta) {
  bnBwdCore<BnMask::ReluOfSum>(x, y, dy, dx, res, n, mean, invstd, acc, accRes, dGamma, dBeta);
}

void bnBwd(const float* x, const float* dy, float* dx, int64_t n, float mean, float invstd, bool acc, double* dGamma, double* dBeta) {
  bnBwdFused(x, dy, dx, n, mean, invstd, acc, false, dGamma, dBeta);
}

void reluBwd(const float* y, const float* dy, float* dx, int64_t n, bool acc) {
  if (acc) for (int64_t i = 0; i < n; ++i) dx[i] += y[i] > 0.f ? dy[i] : 0.f;
  else for (int64_t i = 0; i < n; ++i) dx[i] = y[i] > 0.f ? dy[i] : 0.f;
}

void sigmoidBwd(const float* y, const float* dy, float* dx, int64_t n, bool acc) {
  if (acc) for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * y[i] * (1.f - y[i]);
  else for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (1.f - y[i]);
}

void scaleBwd(const float* dy, float* dx, int64_t n, float g, bool acc) {
  if (acc) for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * g;
  else for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * g;
}
