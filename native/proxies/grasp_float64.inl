// grasp with hvpPrecision 'float64' (included by grasp_proxy.cc only): the same R-operator with
// direction g, on its own float64 NCHW buffers (values, their R and the gradients: ≈ 3.5 float64
// copies of every activation, 28 bytes × batch × activation values) with dense convs as im2col GEMMs
// in plain loops and depthwise direct. Exact to float64 rounding (= the float64 reference to 4e-13)
// and independent of the thread count; it reads only the drawn weights and images from the plan.
// Slower than the float32 default (0.48× PyTorch's float32 double backward on the Space-I CIFAR
// initial net); for deep nets where float32 loses the score (see grasp_proxy.cc).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "zero_shot.h"

namespace zennas {
namespace cpu {
namespace grasp64 {

/**
 * Memory the process could still take: Linux's MemAvailable (free + reclaimable page cache), else
 * the free pages (_SC_AVPHYS_PAGES, which count the page cache as used), else `phys`.
 */
inline double availableBytes(double phys) {
  if (FILE* f = std::fopen("/proc/meminfo", "r")) {
    char line[256];
    double kb = -1;
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    std::fclose(f);
    if (kb >= 0) return kb * 1024.0;
  }
#if defined(_SC_AVPHYS_PAGES) && defined(_SC_PAGESIZE)
  return static_cast<double>(sysconf(_SC_AVPHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
#else
  return phys;
#endif
}

using Vec = std::vector<double>;


struct Dims {
  int64_t n, c, h, w;
  int64_t size() const { return n * c * h * w; }
  int64_t plane() const { return h * w; }
};

struct ConvShape {
  int64_t n, cin, cout, h, w, oh, ow, k, s, p;
  bool dw;
  int64_t d;  // dilation (DWCONV; 1 for dense convs and LINEAR)
};

ConvShape convShape(const OpDesc& o, int64_t n) {
  return {n, o.in.c, o.out.c, o.in.h, o.in.w, o.out.h, o.out.w, o.op == OpCode::Linear ? 1 : o.kernel, o.op == OpCode::Linear ? 1 : o.stride,
          o.op == OpCode::Linear ? 0 : o.pad, o.op == OpCode::DwConv, o.op == OpCode::DwConv ? o.dilation : 1};
}

/** Output columns ox whose input column ox·s − p + kx lies in [0, w): [*lo, *hi) (branch-free inner loops). */
inline void validCols(const ConvShape& g, int64_t kx, int64_t* lo, int64_t* hi) {
  const int64_t a = g.p - kx;  // ox·s ≥ a
  *lo = a <= 0 ? 0 : (a + g.s - 1) / g.s;
  const int64_t b = g.w - 1 + g.p - kx;  // ox·s ≤ b
  *hi = b < 0 ? 0 : std::min(g.ow, b / g.s + 1);
  if (*hi < *lo) *hi = *lo;
}

/**
 * Image `img`'s im2col [K = cin·k²][P = oh·ow] (zeros outside the image); a 1×1 stride-1 conv (or
 * LINEAR) reads x itself. Dense convs run as GEMMs on it, inner loops over contiguous P or K.
 */
const double* im2col(const ConvShape& g, const double* x, int64_t img, std::vector<double>& buf, int64_t k0 = 0, int64_t k1 = -1) {
  const double* in = x + img * g.cin * g.h * g.w;
  const int64_t kk = g.k * g.k, P = g.oh * g.ow;
  if (k1 < 0) k1 = g.cin * kk;
  if (g.k == 1 && g.s == 1) return in + k0 * P;
  buf.assign(static_cast<size_t>((k1 - k0) * P), 0.0);
  for (int64_t k = k0; k < k1; ++k) {
    const int64_t ci = k / kk, ky = (k % kk) / g.k, kx = k % g.k;
    double* row = buf.data() + (k - k0) * P;
    int64_t lo, hi;
    validCols(g, kx * g.d, &lo, &hi);
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      const int64_t iy = oy * g.s - g.p + ky * g.d;
      if (iy < 0 || iy >= g.h) continue;
      const double* src = in + (ci * g.h + iy) * g.w;
      for (int64_t ox = lo; ox < hi; ++ox) row[oy * g.ow + ox] = src[ox * g.s + kx * g.d - g.p];
    }
  }
  return buf.data();
}

/** Σ a[q]·b[q], four running sums (a fixed order, and not one long dependency chain). */
inline double dot4(const double* a, const double* b, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t q = 0;
  for (; q + 4 <= n; q += 4) { s0 += a[q] * b[q]; s1 += a[q + 1] * b[q + 1]; s2 += a[q + 2] * b[q + 2]; s3 += a[q + 3] * b[q + 3]; }
  for (; q < n; ++q) s0 += a[q] * b[q];
  return (s0 + s1) + (s2 + s3);
}

/** dx_img += col2im(dcol). */
void col2imAdd(const ConvShape& g, const double* dcol, double* dx, int64_t img) {
  double* out = dx + img * g.cin * g.h * g.w;
  const int64_t P = g.oh * g.ow;
  if (g.k == 1 && g.s == 1) {
    for (int64_t j = 0; j < g.cin * P; ++j) out[j] += dcol[j];
    return;
  }
  for (int64_t ci = 0; ci < g.cin; ++ci)
    for (int64_t ky = 0; ky < g.k; ++ky)
      for (int64_t kx = 0; kx < g.k; ++kx) {
        const double* row = dcol + ((ci * g.k + ky) * g.k + kx) * P;
        int64_t lo, hi;
        validCols(g, kx * g.d, &lo, &hi);
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          const int64_t iy = oy * g.s - g.p + ky * g.d;
          if (iy < 0 || iy >= g.h) continue;
          double* dst = out + (ci * g.h + iy) * g.w;
          for (int64_t ox = lo; ox < hi; ++ox) dst[ox * g.s + kx * g.d - g.p] += row[oy * g.ow + ox];
        }
      }
}

/** Fixed blocks of im2col rows for the weight gradient (independent of the thread count: the sums' order is fixed). */
constexpr int64_t kWeightBlocks = 8;

/** y (+)= conv(x, W) (dense OIHW or depthwise [C][k][k]); parallel over (image, output channel). */
void convFwd(const ConvShape& g, const double* x, const double* W, double* y, ThreadPool& pool) {
  const int64_t kk = g.k * g.k;
  if (!g.dw) {  // y_img[co][p] += Σ_k W[co][k] col[k][p]
    const int64_t K = g.cin * kk, P = g.oh * g.ow;
    pool.parallelFor(g.n, [&](int64_t img, int, float*) {
      std::vector<double> buf;
      const double* col = im2col(g, x, img, buf);
      for (int64_t co = 0; co < g.cout; ++co) {
        double* o = y + (img * g.cout + co) * P;
        for (int64_t k = 0; k < K; ++k) {
          const double a = W[co * K + k];
          if (a == 0) continue;
          const double* b = col + k * P;
          for (int64_t q = 0; q < P; ++q) o[q] += a * b[q];
        }
      }
    });
    return;
  }
  pool.parallelFor(g.n * g.cout, [&](int64_t t, int, float*) {
    const int64_t n = t / g.cout, co = t % g.cout;
    double* out = y + (n * g.cout + co) * g.oh * g.ow;
    const int64_t c0 = g.dw ? co : 0, c1 = g.dw ? co + 1 : g.cin;
    for (int64_t ci = c0; ci < c1; ++ci) {
      const double* in = x + (n * g.cin + ci) * g.h * g.w;
      const double* wk = W + (g.dw ? co * kk : (co * g.cin + ci) * kk);
      for (int64_t ky = 0; ky < g.k; ++ky)
        for (int64_t kx = 0; kx < g.k; ++kx) {
          const double wv = wk[ky * g.k + kx];
          if (wv == 0) continue;
          int64_t lo, hi;
          validCols(g, kx * g.d, &lo, &hi);
          const int64_t off = kx * g.d - g.p;
          for (int64_t oy = 0; oy < g.oh; ++oy) {
            const int64_t iy = oy * g.s - g.p + ky * g.d;
            if (iy < 0 || iy >= g.h) continue;
            const double* row = in + iy * g.w;
            double* o = out + oy * g.ow;
            if (g.s == 1)
              for (int64_t ox = lo; ox < hi; ++ox) o[ox] += wv * row[ox + off];
            else
              for (int64_t ox = lo; ox < hi; ++ox) o[ox] += wv * row[ox * g.s + off];
          }
        }
    }
  });
}

/** dx (+)= convᵀ(gy, W); parallel over (image, input channel). */
void convBwdData(const ConvShape& g, const double* gy, const double* W, double* dx, ThreadPool& pool) {
  const int64_t kk = g.k * g.k;
  if (!g.dw) {  // dcol[k][p] = Σ_co W[co][k] gy_img[co][p], then col2im
    const int64_t K = g.cin * kk, P = g.oh * g.ow;
    pool.parallelFor(g.n, [&](int64_t img, int, float*) {
      std::vector<double> dcol(static_cast<size_t>(K * P), 0.0);
      for (int64_t co = 0; co < g.cout; ++co) {
        const double* gr = gy + (img * g.cout + co) * P;
        for (int64_t k = 0; k < K; ++k) {
          const double a = W[co * K + k];
          if (a == 0) continue;
          double* dc = dcol.data() + k * P;
          for (int64_t q = 0; q < P; ++q) dc[q] += a * gr[q];
        }
      }
      col2imAdd(g, dcol.data(), dx, img);
    });
    return;
  }
  pool.parallelFor(g.n * g.cin, [&](int64_t t, int, float*) {
    const int64_t n = t / g.cin, ci = t % g.cin;
    double* d = dx + (n * g.cin + ci) * g.h * g.w;
    const int64_t c0 = g.dw ? ci : 0, c1 = g.dw ? ci + 1 : g.cout;
    for (int64_t co = c0; co < c1; ++co) {
      const double* gr = gy + (n * g.cout + co) * g.oh * g.ow;
      const double* wk = W + (g.dw ? co * kk : (co * g.cin + ci) * kk);
      for (int64_t ky = 0; ky < g.k; ++ky)
        for (int64_t kx = 0; kx < g.k; ++kx) {
          const double wv = wk[ky * g.k + kx];
          if (wv == 0) continue;
          int64_t lo, hi;
          validCols(g, kx * g.d, &lo, &hi);
          const int64_t off = kx * g.d - g.p;
          for (int64_t oy = 0; oy < g.oh; ++oy) {
            const int64_t iy = oy * g.s - g.p + ky * g.d;
            if (iy < 0 || iy >= g.h) continue;
            double* row = d + iy * g.w;
            const double* o = gr + oy * g.ow;
            if (g.s == 1)
              for (int64_t ox = lo; ox < hi; ++ox) row[ox + off] += wv * o[ox];
            else
              for (int64_t ox = lo; ox < hi; ++ox) row[ox * g.s + off] += wv * o[ox];
          }
        }
    }
  });
}

/** dW (+)= Σ_n,oy,ox gy · x (window); parallel over output channels. */
void convBwdWeight(const ConvShape& g, const double* x, const double* gy, double* dW, ThreadPool& pool) {
  const int64_t kk = g.k * g.k;
  if (!g.dw) {  // dW[co][k] += Σ_img gy_img[co] · col_img[k], per fixed block of im2col rows k
    const int64_t K = g.cin * kk, P = g.oh * g.ow, blocks = std::min(K, kWeightBlocks);
    pool.parallelFor(blocks, [&](int64_t b, int, float*) {
      const int64_t k0 = K * b / blocks, k1 = K * (b + 1) / blocks;
      std::vector<double> buf;
      for (int64_t img = 0; img < g.n; ++img) {
        const double* col = im2col(g, x, img, buf, k0, k1);
        for (int64_t co = 0; co < g.cout; ++co) {
          const double* gr = gy + (img * g.cout + co) * P;
          double* dw = dW + co * K;
          for (int64_t k = k0; k < k1; ++k) dw[k] += dot4(gr, col + (k - k0) * P, P);
        }
      }
    });
    return;
  }
  pool.parallelFor(g.cout, [&](int64_t co, int, float*) {
    const int64_t c0 = g.dw ? co : 0, c1 = g.dw ? co + 1 : g.cin;
    for (int64_t ci = c0; ci < c1; ++ci) {
      double* wk = dW + (g.dw ? co * kk : (co * g.cin + ci) * kk);
      for (int64_t ky = 0; ky < g.k; ++ky)
        for (int64_t kx = 0; kx < g.k; ++kx) {
          double s = 0;
          int64_t lo, hi;
          validCols(g, kx * g.d, &lo, &hi);
          const int64_t off = kx * g.d - g.p;
          for (int64_t n = 0; n < g.n; ++n) {
            const double* in = x + (n * g.cin + ci) * g.h * g.w;
            const double* gr = gy + (n * g.cout + co) * g.oh * g.ow;
            for (int64_t oy = 0; oy < g.oh; ++oy) {
              const int64_t iy = oy * g.s - g.p + ky * g.d;
              if (iy < 0 || iy >= g.h) continue;
              const double* row = in + iy * g.w;
              const double* o = gr + oy * g.ow;
              if (g.s == 1)
                for (int64_t ox = lo; ox < hi; ++ox) s += o[ox] * row[ox + off];
              else
                for (int64_t ox = lo; ox < hi; ++ox) s += o[ox] * row[ox * g.s + off];
            }
          }
          wk[ky * g.k + kx] += s;
        }
    }
  });
}

double sigm(double v) { return 1 / (1 + std::exp(-v)); }

double fwdAct(OpCode op, double v) {
  switch (op) {
    case OpCode::Relu: return v > 0 ? v : 0;
    case OpCode::Sigmoid: return sigm(v);
    case OpCode::Swish: return v * sigm(v);
    case OpCode::Hswish: return v * std::min(std::max(v + 3, 0.0), 6.0) / 6;
    case OpCode::Hsigmoid: return std::min(std::max(v + 3, 0.0), 6.0) / 6;
    case OpCode::Identity: return v;
    default: return 0;  // Zero
  }
}

/** f' as PyTorch differentiates (ReLU' (0) = 0; hswish' = x/3 + ½ on (−3, 3)). */
double d1Act(OpCode op, double v) {
  switch (op) {
    case OpCode::Relu: return v > 0 ? 1 : 0;
    case OpCode::Sigmoid: { const double s = sigm(v); return s * (1 - s); }
    case OpCode::Swish: { const double s = sigm(v); return s + v * s * (1 - s); }
    case OpCode::Hswish: return v <= -3 ? 0 : v < 3 ? v / 3 + 0.5 : 1;
    case OpCode::Hsigmoid: return v > -3 && v < 3 ? 1.0 / 6 : 0;
    case OpCode::Identity: return 1;
    default: return 0;
  }
}

double d2Act(OpCode op, double v) {
  switch (op) {
    case OpCode::Sigmoid: { const double s = sigm(v); return s * (1 - s) * (1 - 2 * s); }
    case OpCode::Swish: { const double s = sigm(v); return s * (1 - s) * (2 + v * (1 - 2 * s)); }
    case OpCode::Hswish: return v > -3 && v < 3 ? 1.0 / 3 : 0;
    default: return 0;
  }
}

bool isAct(OpCode op) {
  return op == OpCode::Relu || op == OpCode::Sigmoid || op == OpCode::Swish || op == OpCode::Hswish || op == OpCode::Hsigmoid || op == OpCode::Identity ||
         op == OpCode::Zero;
}

/** Per BN op: s = √(σ² + ε) and (after the R-forward) R s per channel. x̂ and R x̂ are the BN's output value and its R (γ = 1, β = 0). */
struct BnState {
  Vec sd, rsd;
};

struct Pool2d {
  int64_t k, s, p;
};

class Grasp {
 public:
  Grasp(const Descriptor& d, int64_t n, double eps, ThreadPool& pool) : d_(d), n_(n), eps_(eps), pool_(pool) {}

  const Descriptor& d_;
  int64_t n_;
  double eps_;
  ThreadPool& pool_;
  std::vector<Vec> val, rval, grad, rgrad, W, gW, hg;
  std::vector<Vec> bias;  // LINEAR biases
  std::vector<BnState> bn;
  std::vector<std::vector<int64_t>> argmax;  // max pool: input index of every output

  Dims dims(int32_t v) const {
    const Shape s = d_.valueShape[static_cast<size_t>(v)];
    return {n_, s.c, s.h, s.w};
  }
  Vec zeros(int32_t v) const { return Vec(static_cast<size_t>(dims(v).size()), 0.0); }

  /** Values (R = false) or their R (R = true, direction gW on the weight layers). */
  void forward(bool R) {
    std::vector<Vec>& out = R ? rval : val;
    if (!R) bn.assign(d_.ops.size(), {});
    if (!R) argmax.assign(d_.ops.size(), {});
    for (size_t i = 0; i < d_.ops.size(); ++i) {
      const OpDesc& o = d_.ops[i];
      const int32_t in = o.inputs[0];
      const Vec& x = val[static_cast<size_t>(in)];
      const Vec& xs = out[static_cast<size_t>(in)];  // x itself, or R x
      Vec y = zeros(o.value);
      switch (o.op) {
        case OpCode::Conv: case OpCode::DwConv: case OpCode::Linear: {
          const ConvShape g = convShape(o, n_);
          convFwd(g, xs.data(), W[i].data(), y.data(), pool_);
          if (R) convFwd(g, x.data(), gW[i].data(), y.data(), pool_);
          else if (!bias[i].empty())
            for (int64_t n = 0; n < n_; ++n)
              for (int64_t c = 0; c < o.cout; ++c) y[static_cast<size_t>(n * o.cout + c)] += bias[i][static_cast<size_t>(c)];
          break;
        }
        case OpCode::BN: R ? bnRForward(i, x, xs, y) : bnForward(i, x, y); break;
        case OpCode::MaxPool: {
          if (!R) maxPoolForward(i, o, x, y);
          else for (size_t j = 0; j < y.size(); ++j) y[j] = xs[static_cast<size_t>(argmax[i][j])];
          break;
        }
        case OpCode::AvgPool: avgPool(o, xs.data(), y.data(), false); break;
        case OpCode::Gap: {
          const int64_t hw = o.in.plane();
          for (int64_t t = 0; t < n_ * o.in.c; ++t) {
            double s = 0;
            for (int64_t j = 0; j < hw; ++j) s += xs[static_cast<size_t>(t * hw + j)];
            y[static_cast<size_t>(t)] = s / static_cast<double>(hw);
          }
          break;
        }
        case OpCode::Mul: {
          const Vec& gate = val[static_cast<size_t>(o.inputs[1])];
          const Vec& rgate = R ? rval[static_cast<size_t>(o.inputs[1])] : gate;
          const int64_t hw = o.in.plane();
          for (int64_t t = 0; t < n_ * o.in.c; ++t)
            for (int64_t j = 0; j < hw; ++j) {
              const size_t e = static_cast<size_t>(t * hw + j);
              y[e] = R ? xs[e] * gate[static_cast<size_t>(t)] + x[e] * rgate[static_cast<size_t>(t)] : x[e] * gate[static_cast<size_t>(t)];
            }
          break;
        }
        case OpCode::Add:
          for (int32_t v : o.inputs) {
            const Vec& a = out[static_cast<size_t>(v)];
            for (size_t j = 0; j < y.size(); ++j) y[j] += a[j];
          }
          break;
        case OpCode::Crop: {  // linear: the same copy for values and their R (fill: zeros past the input)
          const int64_t o2 = o.offset, H = o.in.h, Wd = o.in.w, oh = o.out.h, ow = o.out.w;
          for (int64_t t = 0; t < n_ * o.in.c; ++t)
            for (int64_t a = 0; a < oh; ++a)
              for (int64_t b = 0; b < ow; ++b)
                if (a + o2 < H && b + o2 < Wd) y[static_cast<size_t>((t * oh + a) * ow + b)] = xs[static_cast<size_t>((t * H + a + o2) * Wd + b + o2)];
          break;
        }
        case OpCode::Concat: {  // linear: the same copy for values and their R
          const int64_t hw = o.out.plane();
          int64_t off = 0;
          for (size_t k = 0; k < o.inputs.size(); ++k) {
            const Vec& a = out[static_cast<size_t>(o.inputs[k])];
            const int64_t ck = o.inputChannels[k];
            for (int64_t n = 0; n < n_; ++n)
              std::copy(a.begin() + n * ck * hw, a.begin() + (n + 1) * ck * hw, y.begin() + (n * o.cout + off) * hw);
            off += ck;
          }
          break;
        }
        default:
          if (!isAct(o.op)) fail("E_INTERNAL", std::string("grasp: no R-operator for op ") + opName(o.op));
          for (size_t j = 0; j < y.size(); ++j) y[j] = R ? d1Act(o.op, x[j]) * xs[j] : fwdAct(o.op, x[j]);
      }
      if (out.size() <= static_cast<size_t>(o.value)) out.resize(static_cast<size_t>(o.value) + 1);
      out[static_cast<size_t>(o.value)] = std::move(y);
    }
  }

  void bnForward(size_t i, const Vec& x, Vec& y) {
    const OpDesc& o = d_.ops[i];
    const int64_t C = o.in.c, hw = o.in.plane(), m = n_ * hw;
    BnState& b = bn[i];
    b.sd.assign(static_cast<size_t>(C), 0);
    pool_.parallelFor(C, [&](int64_t c, int, float*) {
      double mu = 0;
      for (int64_t n = 0; n < n_; ++n)
        for (int64_t j = 0; j < hw; ++j) mu += x[static_cast<size_t>((n * C + c) * hw + j)];
      mu /= static_cast<double>(m);
      double v = 0;
      for (int64_t n = 0; n < n_; ++n)
        for (int64_t j = 0; j < hw; ++j) { const double e = x[static_cast<size_t>((n * C + c) * hw + j)] - mu; v += e * e; }
      const double s = std::sqrt(v / static_cast<double>(m) + eps_);
      b.sd[static_cast<size_t>(c)] = s;
      for (int64_t n = 0; n < n_; ++n)
        for (int64_t j = 0; j < hw; ++j) {
          const size_t e = static_cast<size_t>((n * C + c) * hw + j);
          y[e] = (x[e] - mu) / s;  // x̂: γ = 1, β = 0 (the only BN state the engine draws)
        }
    });
  }

  // R s = mean((x − μ) R x)/s = mean(x̂ R x); R x̂ = (R x − mean R x − x̂ R s)/s; R y = R x̂ (γ = 1, R γ = R β = 0).
  void bnRForward(size_t i, const Vec&, const Vec& rx, Vec& ry) {
    const OpDesc& o = d_.ops[i];
    const int64_t C = o.in.c, hw = o.in.plane();
    const double m = static_cast<double>(n_ * hw);
    BnState& b = bn[i];
    const Vec& xhat = val[static_cast<size_t>(o.value)];
    b.rsd.assign(static_cast<size_t>(C), 0);
    pool_.parallelFor(C, [&](int64_t c, int, float*) {
      double rmu = 0, rs = 0;
      for (int64_t n = 0; n < n_; ++n)
        for (int64_t j = 0; j < hw; ++j) { const size_t e = static_cast<size_t>((n * C + c) * hw + j); rmu += rx[e]; rs += xhat[e] * rx[e]; }
      rmu /= m;
      rs /= m;
      const double s = b.sd[static_cast<size_t>(c)];
      b.rsd[static_cast<size_t>(c)] = rs;
      for (int64_t n = 0; n < n_; ++n)
        for (int64_t j = 0; j < hw; ++j) {
          const size_t e = static_cast<size_t>((n * C + c) * hw + j);
          ry[e] = (rx[e] - rmu - xhat[e] * rs) / s;  // R x̂
        }
    });
  }

  void maxPoolForward(size_t i, const OpDesc& o, const Vec& x, Vec& y) {
    const int64_t k = o.kernel, s = o.stride, p = o.pad, H = o.in.h, Wd = o.in.w, oh = o.out.h, ow = o.out.w;
    argmax[i].assign(y.size(), 0);
    for (int64_t t = 0; t < n_ * o.in.c; ++t)
      for (int64_t a = 0; a < oh; ++a)
        for (int64_t b = 0; b < ow; ++b) {
          int64_t best = -1;
          double mx = -std::numeric_limits<double>::infinity();
          for (int64_t ky = 0; ky < k; ++ky) {
            const int64_t iy = a * s - p + ky;
            if (iy < 0 || iy >= H) continue;
            for (int64_t kx = 0; kx < k; ++kx) {
              const int64_t ix = b * s - p + kx;
              if (ix < 0 || ix >= Wd) continue;
              const int64_t j = (t * H + iy) * Wd + ix;
              if (best < 0 || x[static_cast<size_t>(j)] > mx) { best = j; mx = x[static_cast<size_t>(j)]; }
            }
          }
          const size_t e = static_cast<size_t>((t * oh + a) * ow + b);
          argmax[i][e] = best;
          y[e] = mx;
        }
  }

  /** Average pool forward (x → y) or its transpose (backward: y is ∂out, x receives +=). */
  void avgPool(const OpDesc& o, const double* x, double* y, bool transpose) {
    const int64_t k = o.kernel, s = o.stride, p = o.pad, H = o.in.h, Wd = o.in.w, oh = o.out.h, ow = o.out.w;
    double* dx = const_cast<double*>(x);
    for (int64_t t = 0; t < n_ * o.in.c; ++t)
      for (int64_t a = 0; a < oh; ++a)
        for (int64_t b = 0; b < ow; ++b) {
          int64_t rows = 0, cols = 0;
          for (int64_t q = 0; q < k; ++q) {
            const int64_t iy = a * s - p + q, ix = b * s - p + q;
            if (iy >= 0 && iy < H) rows++;
            if (ix >= 0 && ix < Wd) cols++;
          }
          const double div = o.countIncludePad ? static_cast<double>(k * k) : static_cast<double>(rows * cols);
          const size_t e = static_cast<size_t>((t * oh + a) * ow + b);
          double acc = 0;
          for (int64_t ky = 0; ky < k; ++ky) {
            const int64_t iy = a * s - p + ky;
            if (iy < 0 || iy >= H) continue;
            for (int64_t kx = 0; kx < k; ++kx) {
              const int64_t ix = b * s - p + kx;
              if (ix < 0 || ix >= Wd) continue;
              const size_t j = static_cast<size_t>((t * H + iy) * Wd + ix);
              if (transpose) dx[j] += y[e] / div;
              else acc += x[j];
            }
          }
          if (!transpose) y[e] = acc / div;
        }
  }

  /**
   * The reverse pass (R = false: ∂L/∂value and ∂L/∂W into grad / gW) or its R (R = true: R ∂L/∂value
   * into rgrad, Hg into hg), from the seeds already in grad / rgrad of outputs[0].
   */
  void backward(bool R) {
    std::vector<Vec>& G = R ? rgrad : grad;
    for (size_t i = d_.ops.size(); i-- > 0;) {
      const OpDesc& o = d_.ops[i];
      const size_t out = static_cast<size_t>(o.value);
      if (G[out].empty()) continue;  // no gradient reaches this op
      const Vec& gy = grad[out];
      const Vec& gs = G[out];  // gy, or R gy
      const size_t in = static_cast<size_t>(o.inputs[0]);
      const Vec& x = val[in];
      auto into = [&](size_t v) -> Vec& {
        if (G[v].empty()) G[v] = zeros(static_cast<int32_t>(v));
        return G[v];
      };
      switch (o.op) {
        case OpCode::Conv: case OpCode::DwConv: case OpCode::Linear: {
          const ConvShape g = convShape(o, n_);
          Vec& dx = into(in);
          Vec& dW = R ? hg[i] : gW[i];
          dW.assign(W[i].size(), 0);
          convBwdData(g, gs.data(), W[i].data(), dx.data(), pool_);
          convBwdWeight(g, x.data(), gs.data(), dW.data(), pool_);
          if (R) {
            convBwdData(g, gy.data(), gW[i].data(), dx.data(), pool_);
            convBwdWeight(g, rval[in].data(), gy.data(), dW.data(), pool_);
          }
          break;
        }
        case OpCode::BN: R ? bnRBackward(i, gy, gs, into(in)) : bnBackward(i, gy, into(in)); break;
        case OpCode::MaxPool: {
          Vec& dx = into(in);
          for (size_t j = 0; j < gs.size(); ++j) dx[static_cast<size_t>(argmax[i][j])] += gs[j];
          break;
        }
        case OpCode::AvgPool: avgPool(o, into(in).data(), const_cast<double*>(gs.data()), true); break;
        case OpCode::Gap: {
          Vec& dx = into(in);
          const int64_t hw = o.in.plane();
          for (int64_t t = 0; t < n_ * o.in.c; ++t)
            for (int64_t j = 0; j < hw; ++j) dx[static_cast<size_t>(t * hw + j)] += gs[static_cast<size_t>(t)] / static_cast<double>(hw);
          break;
        }
        case OpCode::Mul: {
          const size_t gv = static_cast<size_t>(o.inputs[1]);
          const Vec& gate = val[gv];
          Vec& dx = into(in);
          Vec& dg = into(gv);
          const int64_t hw = o.in.plane();
          for (int64_t t = 0; t < n_ * o.in.c; ++t) {
            double s = 0;
            for (int64_t j = 0; j < hw; ++j) {
              const size_t e = static_cast<size_t>(t * hw + j);
              dx[e] += gs[e] * gate[static_cast<size_t>(t)] + (R ? gy[e] * rval[gv][static_cast<size_t>(t)] : 0);
              s += gs[e] * x[e] + (R ? gy[e] * rval[in][e] : 0);
            }
            dg[static_cast<size_t>(t)] += s;
          }
          break;
        }
        case OpCode::Add:
          for (int32_t v : o.inputs) {
            Vec& dx = into(static_cast<size_t>(v));
            for (size_t j = 0; j < gs.size(); ++j) dx[j] += gs[j];
          }
          break;
        case OpCode::Crop: {
          Vec& dx = into(in);
          const int64_t o2 = o.offset, H = o.in.h, Wd = o.in.w, oh = o.out.h, ow = o.out.w;
          for (int64_t t = 0; t < n_ * o.in.c; ++t)
            for (int64_t a = 0; a < oh; ++a)
              for (int64_t b = 0; b < ow; ++b)
                if (a + o2 < H && b + o2 < Wd) dx[static_cast<size_t>((t * H + a + o2) * Wd + b + o2)] += gs[static_cast<size_t>((t * oh + a) * ow + b)];
          break;
        }
        case OpCode::Concat: {
          const int64_t hw = o.out.plane();
          int64_t off = 0;
          for (size_t k = 0; k < o.inputs.size(); ++k) {
            Vec& dx = into(static_cast<size_t>(o.inputs[k]));
            const int64_t ck = o.inputChannels[k];
            for (int64_t n = 0; n < n_; ++n)
              for (int64_t j = 0; j < ck * hw; ++j) dx[static_cast<size_t>(n * ck * hw + j)] += gs[static_cast<size_t>((n * o.cout + off) * hw + j)];
            off += ck;
          }
          break;
        }
        default: {  // elementwise: dx = f'(x) gy; R dx = f'(x) R gy + f''(x) R x gy
          Vec& dx = into(in);
          for (size_t j = 0; j < gs.size(); ++j) dx[j] += d1Act(o.op, x[j]) * gs[j] + (R ? d2Act(o.op, x[j]) * rval[in][j] * gy[j] : 0);
        }
      }
      if (R) { Vec().swap(G[out]); }  // R gradients are not needed once their producer ran
    }
  }

  // dx = (1/s)(gy − mean gy − x̂ mean(x̂ gy))  (γ = 1)
  void bnBackward(size_t i, const Vec& gy, Vec& dx) {
    const OpDesc& o = d_.ops[i];
    const int64_t C = o.in.c, hw = o.in.plane();
    const double m = static_cast<double>(n_ * hw);
    const BnState& b = bn[i];
    const Vec& xhat = val[static_cast<size_t>(o.value)];
    pool_.parallelFor(C, [&](int64_t c, int, float*) {
      double mg = 0, mxg = 0;
      for (int64_t n = 0; n < n_; ++n)
        for (int64_t j = 0; j < hw; ++j) { const size_t e = static_cast<size_t>((n * C + c) * hw + j); mg += gy[e]; mxg += xhat[e] * gy[e]; }
      mg /= m;
      mxg /= m;
      const double s = b.sd[static_cast<size_t>(c)];
      for (int64_t n = 0; n < n_; ++n)
        for (int64_t j = 0; j < hw; ++j) { const size_t e = static_cast<size_t>((n * C + c) * hw + j); dx[e] += (gy[e] - mg - xhat[e] * mxg) / s; }
    });
  }

  // R dx = −(R s/s²)·a + R a/s, a = gy − mean gy − x̂ mean(x̂ gy),
  // R a = R gy − mean R gy − R x̂ mean(x̂ gy) − x̂ mean(R x̂ gy + x̂ R gy)  (γ = 1, R γ = 0)
  void bnRBackward(size_t i, const Vec& gy, const Vec& rgy, Vec& rdx) {
    const OpDesc& o = d_.ops[i];
    const int64_t C = o.in.c, hw = o.in.plane();
    const double m = static_cast<double>(n_ * hw);
    const BnState& b = bn[i];
    const Vec& xhat = val[static_cast<size_t>(o.value)];
    const Vec& rxhat = rval[static_cast<size_t>(o.value)];
    pool_.parallelFor(C, [&](int64_t c, int, float*) {
      double mg = 0, mxg = 0, mrg = 0, mrxg = 0;
      for (int64_t n = 0; n < n_; ++n)
        for (int64_t j = 0; j < hw; ++j) {
          const size_t e = static_cast<size_t>((n * C + c) * hw + j);
          mg += gy[e]; mxg += xhat[e] * gy[e]; mrg += rgy[e]; mrxg += rxhat[e] * gy[e] + xhat[e] * rgy[e];
        }
      mg /= m; mxg /= m; mrg /= m; mrxg /= m;
      const double s = b.sd[static_cast<size_t>(c)], rs = b.rsd[static_cast<size_t>(c)];
      for (int64_t n = 0; n < n_; ++n)
        for (int64_t j = 0; j < hw; ++j) {
          const size_t e = static_cast<size_t>((n * C + c) * hw + j);
          const double a = gy[e] - mg - xhat[e] * mxg;
          const double ra = rgy[e] - mrg - rxhat[e] * mxg - xhat[e] * mrxg;
          rdx[e] += -(rs / (s * s)) * a + ra / s;
        }
    });
  }
};

/**
 * E_OUT_OF_MEMORY before anything is allocated when the float64 buffers (values, their R and the
 * gradients: ≈ 3.5 copies of every activation, 28 bytes per activation value; ZenNet-1M at batch 64:
 * 9.6 GiB) would pass half the physical memory or 80 % of the available memory: they are outside the
 * engine's plan budget, and an OOM kill would take the whole process.
 */
void checkMemory(const Descriptor& d, int64_t B) {
  double elems = 0;
  for (const Shape& s : d.valueShape) elems += static_cast<double>(s.size());
  const double bytes = 8.0 * static_cast<double>(B) * elems * 3.5;
  auto gib = [](double b) { return std::to_string(std::round(b / (1 << 30) * 10) / 10).substr(0, 5) + " GiB"; };
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const double phys = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * page;
  const double avail = availableBytes(phys);
  if (phys > 0 && (bytes > 0.5 * phys || bytes > 0.8 * avail))
    fail("E_OUT_OF_MEMORY", "grasp (hvpPrecision 'float64'): its float64 R-operator buffers would take " + gib(bytes) + " (28 bytes × batch × activations), over half the " + gib(phys) +
                                " of memory or 80 % of the " + gib(avail) + " available; use a smaller batchSize or resolution");
#else
  (void)bytes;
  (void)gib;
#endif
}

void run(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out) {  // hvpPrecision 'float64'
  const char* name = "grasp";
  checkDataLengths(x, r, r.batch, name);
  checkTrainBn(x, name, "use batchSize ≥ 2");
  const Init init = resolveInit(r, Init::Torch);
  const Descriptor& d = x.descriptor();
  const int32_t zv = d.outputs[0];
  const Shape zs = d.valueShape[static_cast<size_t>(zv)];
  if (zs.h != 1 || zs.w != 1)
    fail("E_STRUCTURE", std::string(name) + " needs logits [classes][1][1] as the first output (a classifier head), got [" + std::to_string(zs.c) + "][" +
                            std::to_string(zs.h) + "][" + std::to_string(zs.w) + "]");
  const int64_t B = r.batch, K = zs.c;
  checkMemory(d, B);
  ZeroBiasesOnExit restore{x};
  std::vector<double> loss;
  std::vector<float> buf;
  for (uint32_t repeat = r.firstRepeat; repeat < r.firstRepeat + r.repeats; ++repeat) {
    checkCancelled(r);
    initParams(x, init, r.seed, repeat, pool);
    fillImages(x, r, repeat, 0, B, pool);
    Grasp g(d, B, r.bnEps, pool);
    const size_t nOps = d.ops.size(), nVals = nOps + 1;
    g.W.assign(nOps, {});
    g.bias.assign(nOps, {});
    g.gW.assign(nOps, {});
    g.hg.assign(nOps, {});
    for (size_t i = 0; i < nOps; ++i) {
      if (!isWeightLayer(d.ops[i].op)) continue;
      buf.resize(static_cast<size_t>(x.paramSize(i)));
      x.readParams(i, buf.data());
      const int64_t nw = d.ops[i].weights;
      g.W[i].assign(buf.begin(), buf.begin() + nw);
      if (x.paramSize(i) > nw) g.bias[i].assign(buf.begin() + nw, buf.end());
    }
    // The images: the plan's value 0 ([C][N][H][W], padded channel stride) → NCHW float64.
    g.val.assign(nVals, {});
    {
      const Shape s = d.valueShape[0];
      const int64_t cs = x.channelStride(0), hw = s.plane();
      const float* src = x.value(0);
      Vec in(static_cast<size_t>(B * s.c * hw));
      for (int64_t c = 0; c < s.c; ++c)
        for (int64_t n = 0; n < B; ++n)
          for (int64_t j = 0; j < hw; ++j) in[static_cast<size_t>((n * s.c + c) * hw + j)] = src[c * cs + n * hw + j];
      g.val[0] = std::move(in);
    }
    g.forward(false);
    // Cross-entropy (mean over the images): seed (p − onehot)/B; keep p for the R seed.
    const Vec& z = g.val[static_cast<size_t>(zv)];
    Vec p(z.size());
    double L = 0;
    g.grad.assign(nVals, {});
    g.grad[static_cast<size_t>(zv)] = Vec(z.size(), 0.0);
    for (int64_t n = 0; n < B; ++n) {
      const int32_t label = requestLabel(r, repeat, n, static_cast<int32_t>(K));
      double mx = -INFINITY, sum = 0;
      for (int64_t k = 0; k < K; ++k) mx = std::max(mx, z[static_cast<size_t>(n * K + k)]);
      for (int64_t k = 0; k < K; ++k) sum += std::exp(z[static_cast<size_t>(n * K + k)] - mx);
      L += mx + std::log(sum) - z[static_cast<size_t>(n * K + label)];
      for (int64_t k = 0; k < K; ++k) {
        const size_t e = static_cast<size_t>(n * K + k);
        p[e] = std::exp(z[e] - mx) / sum;
        g.grad[static_cast<size_t>(zv)][e] = (p[e] - (k == label ? 1.0 : 0.0)) / static_cast<double>(B);
      }
    }
    loss.push_back(L / static_cast<double>(B));
    g.backward(false);
    checkCancelled(r);
    for (size_t i = 0; i < nOps; ++i)
      if (isWeightLayer(d.ops[i].op) && g.gW[i].empty()) g.gW[i].assign(g.W[i].size(), 0.0);  // no gradient reaches it
    g.rval.assign(nVals, {});
    g.rval[0] = Vec(g.val[0].size(), 0.0);  // the images do not depend on W
    g.forward(true);
    // R of the seed: (p ⊙ R z − p (p · R z))/B per image.
    const Vec& rz = g.rval[static_cast<size_t>(zv)];
    g.rgrad.assign(nVals, {});
    Vec rs(z.size(), 0.0);
    for (int64_t n = 0; n < B; ++n) {
      double pr = 0;
      for (int64_t k = 0; k < K; ++k) pr += p[static_cast<size_t>(n * K + k)] * rz[static_cast<size_t>(n * K + k)];
      for (int64_t k = 0; k < K; ++k) {
        const size_t e = static_cast<size_t>(n * K + k);
        rs[e] = p[e] * (rz[e] - pr) / static_cast<double>(B);
      }
    }
    g.rgrad[static_cast<size_t>(zv)] = std::move(rs);
    g.backward(true);
    double score = 0;
    for (size_t i = 0; i < nOps; ++i) {
      if (!isWeightLayer(d.ops[i].op) || g.hg[i].empty()) continue;
      for (size_t j = 0; j < g.W[i].size(); ++j) score -= g.W[i][j] * g.hg[i][j];
    }
    out.scores.push_back(score);
  }
  out.series.emplace_back("loss", std::move(loss));
}

}  // namespace grasp64
}  // namespace cpu
}  // namespace zennas
