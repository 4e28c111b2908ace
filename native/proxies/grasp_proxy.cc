// `grasp` (zero-cost-nas foresight/pruners/measures/grasp.py, T = 1, one iteration): PyTorch-default
// init, the network as trained, CE on labels (mean over the batch), training-mode BN; g = ∂L/∂W over
// the CONV / DWCONV / LINEAR weights, score = Σ −W ⊙ (H g), H the Hessian of L over those weights.
//
// The official code gets Hg by a float32 double backward; here it is Pearlmutter's R-operator
// (forward-over-reverse, the same number): R{·} = d/dε (·)(θ + εV) pushed through the forward pass
// (R of every value) and the reverse pass (R of every gradient); R ∂L/∂θ = HV exactly. H is
// symmetric, so the score −Wᵀ(Hg) is computed as −gᵀ(HW): with V = W a conv's R-forward is one
// conv (R y = y − b + W ∗ R x) and the Wᵀ-products of the R-backward fold into the plan's own
// backward of R gy + gy. All of it runs in float32 on the plan's layout and kernels (sums in
// float64, as the executor's): one training-mode forward + backward (g, ∂L/∂value), the R-forward
// here, then the R-backward as the executor's reverse pass op by op (backwardOp) plus, after each
// op, its second-order terms (conv: the weight correlation R x ⋆ gy; BN: its batch statistics'
// second derivative; MUL, swish, sigmoid, hswish). src/reference/hvp.ts is the same algebra in
// float64. Extra memory beside the backward plan: R of every value and ∂L/∂value of the ops with
// second-order terms (≤ 2 float32 copies of the activations, ≈ 8 bytes × batch × activation
// values; refused up front past half the memory or 80 % of the available memory). Independent of the
// thread count (fixed task splits). Series `loss`.
//
// Precision: float32 like the official code, and as fragile: the score is a sum of terms of both
// signs. On small nets it is within 1e-4 of float64 (SE: 1e-3); on ZenNet-1M at batch 8 float32
// loses it (this pass 1.3 % and 7× off float64 on two repeats, PyTorch's float32 double backward
// 43 % and 14×; ZenNet-2M at batch 16: float64 −1.79e5, this pass +1.30e5, PyTorch float32
// −7.45e5). hvpPrecision 'float64' runs the exact R-operator on its own float64 buffers
// (grasp_float64.inl; 28 bytes × batch × activation values, several times slower).
//
// (A first version estimated −gᵀHW by a finite difference of float32 gradients along W; on the
// Space-I CIFAR initial net at batch 64 it was 13 % off at h = 1/16 and lost to rounding below.)
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "../cpu/ops/op.h"
#include "grasp_float64.inl"
#include "zero_shot.h"

namespace zennas {
namespace cpu {

namespace {

// Task splits of the executor (executor.cc), so that the pool's scratch fits the same kernels.
constexpr int64_t kElemTask = int64_t(1) << 15;  // elements per element-wise task (min)
constexpr int64_t kDotRows = 64;                  // weight gradient (dot form): output channels per task
constexpr int64_t kBwdRowsM = 8 * kMR;            // weight gradient (GEMM form): rows, columns of dW per task
constexpr int64_t kBwdColsK = 4 * kNR;

// float64: its own buffers, the plan only draws the weights and images (no backward buffers).
ExecutorConfig config(const ProxyRequest& r) { return {int64_t(r.batch), 1, r.resolution, r.hvpPrecision != "float64"}; }

int64_t roundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
bool isGemm(OpCode op) { return op == OpCode::Conv || op == OpCode::Linear; }
/** One-input element-wise ops: R y = f'(x) R x, which is their backward with dy = R x. */
bool isElementwise(OpCode op) {
  return op == OpCode::Relu || op == OpCode::Sigmoid || op == OpCode::Swish || op == OpCode::Hswish || op == OpCode::Hsigmoid || op == OpCode::Identity ||
         op == OpCode::Zero;
}
/** Linear parameter-free ops: R y = the op on the R of its inputs. */
bool isLinearOp(OpCode op) { return op == OpCode::AvgPool || op == OpCode::Gap || op == OpCode::Add || op == OpCode::Concat || op == OpCode::Crop; }

double sigm(double v) { return 1 / (1 + std::exp(-v)); }

/** f'' as PyTorch differentiates f' (hswish' = x/3 + ½ on (−3, 3): 1/3 there); 0 for the piecewise-linear ops. */
double d2Act(OpCode op, double v) {
  switch (op) {
    case OpCode::Sigmoid: { const double s = sigm(v); return s * (1 - s) * (1 - 2 * s); }
    case OpCode::Swish: { const double s = sigm(v); return s * (1 - s) * (2 + v * (1 - 2 * s)); }
    case OpCode::Hswish: return v > -3 && v < 3 ? 1.0 / 3 : 0;
    default: return 0;
  }
}

/** The ops whose R-backward has a second-order term reading ∂L/∂(their output). */
bool needsOutputGrad(OpCode op) {
  return op == OpCode::Conv || op == OpCode::Linear || op == OpCode::DwConv || op == OpCode::BN || op == OpCode::Mul || op == OpCode::Sigmoid ||
         op == OpCode::Swish || op == OpCode::Hswish;
}

/** Dot form for the k×k weight gradient (executor.cc's rule: small channel counts or large maps). */
bool useDot(const ConvGeom& g) { return g.oh * g.ow >= 2500 || g.cout < 64; }

/** Float32 R-operator on one backward plan (see the file comment). Buffers are allocated once per call. */
class Tangent {
 public:
  Tangent(Executor& x, ThreadPool& pool, double bnEps) : x_(x), d_(x.descriptor()), pool_(pool), k_(selectKernels()), eps_(bnEps), n_(x.config().images) {
    const size_t nOps = d_.ops.size(), nVals = d_.valueShape.size();
    plan_.resize(nOps);
    bnOf_.assign(nOps, -1);
    for (int b = 0; b < x_.numBN(); ++b) bnOf_[static_cast<size_t>(x_.bnOpIndex(b))] = b;
    R_.resize(nVals);
    gy_.resize(nVals);
    W_.resize(nOps);
    Wp_.resize(nOps);
    g_.resize(nOps);
    rs_.resize(nOps);
    int64_t maxVal = 1, maxW = 1;
    for (size_t v = 0; v < nVals; ++v) {
      AlignedBuffer& b = R_[v];
      b.resize(static_cast<size_t>(floats(static_cast<int32_t>(v))));
      std::memset(b.data(), 0, sizeof(float) * b.size());  // value 0 (the images) has R = 0
      maxVal = std::max(maxVal, floats(static_cast<int32_t>(v)));
    }
    for (size_t i = 0; i < nOps; ++i) {
      const OpDesc& o = d_.ops[i];
      OpPlan& p = plan_[i];
      ConvGeom& g = p.g;  // as executor.cc builds it
      g.cin = o.cin; g.cout = o.cout; g.n = n_;
      g.h = o.in.h; g.w = o.in.w; g.oh = o.out.h; g.ow = o.out.w;
      g.inStride = x_.channelStride(o.inputs[0]);
      g.outStride = x_.channelStride(o.value);
      g.k = o.kernel > 0 ? o.kernel : 1;
      g.stride = o.stride > 0 ? o.stride : 1;
      g.pad = o.pad;  // d·(k−1)/2, or AVGPOOL's pad attribute
      g.dil = o.dilation;
      if (o.op == OpCode::Linear) { g.k = 1; g.stride = 1; g.pad = 0; }
      const int64_t row = n_ * std::max(o.out.plane(), o.in.plane());
      p.perTask = std::max<int64_t>(1, kElemTask / std::max<int64_t>(1, row));
      const int64_t cols = g.cols();
      p.colsPerTask = std::min<int64_t>(kMaxChunkCols, std::max<int64_t>(kNR, roundUp((cols + 7) / 8, kNR)));
      for (int32_t v : o.inputs) {
        p.xIn.push_back(x_.value(v));
        p.rIn.push_back(R_[static_cast<size_t>(v)].data());
        p.strides.push_back(x_.channelStride(v));
      }
      if (o.op != OpCode::Conv && o.op != OpCode::Linear && o.op != OpCode::DwConv && o.op != OpCode::BN && o.op != OpCode::MaxPool && o.op != OpCode::Mul) {
        p.impl = findCpuOp(o.op);
        if (!p.impl || !(isElementwise(o.op) || isLinearOp(o.op))) fail("E_INTERNAL", std::string("grasp: no R-operator for op ") + opName(o.op));
      }
      if (needsOutputGrad(o.op) && x_.needsGrad(o.value)) gy_[static_cast<size_t>(o.value)].resize(static_cast<size_t>(floats(o.value)));
      if (isWeightLayer(o.op)) {
        const int64_t nw = o.weights;
        maxW = std::max(maxW, nw);
        W_[i].resize(static_cast<size_t>(x_.paramSize(i)));
        g_[i].resize(static_cast<size_t>(nw));
        if (isGemm(o.op)) {
          const int64_t K = nw / o.cout;
          Wp_[i].assign(static_cast<size_t>(packedASize(o.cout, K)), 0.f);  // padding rows stay 0
        }
      }
      if (o.op == OpCode::BN) rs_[i].resize(static_cast<size_t>(o.cin));
      if (isGemm(o.op) && g.k == 1 && g.stride > 1) maxVal = std::max(maxVal, g.cin * subStride(o.out.plane()));  // the sampled pixels
    }
    tmp_.resize(static_cast<size_t>(maxVal));
    dw_.resize(static_cast<size_t>(maxW));
  }

  /** Extra bytes the R-operator allocates beside the plan (checked before construction). */
  static double estimateBytes(const Executor& x) {
    const Descriptor& d = x.descriptor();
    auto fl = [&](int32_t v) { return static_cast<double>(d.valueShape[static_cast<size_t>(v)].c) * static_cast<double>(x.channelStride(v)); };
    double f = 0, maxVal = 0;
    for (size_t v = 0; v < d.valueShape.size(); ++v) { f += fl(static_cast<int32_t>(v)); maxVal = std::max(maxVal, fl(static_cast<int32_t>(v))); }
    for (const OpDesc& o : d.ops) {
      if (needsOutputGrad(o.op) && x.needsGrad(o.value)) f += fl(o.value);
      if (isWeightLayer(o.op)) f += 4.0 * static_cast<double>(o.weights) + 8.0 * o.cout;
    }
    return 4.0 * (f + maxVal);
  }

  /** This repeat's weights (after initParams): OIHW for the score, packed for the GEMMs. */
  void loadWeights() {
    for (size_t i = 0; i < d_.ops.size(); ++i) {
      const OpDesc& o = d_.ops[i];
      if (!isWeightLayer(o.op)) continue;
      x_.readParams(i, W_[i].data());
      if (isGemm(o.op)) pack(o, W_[i].data(), Wp_[i].data());
    }
  }

  /** After the first reverse pass: g = ∂L/∂W (packed for the GEMMs too) and ∂L/∂value where a second-order term reads it. */
  void saveGradients() {
    for (size_t i = 0; i < d_.ops.size(); ++i) {
      const OpDesc& o = d_.ops[i];
      AlignedBuffer& gy = gy_[static_cast<size_t>(o.value)];
      if (gy.size()) {
        const float* src = x_.grad(o.value);
        const int64_t cs = x_.channelStride(o.value);
        perChannel(plan_[i], o.cout, [&](int64_t c) { std::memcpy(gy.data() + c * cs, src + c * cs, sizeof(float) * static_cast<size_t>(cs)); });
      }
      if (!isWeightLayer(o.op)) continue;
      std::memcpy(g_[i].data(), x_.weightGrad(i), sizeof(float) * g_[i].size());  // LINEAR: its bias gradient follows; not in the score
    }
  }

  /** R of every value (direction g on the weight layers; the images and every other parameter fixed). */
  void forward() {
    for (size_t i = 0; i < d_.ops.size(); ++i) {
      const OpDesc& o = d_.ops[i];
      const OpPlan& p = plan_[i];
      const ConvGeom& g = p.g;
      const int32_t in = o.inputs[0];
      const float* rx = R_[static_cast<size_t>(in)].data();
      const float* xv = x_.value(in);
      float* ry = R_[static_cast<size_t>(o.value)].data();
      switch (o.op) {
        case OpCode::Conv: case OpCode::Linear: {  // R y = W ∗ x + W ∗ R x = (y − b) + W ∗ R x (direction W; R b = 0)
          const float* yv = x_.value(o.value);
          const int64_t cols = g.cols(), tasks = (cols + p.colsPerTask - 1) / p.colsPerTask, len = n_ * o.out.plane();
          if (in != 0)
            pool_.parallelFor(tasks, [&](int64_t t, int, float* scratch) {
              const int64_t b = t * p.colsPerTask;
              k_.convGemm(g, Wp_[i].data(), rx, ry, b, std::min(cols, b + p.colsPerTask), scratch);
            });
          const float* bias = o.op == OpCode::Linear && x_.paramSize(i) > o.weights ? W_[i].data() + o.weights : nullptr;
          perChannel(p, o.cout, [&](int64_t c) {
            float* r = ry + c * g.outStride;
            const float* y = yv + c * g.outStride;
            const float b = bias ? bias[c] : 0.f;
            if (in == 0) for (int64_t j = 0; j < len; ++j) r[j] = y[j] - b;
            else for (int64_t j = 0; j < len; ++j) r[j] += y[j] - b;
          });
          break;
        }
        case OpCode::DwConv:
          perChannel(p, o.cout, [&](int64_t c) {
            const float* y = x_.value(o.value) + c * g.outStride;
            float* r = ry + c * g.outStride;
            const int64_t len = n_ * o.out.plane();
            if (in == 0) {
              std::memcpy(r, y, sizeof(float) * static_cast<size_t>(len));
              return;
            }
            k_.dwConv(g, W_[i].data(), rx, ry, c, c + 1);
            k_.add(r, y, r, len);
          });
          break;
        case OpCode::BN: {  // R x̂ = invstd (R x − mean R x − x̂ R s), R s = mean(x̂ R x): BN's backward formula applied to R x
          const int b = bnOf_[i];
          const int64_t len = n_ * o.in.plane();
          perChannel(p, o.cout, [&](int64_t c) {
            double dg = 0, db = 0;
            k_.bnBwd(xv + c * g.inStride, rx + c * g.inStride, ry + c * g.outStride, len, meanF(b, c), invstdF(b, c), false, &dg, &db);
            rs_[i][static_cast<size_t>(c)] = dg / static_cast<double>(len);
          });
          break;
        }
        case OpCode::MaxPool:  // R y = R x at the window's first maximum (the backward's routing)
          perChannel(p, o.cout, [&](int64_t c) { maxPoolR(g, xv, rx, ry, c); });
          break;
        case OpCode::Mul: {  // R (x ⊙ gate) = R x ⊙ gate + x ⊙ R gate
          const float* gate = p.xIn[1];
          const float* rgate = p.rIn[1];
          const int64_t gs = p.strides[1], plane = o.in.plane();
          perChannel(p, o.cout, [&](int64_t c) {
            for (int64_t img = 0; img < n_; ++img) {
              const float a = gate[c * gs + img], b = rgate[c * gs + img];
              const float* r = rx + c * g.inStride + img * plane;
              const float* v = xv + c * g.inStride + img * plane;
              float* y = ry + c * g.outStride + img * plane;
              for (int64_t j = 0; j < plane; ++j) y[j] = r[j] * a + v[j] * b;
            }
          });
          break;
        }
        default: {
          OpStep st{o, g, n_, pool_, k_, p.perTask, p.xIn.data(), p.strides.data(), x_.value(o.value)};
          if (isLinearOp(o.op)) {
            st.inputs = p.rIn.data();
            st.out = ry;
            p.impl->forward(st);
          } else {  // element-wise: backward with dy = R x into R y
            float* dx[1] = {ry};
            const bool acc[1] = {false};
            st.dy = rx;
            st.dx = dx;
            st.acc = acc;
            p.impl->backward(st);
          }
        }
      }
    }
  }

  /** R of the CE seed (p − onehot)/B: (p ⊙ R z − p (p · R z))/B per image, into the plan's output gradients. */
  void seedCrossEntropy() {
    for (size_t k = 1; k < d_.outputs.size(); ++k) {
      const int32_t v = d_.outputs[k];
      std::memset(x_.grad(v), 0, sizeof(float) * static_cast<size_t>(floats(v)));
    }
    const int32_t zv = d_.outputs[0];
    const int64_t K = d_.valueShape[static_cast<size_t>(zv)].c, cs = x_.channelStride(zv);
    const float* z = x_.value(zv);
    const float* rz = R_[static_cast<size_t>(zv)].data();
    float* gr = x_.grad(zv);
    std::memset(gr, 0, sizeof(float) * static_cast<size_t>(floats(zv)));
    std::vector<double>& p = probs_;
    p.resize(static_cast<size_t>(K));
    for (int64_t n = 0; n < n_; ++n) {
      double mx = -INFINITY, sum = 0, pr = 0;
      for (int64_t k = 0; k < K; ++k) mx = std::max(mx, static_cast<double>(z[k * cs + n]));
      for (int64_t k = 0; k < K; ++k) sum += (p[static_cast<size_t>(k)] = std::exp(static_cast<double>(z[k * cs + n]) - mx));
      for (int64_t k = 0; k < K; ++k) pr += (p[static_cast<size_t>(k)] /= sum) * static_cast<double>(rz[k * cs + n]);
      for (int64_t k = 0; k < K; ++k)
        gr[k * cs + n] = static_cast<float>(p[static_cast<size_t>(k)] * (static_cast<double>(rz[k * cs + n]) - pr) / static_cast<double>(n_));
    }
  }

  /** The R reverse pass from the seeded output gradients; returns Σ −W ⊙ Hg (float64 sum). */
  double backward() {
    x_.backwardBegin(false);
    double score = 0;
    for (size_t i = d_.ops.size(); i-- > 0;) {
      const OpDesc& o = d_.ops[i];
      if (!x_.needsGrad(o.value)) {
        x_.backwardOp(i, pool_, false);
        continue;
      }
      const OpPlan& p = plan_[i];
      const ConvGeom& g = p.g;
      const int32_t in = o.inputs[0];
      const float* gy = gy_[static_cast<size_t>(o.value)].data();
      const float* rx = R_[static_cast<size_t>(in)].data();
      const float* xv = x_.value(in);
      if (isWeightLayer(o.op)) {
        // Direction W: R ∂L/∂x = Wᵀ-conv of (R gy + gy) and R ∂L/∂W = x ⋆ (R gy + gy) − g + R x ⋆ gy; the plan's backward
        // of R gy + gy gives the first two (its weight gradient then holds x ⋆ R gy + g).
        const int64_t len = n_ * o.out.plane();
        float* gout = x_.grad(o.value);
        perChannel(p, o.cout, [&](int64_t c) { k_.add(gout + c * g.outStride, gy + c * g.outStride, gout + c * g.outStride, len); });
        x_.backwardOp(i, pool_, false);
        if (in != 0) {
          if (o.op == OpCode::DwConv) perChannel(p, o.cout, [&](int64_t c) { k_.dwConvBwd(g, W_[i].data(), rx, gy, nullptr, dw_.data(), c, c + 1, false); });
          else weightCorrelation(p, gy, rx, dw_.data());
        }
        score -= layerScore(i, in != 0);
        continue;
      }
      x_.backwardOp(i, pool_, false);  // the part linear in R ∂L/∂value, into the plan's gradients
      float* dx = x_.needsGrad(in) && in != 0 ? x_.grad(in) : nullptr;
      switch (o.op) {
        case OpCode::BN: {
          // R dx = linear part + (−R s/s²)·a − (R x̂ mean(x̂ gy) + x̂ mean(R x̂ gy))/s, a = gy − mean gy − x̂ mean(x̂ gy)  (γ = 1)
          if (!dx) break;
          const int b = bnOf_[i];
          const int64_t len = n_ * o.in.plane();
          const float* rxh = R_[static_cast<size_t>(o.value)].data();
          perChannel(p, o.cout, [&](int64_t c) {
            const float mean = meanF(b, c), inv = invstdF(b, c);
            const float* xc = xv + c * g.inStride;
            const float* gc = gy + c * g.outStride;
            const float* rc = rxh + c * g.outStride;
            double sg = 0, sgg = 0;
            k_.bnStats(gc, len, &sg, &sgg);  // Σ gy (vectorised, float64)
            const double sxg = static_cast<double>(inv) * (k_.dot(xc, gc, len) - static_cast<double>(mean) * sg), srg = k_.dot(rc, gc, len);
            const double m = static_cast<double>(len), mg = sg / m, m1 = sxg / m, m2 = srg / m;
            const double rsv = rs_[i][static_cast<size_t>(c)] * static_cast<double>(inv) * static_cast<double>(inv);
            // −(R s/s²)·a − (R x̂ m1 + x̂ m2)/s = A gy − B R x̂ + C x + D (x̂ = (x − mean)·invstd)
            const double iv = inv, c1 = (rsv * m1 - iv * m2) * iv;
            const float A = static_cast<float>(-rsv), B = static_cast<float>(iv * m1), C = static_cast<float>(c1),
                        D = static_cast<float>(rsv * mg - c1 * static_cast<double>(mean));
            float* d = dx + c * g.inStride;
            for (int64_t j = 0; j < len; ++j) d[j] += A * gc[j] - B * rc[j] + C * xc[j] + D;
          });
          break;
        }
        case OpCode::Mul: {  // R dx += gy ⊙ R gate; R dgate += Σ_hw gy ⊙ R x
          const int64_t gs = p.strides[1], plane = o.in.plane();
          const int32_t gv = o.inputs[1];
          const float* rgate = p.rIn[1];
          float* dgate = x_.needsGrad(gv) && gv != 0 ? x_.grad(gv) : nullptr;
          perChannel(p, o.cout, [&](int64_t c) {
            for (int64_t img = 0; img < n_; ++img) {
              const float* gr = gy + c * g.outStride + img * plane;
              if (dx) {
                float* d = dx + c * g.inStride + img * plane;
                const float b = rgate[c * gs + img];
                for (int64_t j = 0; j < plane; ++j) d[j] += gr[j] * b;
              }
              if (dgate) dgate[c * gs + img] += static_cast<float>(k_.dot(gr, rx + c * g.inStride + img * plane, plane));
            }
          });
          break;
        }
        case OpCode::Sigmoid: case OpCode::Swish: case OpCode::Hswish: {  // R dx += f''(x) R x gy
          if (!dx) break;
          const int64_t len = n_ * o.in.plane();
          perChannel(p, o.cout, [&](int64_t c) {
            const float* xc = xv + c * g.inStride;
            const float* rc = rx + c * g.inStride;
            const float* gc = gy + c * g.outStride;
            float* d = dx + c * g.inStride;
            for (int64_t j = 0; j < len; ++j) d[j] += static_cast<float>(d2Act(o.op, xc[j]) * static_cast<double>(rc[j]) * static_cast<double>(gc[j]));
          });
          break;
        }
        default: break;  // piecewise-linear or linear ops: no second-order term
      }
    }
    return score;
  }

 private:
  struct OpPlan {
    ConvGeom g;
    int64_t perTask = 1, colsPerTask = kNR;
    const CpuOp* impl = nullptr;
    std::vector<const float*> xIn, rIn;
    std::vector<int64_t> strides;
  };

  /** The executor's channel stride for `plane` pixels per image (Executor::channelStrideFor). */
  int64_t subStride(int64_t plane) const {
    int64_t s = roundUp(n_ * plane, 16);
    return s % 256 == 0 ? s + 16 : s;
  }
  int64_t floats(int32_t v) const { return d_.valueShape[static_cast<size_t>(v)].c * x_.channelStride(v); }
  float meanF(int b, int64_t c) const { return static_cast<float>(x_.bnMean(b, 0)[c]); }
  float invstdF(int b, int64_t c) const { return static_cast<float>(1.0 / std::sqrt(x_.bnVar(b, 0)[c] + eps_)); }

  template <class F>
  void perChannel(const OpPlan& p, int64_t channels, F fn) const {
    const int64_t per = p.perTask;
    pool_.parallelFor((channels + per - 1) / per, [&](int64_t t, int, float*) {
      for (int64_t c = t * per; c < std::min(channels, (t + 1) * per); ++c) fn(c);
    });
  }

  void addInto(int64_t channels, int64_t stride, int64_t len, int64_t per, const float* a, float* y) const {
    pool_.parallelFor((channels + per - 1) / per, [&](int64_t t, int, float*) {
      for (int64_t c = t * per; c < std::min(channels, (t + 1) * per); ++c) k_.add(y + c * stride, a + c * stride, y + c * stride, len);
    });
  }

  static void pack(const OpDesc& o, const float* w, float* packed) {
    const int64_t K = o.weights / o.cout;
    for (int64_t e = 0; e < o.weights; ++e) packed[packedAIndex(e / K, e % K, K)] = w[e];
  }

  /** gᵀ (H W) of weight layer i: the plan's weight gradient (x ⋆ R gy + g) − g, + dw_ (R x ⋆ gy) when `extra`; float64 sums. */
  double layerScore(size_t i, bool extra) const {
    const float* lin = x_.weightGrad(i);
    const float* gv = g_[i].data();
    const int64_t nw = d_.ops[i].weights;
    double s = 0;
    for (int64_t j = 0; j < nw; ++j) {
      const double gj = gv[j];
      s += gj * (static_cast<double>(lin[j]) - gj + (extra ? static_cast<double>(dw_[static_cast<size_t>(j)]) : 0.0));
    }
    return s;
  }

  /** dW (OIHW, overwritten) = Σ dy ⋆ in (the weight gradient of a dense conv / LINEAR), the executor's kernels and splits. */
  void weightCorrelation(const OpPlan& p, const float* dy, const float* in, float* dW) {
    ConvGeom g = p.g;
    const int64_t M = g.cout, K = g.K(), mb = (M + kDotRows - 1) / kDotRows;
    if (g.k == 1 && g.stride > 1) {  // 1×1 strided: the sampled input pixels, then the 1×1 stride-1 form
      const int64_t st = g.stride, ohw = g.oh * g.ow, inPlane = g.h * g.w;
      ConvGeom gs = g;
      gs.h = g.oh; gs.w = g.ow; gs.stride = 1;
      gs.inStride = subStride(ohw);
      float* sub = tmp_.data();
      perChannel(p, g.cin, [&](int64_t c) {
        const float* src = in + c * g.inStride;
        float* d = sub + c * gs.inStride;
        for (int64_t img = 0; img < n_; ++img)
          for (int64_t oy = 0; oy < g.oh; ++oy)
            for (int64_t ox = 0; ox < g.ow; ++ox) d[img * ohw + oy * g.ow + ox] = src[img * inPlane + oy * st * g.w + ox * st];
      });
      g = gs;
      in = sub;
    }
    if (g.k == 1 && g.stride == 1) {
      const int64_t cb = (g.cin + 11) / 12;  // 12 input channels per task
      pool_.parallelFor(mb * cb, [&](int64_t t, int, float* scratch) {
        const int64_t im = t / cb, ic = t % cb;
        k_.convBwdWeight1x1(g, dy, in, dW, ic * 12, std::min(g.cin, (ic + 1) * 12), im * kDotRows, std::min(M, (im + 1) * kDotRows), scratch);
      });
    } else if (dotScratchImageFloats(g) + 2.0 * (kDotRows * g.k * g.k + 8) <= static_cast<double>(ThreadPool::kScratchFloats) && useDot(g)) {
      const int64_t ciPer = dotChannelsPerTask(g, mb, kDotRows, static_cast<int64_t>(ThreadPool::kScratchFloats)), cbn = (g.cin + ciPer - 1) / ciPer;
      pool_.parallelFor(mb * cbn, [&](int64_t t, int, float* scratch) {
        const int64_t im = t / cbn, ic = t % cbn;
        k_.convBwdWeightDot(g, dy, in, dW, ic * ciPer, std::min(g.cin, (ic + 1) * ciPer), im * kDotRows, std::min(M, (im + 1) * kDotRows), scratch);
      });
    } else {
      const int64_t mbg = (M + kBwdRowsM - 1) / kBwdRowsM, kb = (K + kBwdColsK - 1) / kBwdColsK;
      pool_.parallelFor(mbg * kb, [&](int64_t t, int, float* scratch) {
        const int64_t im = t / kb, ik = t % kb;
        k_.convBwdWeight(g, dy, in, dW, im * kBwdRowsM, std::min(M, (im + 1) * kBwdRowsM), ik * kBwdColsK, std::min(K, (ik + 1) * kBwdColsK), scratch);
      });
    }
  }

  /** R y of channel c: each output takes R x at its window's first maximum (−∞ padding), as maxPoolBwd routes. */
  void maxPoolR(const ConvGeom& g, const float* x, const float* rx, float* ry, int64_t c) const {
    const int64_t ihw = g.h * g.w, ohw = g.oh * g.ow;
    for (int64_t n = 0; n < n_; ++n) {
      const float* ip = x + c * g.inStride + n * ihw;
      const float* rp = rx + c * g.inStride + n * ihw;
      float* op = ry + c * g.outStride + n * ohw;
      for (int64_t oy = 0; oy < g.oh; ++oy)
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          float best = -INFINITY;
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
          op[oy * g.ow + ox] = at >= 0 ? rp[at] : 0.f;
        }
    }
  }

  Executor& x_;
  const Descriptor& d_;
  ThreadPool& pool_;
  const Kernels& k_;
  double eps_;
  int64_t n_;
  std::vector<OpPlan> plan_;
  std::vector<int> bnOf_;                 // op → BN index (−1)
  std::vector<AlignedBuffer> R_, gy_;     // per value: R of it; ∂L/∂it (first pass) where read
  std::vector<std::vector<float>> W_, Wp_, g_;  // per weight layer: W (OIHW; LINEAR: then its bias), W packed, g
  std::vector<std::vector<double>> rs_;   // per BN op: R s per channel
  AlignedBuffer tmp_;                     // one value's worth (a second conv product, the 1×1-strided samples)
  std::vector<float> dw_;                 // one layer's second-order weight term
  std::vector<double> probs_;
};

/**
 * E_OUT_OF_MEMORY before anything is allocated when the R-operator's buffers would pass half the
 * physical memory or 80 % of the available memory: they are outside the engine's plan budget, and an
 * OOM kill would take the whole process.
 */
void checkMemory(double bytes) {
  auto gib = [](double b) { return std::to_string(std::round(b / (1 << 30) * 10) / 10).substr(0, 5) + " GiB"; };
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const double phys = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * page;
  const double avail = grasp64::availableBytes(phys);
  if (phys > 0 && (bytes > 0.5 * phys || bytes > 0.8 * avail))
    fail("E_OUT_OF_MEMORY", "grasp: its R-operator buffers would take " + gib(bytes) + " (≈ 8 bytes × batch × activations) beside the plan, over half the " +
                                gib(phys) + " of memory or 80 % of the " + gib(avail) + " available; use a smaller batchSize or resolution");
#else
  (void)bytes;
  (void)gib;
#endif
}

void run(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out) {
  if (r.hvpPrecision == "float64") return grasp64::run(x, r, pool, out);
  const char* name = "grasp";
  checkDataLengths(x, r, r.batch, name);
  checkTrainBn(x, name, "use batchSize ≥ 2");
  const Init init = resolveInit(r, Init::Torch);
  const Descriptor& d = x.descriptor();
  const Shape zs = d.valueShape[static_cast<size_t>(d.outputs[0])];
  if (zs.h != 1 || zs.w != 1)
    fail("E_STRUCTURE", std::string(name) + " needs logits [classes][1][1] as the first output (a classifier head), got [" + std::to_string(zs.c) + "][" +
                            std::to_string(zs.h) + "][" + std::to_string(zs.w) + "]");
  checkMemory(Tangent::estimateBytes(x));
  Tangent t(x, pool, r.bnEps);
  ZeroBiasesOnExit restore{x};
  std::vector<double> loss;
  for (uint32_t repeat = r.firstRepeat; repeat < r.firstRepeat + r.repeats; ++repeat) {
    checkCancelled(r);
    initParams(x, init, r.seed, repeat, pool);
    t.loadWeights();
    loss.push_back(crossEntropyBackward(x, r, repeat, 0, pool, name));
    t.saveGradients();
    checkCancelled(r);
    t.forward();
    t.seedCrossEntropy();
    out.scores.push_back(t.backward());
  }
  out.series.emplace_back("loss", std::move(loss));
}

}  // namespace

extern const CpuProxy kGraspProxy = {"grasp", config, run};

}  // namespace cpu
}  // namespace zennas
