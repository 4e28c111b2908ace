// Winograd F(4×4, 3×3) kernel bodies (winograd.h), included by kernels_impl.inl into both ISA
// translation units (inside its anonymous namespace: microKernel, kKC, kMR, kNR). The transforms
// are loops over the tiles of a chunk (innermost, contiguous), which the AVX2 TU vectorises.

constexpr int64_t kWinoMaxChunk = 256;  // tiles per call (stack arrays below)

void winoWeights(const ConvGeom& g, const float* packedA, float* U, int64_t co0, int64_t co1) {
  const int64_t K = g.cin * 9, uSize = packedASize(g.cout, g.cin);
  for (int64_t co = co0; co < co1; ++co)
    for (int64_t ci = 0; ci < g.cin; ++ci) {
      double w[3][3], t[6][3];
      for (int q = 0; q < 9; ++q) w[q / 3][q % 3] = packedA[packedAIndex(co, ci * 9 + q, K)];
      for (int x = 0; x < 3; ++x) {  // G w: rows of G = (1/4, 0, 0), −(1, 1, 1)/6, −(1, −1, 1)/6, (1/24, 1/12, 1/6), (1/24, −1/12, 1/6), (0, 0, 1)
        const double a = w[0][x], b = w[1][x], c = w[2][x];
        t[0][x] = a / 4; t[1][x] = -(a + b + c) / 6; t[2][x] = -(a - b + c) / 6;
        t[3][x] = a / 24 + b / 12 + c / 6; t[4][x] = a / 24 - b / 12 + c / 6; t[5][x] = c;
      }
      for (int i = 0; i < 6; ++i) {  // (G w) Gᵀ
        const double a = t[i][0], b = t[i][1], c = t[i][2];
        const double u[6] = {a / 4, -(a + b + c) / 6, -(a - b + c) / 6, a / 24 + b / 12 + c / 6, a / 24 - b / 12 + c / 6, c};
        for (int j = 0; j < 6; ++j) U[(i * 6 + j) * uSize + packedAIndex(co, ci, g.cin)] = static_cast<float>(u[j]);
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

void winoConv(const ConvGeom& g, const float* U, const float* in, float* out, int64_t t0, int64_t t1, float* scratch) {
  const int64_t nt = t1 - t0, T = (nt + kNR - 1) / kNR * kNR, panels = T / kNR;
  if (nt <= 0 || T > kWinoMaxChunk) return;
  const int64_t cin = g.cin, cout = g.cout, uSize = packedASize(cout, cin);
  float* V = scratch;                  // [36][panel][cin][16]: the packed B of each ξ
  float* Mb = V + kWinoXi * cin * T;   // [36][cout][T]: the GEMM results
  float* X = Mb + kWinoXi * cout * T;  // [36][T]: gathered patches, then output tiles
  float* Tm = X + kWinoXi * T;         // [36][T]: after the first 1-D transform
  const int64_t tw = winoTilesW(g), tpi = tw * winoTilesH(g), plane = g.h * g.w;
  int64_t base[kWinoMaxChunk];  // image offset of each tile
  int32_t ty[kWinoMaxChunk], tx[kWinoMaxChunk];
  for (int64_t t = 0; t < nt; ++t) {
    const int64_t tile = t0 + t, r = tile % tpi;
    base[t] = (tile / tpi) * plane;
    ty[t] = static_cast<int32_t>(4 * (r / tw));
    tx[t] = static_cast<int32_t>(4 * (r % tw));
  }
  for (int64_t xi = 0; xi < kWinoXi; ++xi)
    for (int64_t t = nt; t < T; ++t) X[xi * T + t] = 0.f;  // padding tiles: zero columns

  // ---- input transform, channel by channel, into the packed B of every ξ
  for (int64_t ci = 0; ci < cin; ++ci) {
    const float* chan = in + ci * g.inStride;
    for (int64_t t = 0; t < nt; ++t) {
      const float* p = chan + base[t];
      const int64_t y0 = ty[t] - 1, x0 = tx[t] - 1;
      if (y0 >= 0 && y0 + 6 <= g.h && x0 >= 0 && x0 + 6 <= g.w) {
        for (int64_t i = 0; i < 6; ++i) {
          const float* row = p + (y0 + i) * g.w + x0;
          for (int64_t j = 0; j < 6; ++j) X[(i * 6 + j) * T + t] = row[j];
        }
      } else {
        for (int64_t i = 0; i < 6; ++i) {
          const int64_t y = y0 + i;
          const bool rowOk = y >= 0 && y < g.h;
          for (int64_t j = 0; j < 6; ++j) {
            const int64_t x = x0 + j;
            X[(i * 6 + j) * T + t] = rowOk && x >= 0 && x < g.w ? p[y * g.w + x] : 0.f;
          }
        }
      }
    }
    for (int64_t j = 0; j < 6; ++j) winoBt(X + j * T, 6 * T, Tm + j * T, 6 * T, T);  // Bᵀ d (down the columns)
    for (int64_t i = 0; i < 6; ++i)                                                    // (Bᵀ d) B (along the rows)
      for (int64_t p = 0; p < panels; ++p)
        winoBt(Tm + i * 6 * T + p * kNR, T, V + (i * 6) * cin * T + p * cin * kNR + ci * kNR, cin * T, kNR);
  }

  // ---- 36 GEMMs: M[ξ] (cout × T) = U[ξ] (cout × cin) · V[ξ] (cin × T); K order fixed by cin and KC
  for (int64_t xi = 0; xi < kWinoXi; ++xi) {
    const float* A = U + xi * uSize;
    const float* B = V + xi * cin * T;
    float* C = Mb + xi * cout * T;
    for (int64_t pc = 0; pc < cin; pc += kKC) {
      const int64_t kc = std::min<int64_t>(kKC, cin - pc);
      for (int64_t ir = 0; ir < cout; ir += kMR) {
        const int mr = static_cast<int>(std::min<int64_t>(kMR, cout - ir));
        const float* a = A + (ir / kMR) * cin * kMR + pc * kMR;
        for (int64_t p = 0; p < panels; ++p) microKernel(kc, a, B + p * cin * kNR + pc * kNR, C + ir * T + p * kNR, T, pc > 0, mr, kNR);
      }
    }
  }

  // ---- output transform, channel by channel
  for (int64_t co = 0; co < cout; ++co) {
    for (int64_t j = 0; j < 6; ++j) winoAt(Mb + j * cout * T + co * T, 6 * cout * T, Tm + j * T, 6 * T, T);  // Aᵀ m
    for (int64_t r = 0; r < 4; ++r) winoAt(Tm + r * 6 * T, T, X + r * 4 * T, T, T);                          // (Aᵀ m) A
    float* oc = out + co * g.outStride;
    for (int64_t t = 0; t < nt; ++t) {
      float* q = oc + base[t];
      const int64_t oy0 = ty[t], ox0 = tx[t];
      if (oy0 + 4 <= g.oh && ox0 + 4 <= g.ow) {
        for (int64_t r = 0; r < 4; ++r) {
          float* row = q + (oy0 + r) * g.ow + ox0;
          for (int64_t s = 0; s < 4; ++s) row[s] = X[(r * 4 + s) * T + t];
        }
      } else {
        for (int64_t r = 0; r < 4 && oy0 + r < g.oh; ++r)
          for (int64_t s = 0; s < 4 && ox0 + s < g.ow; ++s) q[(oy0 + r) * g.ow + ox0 + s] = X[(r * 4 + s) * T + t];
      }
    }
  }
}
