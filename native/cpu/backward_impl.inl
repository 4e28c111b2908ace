// Backward kernel bodies (included by kernels_impl.inl inside its ISA namespace, so they share
// the forward's GEMM micro-kernel and are compiled for AVX2+FMA and portable alike).

// ---------------------------------------------------------------- conv weight gradient

constexpr int64_t kBwdCols = 256;  // output columns per GEMM chunk (fixed: the summation order)

/** Value of im2col(X)[k][col] (0 in the padding). */
inline float im2colAt(const ConvGeom& g, const float* in, int64_t k, int64_t col) {
  const int64_t kk = g.k * g.k, ohw = g.oh * g.ow;
  const int64_t ci = k / kk, ky = (k % kk) / g.k, kx = k % g.k;
  const int64_t img = col / ohw, r = col % ohw, oy = r / g.ow, ox = r % g.ow;
  const int64_t iy = oy * g.stride - g.pad + ky, ix = ox * g.stride - g.pad + kx;
  if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) return 0.f;
  return in[ci * g.inStride + img * g.h * g.w + iy * g.w + ix];
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
    // B: im2col(X)ᵀ, depth = the chunk's columns, NR panels over k ∈ [k0, k1).
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
          for (int64_t p = 0; p < cc; ++p) b[p * kNR + j] = im2colAt(g, in, k, c0 + p);
        }
      }
    }
    const bool acc = c0 > 0;
    for (int64_t ip = 0; ip < mPanels; ++ip) {
      const int mr = static_cast<int>(std::min<int64_t>(kMR, M - ip * kMR));
      for (int64_t jp = 0; jp < kPanels; ++jp) {
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

void conv1x1BwdData(const ConvGeom& g, const float* packedA, const float* dy, float* dx, int64_t col0, int64_t col1, bool acc,
                    float* scratch) {
  constexpr int64_t kRows = 16 * kMR;  // rows of dX (input channels) per packed Wᵀ block
  const int64_t K = g.K(), M = g.cout, cc = col1 - col0;
  const int64_t panels = (cc + kNR - 1) / kNR;
  float* Bp = scratch;                              // panels × KC × NR
  float* Ap = Bp + panels * kKC * kNR;              // 16 × KC × MR
  float* Ct = Ap + (kRows / kMR) * kKC * kMR;
  for (int64_t p0 = 0; p0 < M; p0 += kKC) {
    const int64_t kc = std::min<int64_t>(kKC, M - p0);
    packDy(g, dy, p0, kc, col0, cc, Bp);
    const bool a = acc || p0 > 0;
    for (int64_t r0 = 0; r0 < K; r0 += kRows) {
      const int64_t rows = std::min<int64_t>(kRows, K - r0);
      packWt(packedA, K, r0, rows, p0, kc, Ap);
      for (int64_t ip = 0; ip * kMR < rows; ++ip) {
        const int mr = static_cast<int>(std::min<int64_t>(kMR, rows - ip * kMR));
        for (int64_t jp = 0; jp < panels; ++jp) {
          const int nr = static_cast<int>(std::min<int64_t>(kNR, cc - jp * kNR));
          float* c = dx + (r0 + ip * kMR) * g.inStride + col0 + jp * kNR;
          if (nr == kNR) {
            microKernel(kc, Ap + ip * kc * kMR, Bp + jp * kc * kNR, c, g.inStride, a, mr, nr);
          } else {
            microKernel(kc, Ap + ip * kc * kMR, Bp + jp * kc * kNR, Ct, kNR, false, kMR, kNR);
            for (int i = 0; i < mr; ++i)
              for (int j = 0; j < nr; ++j) c[i * g.inStride + j] = a ? c[i * g.inStride + j] + Ct[i * kNR + j] : Ct[i * kNR + j];
          }
        }
      }
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
      for (int64_t ip = 0; ip < rPanels; ++ip)
        for (int64_t jp = 0; jp * kNR < cc; ++jp)
          microKernel(kc, Ap + ip * kc * kMR, Bp + jp * kc * kNR, dcol + ip * kMR * ldd + jp * kNR, ldd, p0 > 0, kMR, kNR);
    }
    // col2im: scatter-add the chunk's columns into the input planes (fixed order: r, then column).
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t k = r0 + r, ci = k / kk, ky = (k % kk) / g.k, kx = k % g.k;
      float* plane = dx + ci * g.inStride;
      const float* src = dcol + r * ldd;
      for (int64_t p = 0; p < cc; ++p) {
        const int64_t c = col + p, img = c / ohw, rr = c % ohw, oy = rr / g.ow, ox = rr % g.ow;
        const int64_t iy = oy * g.stride - g.pad + ky, ix = ox * g.stride - g.pad + kx;
        if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
        plane[img * ihw + iy * g.w + ix] += src[p];
      }
    }
  }
}

// ---------------------------------------------------------------- depthwise, pools

void dwConvBwd(const ConvGeom& g, const float* w, const float* in, const float* dy, float* dx, float* dw, int64_t c0, int64_t c1, bool acc) {
  const int64_t ihw = g.h * g.w, ohw = g.oh * g.ow, kk = g.k * g.k;
  int64_t lo[16], hi[16];
  for (int64_t kx = 0; kx < g.k; ++kx) validRange(kx, g, &lo[kx], &hi[kx]);
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
          const int64_t iy = oy * g.stride - g.pad + ky;
          if (iy < 0 || iy >= g.h) continue;
          const float* irow = ip + iy * g.w - g.pad;
          for (int64_t kx = 0; kx < g.k; ++kx) {
            float s = 0.f;
            const float* src = irow + kx;
            for (int64_t ox = lo[kx]; ox < hi[kx]; ++ox) s += grow[ox] * src[ox * g.stride];
            wsum[ky * g.k + kx] += s;
            if (xp) {
              const float wv = wc[ky * g.k + kx];
              float* dst = xp + iy * g.w - g.pad + kx;
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
  const int64_t ihw = g.h * g.w, ohw = g.oh * g.ow;
  for (int64_t p = c0 * g.n; p < c1 * g.n; ++p) {
    const float* ip = in + (p / g.n) * g.inStride + (p % g.n) * ihw;
    const float* gp = dy + (p / g.n) * g.outStride + (p % g.n) * ohw;
    float* xp = dx + (p / g.n) * g.inStride + (p % g.n) * ihw;
    if (!acc) std::memset(xp, 0, sizeof(float) * static_cast<size_t>(ihw));
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        float best = -std::numeric_limits<float>::infinity();
        int64_t at = -1;
        for (int64_t ky = 0; ky < g.k; ++ky) {
          const int64_t iy = oy * g.stride - g.pad + ky;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t kx = 0; kx < g.k; ++kx) {
            const int64_t ix = ox * g.stride - g.pad + kx;
            if (ix < 0 || ix >= g.w) continue;
            const float v = ip[iy * g.w + ix];
            if (at < 0 || v > best) { best = v; at = iy * g.w + ix; }
          }
        }
        if (at >= 0) xp[at] += gp[oy * g.ow + ox];
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

void bnBwd(const float* x, const float* dy, float* dx, int64_t n, float mean, float invstd, bool acc, double* dGamma, double* dBeta) {
  double sdy = 0, sdyx = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double g = dy[i];
    sdy += g;
    sdyx += g * static_cast<double>((x[i] - mean) * invstd);
  }
  *dGamma += sdyx;
  *dBeta += sdy;
  const float a = static_cast<float>(sdy / static_cast<double>(n)), b = static_cast<float>(sdyx / static_cast<double>(n));
  if (acc) {
    for (int64_t i = 0; i < n; ++i) dx[i] += invstd * (dy[i] - a - (x[i] - mean) * invstd * b);
  } else {
    for (int64_t i = 0; i < n; ++i) dx[i] = invstd * (dy[i] - a - (x[i] - mean) * invstd * b);
  }
}

void reluBwd(const float* y, const float* dy, float* dx, int64_t n, bool acc) {
  if (acc) for (int64_t i = 0; i < n; ++i) dx[i] += y[i] > 0.f ? dy[i] : 0.f;
  else for (int64_t i = 0; i < n; ++i) dx[i] = y[i] > 0.f ? dy[i] : 0.f;
}

void sigmoidBwd(const float* y, const float* dy, float* dx, int64_t n, bool acc) {
  if (acc) for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * y[i] * (1.f - y[i]);
  else for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (1.f - y[i]);
}

void swish(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    y[i] = static_cast<float>(v / (1.0 + std::exp(-v)));
  }
}

void swishBwd(const float* x, const float* dy, float* dx, int64_t n, bool acc) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i], s = 1.0 / (1.0 + std::exp(-v));
    const float d = static_cast<float>(static_cast<double>(dy[i]) * (s + v * s * (1.0 - s)));
    dx[i] = acc ? dx[i] + d : d;
  }
}

void scaleBwd(const float* dy, float* dx, int64_t n, float g, bool acc) {
  if (acc) for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * g;
  else for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * g;
}
