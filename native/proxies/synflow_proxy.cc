// `synflow` (Zen-NAS ZeroShotProxy/compute_syncflow_score.py) and the shared pass of `synflow_zc`
// (synflow_zc_proxy.cc; zero-cost-nas foresight/pruners/measures/synflow.py, bn = False): every parameter |·|, one all-ones image
// [1][C][R][R], R = Σ outputs[0], one backward of R.
//
// synflow: N(0,1) init, training-mode BN kept (a BN over one image is defined while its map has
// ≥ 2 pixels; a 1×1 map is refused, as PyTorch does); score = Σ over weight layers of the mean
// over output channels of Σ_{in,kh,kw} |W ⊙ ∂R/∂W|. The official function returns −score (its
// search keeps the largest value, i.e. minimises synflow): series `official` = −score.
// synflow_zc: PyTorch-default init, BN replaced by identity (src/engine rewrites the descriptor;
// a BN op here is refused), score = Σ over every weight of |W ⊙ ∂R/∂W|.
//
// The official code runs in float64; this runs in float32 with FP64 sums and reports
// `logScore` = ln score too. Without BN, R grows like Π(√fan_in / 2) over the depth and soon
// leaves float32's range (a CIFAR ZenNet of 2M parameters has R ≈ 2^300). When every op is
// positively homogeneous (conv, linear, ReLU, pools, GAP, add, identity, zero) the passes run op
// by op in block floating point: every value and every gradient carries a power-of-two exponent
// and is renormalised into [2^−40, 2^40] after the op that writes it; ADD aligns its inputs,
// gradient sums align their parts, a LINEAR bias is added at its input's scale. Power-of-two
// scalings are exact, so this is the float32 computation without overflow (parts that fall 2^80
// below the largest underflow, as negligible there as in float64). Otherwise (SE's sigmoid,
// swish) the plain passes run and a non-finite R is an error.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "synflow.h"

namespace zennas {
namespace cpu {

ExecutorConfig synflowConfig(const ProxyRequest& r) { return {1, 1, r.resolution, true}; }

namespace {

bool homogeneous(const Descriptor& d) {
  for (const OpDesc& o : d.ops) {
    switch (o.op) {
      case OpCode::Conv: case OpCode::DwConv: case OpCode::Linear: case OpCode::Relu: case OpCode::MaxPool: case OpCode::AvgPool:
      case OpCode::Gap: case OpCode::Add: case OpCode::Identity: case OpCode::Zero:
        break;
      default:
        return false;
    }
  }
  return true;
}

/** Σ |W ⊙ G| of op i's weights, or with perRow the mean over output channels of the row sums. */
double layerTerm(Executor& x, size_t i, std::vector<float>& w, bool perRow) {
  const OpDesc& o = x.descriptor().ops[i];
  x.readParams(i, w.data());
  const float* g = x.weightGrad(i);
  const int64_t rows = o.cout, per = o.weights / rows;
  double s = 0;
  for (int64_t q = 0; q < rows; ++q) {
    double row = 0;
    for (int64_t j = q * per; j < (q + 1) * per; ++j) row += std::fabs(static_cast<double>(w[static_cast<size_t>(j)]) * g[j]);
    s += row;
  }
  return perRow ? s / static_cast<double>(rows) : s;
}

bool allFinite(Executor& x) {
  const Descriptor& d = x.descriptor();
  for (size_t i = 0; i < d.ops.size(); ++i) {
    if (!isWeightLayer(d.ops[i].op)) continue;
    const float* g = x.weightGrad(i);
    for (int64_t j = 0; j < d.ops[i].weights; ++j)
      if (!std::isfinite(g[j])) return false;
  }
  return true;
}

/** max |v| over the valid region of value v's buffer. */
float maxAbs(Executor& x, int32_t v, const float* buf) {
  const Shape s = x.descriptor().valueShape[static_cast<size_t>(v)];
  const int64_t cs = x.channelStride(v), len = x.config().images * s.plane();
  const Kernels& k = selectKernels();
  float m = 0;
  for (int64_t c = 0; c < s.c; ++c) {
    const float a = k.absMax(buf + c * cs, len);
    if (!(a <= m)) m = a;  // a NaN sticks (renormalise refuses it)
  }
  return m;
}

void scaleBuffer(Executor& x, int32_t v, float* buf, int k) {  // buf ← buf · 2^k
  if (k == 0) return;
  const Shape s = x.descriptor().valueShape[static_cast<size_t>(v)];
  const int64_t cs = x.channelStride(v), len = x.config().images * s.plane();
  const float f = std::ldexp(1.f, k);
  for (int64_t c = 0; c < s.c; ++c)
    for (int64_t j = 0; j < len; ++j) buf[c * cs + j] *= f;
}

/** Brings max |buf| into [2^−40, 2^40]; returns the exponent moved into the scale (true = stored · 2^e). */
int renormalise(Executor& x, int32_t v, float* buf) {
  const float m = maxAbs(x, v, buf);
  if (!std::isfinite(m)) fail("E_STRUCTURE", "synflow_zc: a value overflowed float32 inside one op");
  if (m == 0 || (m <= 0x1p40f && m >= 0x1p-40f)) return 0;
  const int k = std::ilogb(m);
  scaleBuffer(x, v, buf, -k);
  return k;
}

struct ScaledPass {
  double logR = 0;
  std::vector<int> wexp;  // per op: weight gradient true = stored · 2^wexp
};

/**
 * Forward R = Σ outputs[0] and its backward to the weight gradients, op by op in block floating
 * point (see the header). `bias` holds every op's original LINEAR bias (|·| applied).
 */
ScaledPass scaledPass(Executor& x, ThreadPool& pool, const Executor::ForwardMode& mode, const std::vector<std::vector<float>>& bias, std::vector<float>& scratch) {
  const Descriptor& d = x.descriptor();
  const size_t nv = d.ops.size() + 1;
  std::vector<int> e(nv, 0), f(nv, 0);
  std::vector<float> b;
  for (size_t i = 0; i < d.ops.size(); ++i) {
    const OpDesc& o = d.ops[i];
    const int ein = e[static_cast<size_t>(o.inputs[0])];
    if (o.op == OpCode::Linear && !bias[i].empty()) {  // y = W x + b at x's scale
      b.resize(bias[i].size());
      for (size_t c = 0; c < b.size(); ++c) b[c] = std::ldexp(bias[i][c], -ein);
      x.setBias(i, b.data());
    }
    int eout = ein;
    if (o.op == OpCode::Add) {
      for (int32_t v : o.inputs) eout = std::max(eout, e[static_cast<size_t>(v)]);
      // inputs at a smaller exponent are shifted for the add (copies kept: other ops read them)
      std::vector<int32_t> shifted;
      int64_t at = 0;
      for (int32_t v : o.inputs) {
        if (e[static_cast<size_t>(v)] == eout || std::find(shifted.begin(), shifted.end(), v) != shifted.end()) continue;
        const int64_t n = d.valueShape[static_cast<size_t>(v)].c * x.channelStride(v);
        if (static_cast<int64_t>(scratch.size()) < at + n) scratch.resize(static_cast<size_t>(at + n));
        std::copy(x.value(v), x.value(v) + n, scratch.data() + at);
        at += n;
        scaleBuffer(x, v, x.value(v), e[static_cast<size_t>(v)] - eout);
        shifted.push_back(v);
      }
      x.forwardOp(i, pool, mode);
      at = 0;
      for (int32_t v : shifted) {
        const int64_t n = d.valueShape[static_cast<size_t>(v)].c * x.channelStride(v);
        std::copy(scratch.data() + at, scratch.data() + at + n, x.value(v));
        at += n;
      }
    } else {
      x.forwardOp(i, pool, mode);
    }
    e[static_cast<size_t>(o.value)] = eout + renormalise(x, o.value, x.value(o.value));
  }
  ScaledPass out;
  out.wexp.assign(d.ops.size(), 0);
  const int32_t y = d.outputs[0];
  const double r = seedSum(x, 1.f);  // ∂R/∂y = 1: f = 0
  out.logR = std::log(r) + e[static_cast<size_t>(y)] * std::log(2.0);
  x.backwardBegin(false);
  for (size_t i = d.ops.size(); i-- > 0;) {
    const OpDesc& o = d.ops[i];
    if (!x.needsGrad(o.value)) continue;
    int fy = f[static_cast<size_t>(o.value)];
    int target = fy;
    for (size_t k = 0; k < o.inputs.size(); ++k) {
      const int32_t v = o.inputs[k];
      if (v != 0 && x.needsGrad(v) && x.gradAccumulates(i, k)) target = std::max(target, f[static_cast<size_t>(v)]);
    }
    if (target > fy) scaleBuffer(x, o.value, x.grad(o.value), fy - target);
    for (size_t k = 0; k < o.inputs.size(); ++k) {
      const int32_t v = o.inputs[k];
      if (v == 0 || !x.needsGrad(v)) continue;
      if (x.gradAccumulates(i, k) && f[static_cast<size_t>(v)] < target) {
        if (std::find(o.inputs.begin(), o.inputs.begin() + static_cast<std::ptrdiff_t>(k), v) == o.inputs.begin() + static_cast<std::ptrdiff_t>(k))
          scaleBuffer(x, v, x.grad(v), f[static_cast<size_t>(v)] - target);
      }
      f[static_cast<size_t>(v)] = target;
    }
    x.backwardOp(i, pool, false);
    out.wexp[i] = target + e[static_cast<size_t>(o.inputs[0])];
    for (size_t k = 0; k < o.inputs.size(); ++k) {
      const int32_t v = o.inputs[k];
      if (v == 0 || !x.needsGrad(v)) continue;
      if (std::find(o.inputs.begin(), o.inputs.begin() + static_cast<std::ptrdiff_t>(k), v) != o.inputs.begin() + static_cast<std::ptrdiff_t>(k)) continue;
      f[static_cast<size_t>(v)] += renormalise(x, v, x.grad(v));
    }
  }
  return out;
}

}  // namespace

void runSynflow(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out, bool zc) {
  const Descriptor& d = x.descriptor();
  const char* name = zc ? "synflow_zc" : "synflow";
  if (!r.input.empty() || !r.labels.empty()) fail("E_OPTION", std::string(name) + " reads one all-ones image and no labels: input / labels do not apply");
  if (zc)
    for (size_t i = 0; i < d.ops.size(); ++i)
      if (d.ops[i].op == OpCode::BN)
        fail("E_DESCRIPTOR", "synflow_zc runs with BN replaced by identity (zero-cost-nas bn=False): op " + std::to_string(i) +
                                 " is a BN (engine.run('synflow_zc', …) rewrites BN to IDENTITY; do the same before calling the addon)");
  if (!zc) checkTrainBn(x, name, "use a larger resolution (synflow's input is a single image)");
  const Init init = resolveInit(r, zc ? Init::Torch : Init::Normal);
  const bool scaled = zc && homogeneous(d);
  ZeroBiasesOnExit restore{x};
  int64_t most = 0;
  for (size_t i = 0; i < d.ops.size(); ++i) most = std::max(most, x.paramSize(i));
  std::vector<float> w(static_cast<size_t>(std::max<int64_t>(most, 1)));
  std::vector<double> official, logScore, logR;
  Executor::ForwardMode mode;
  mode.bnEps = r.bnEps;
  std::vector<std::vector<float>> bias(d.ops.size());
  std::vector<float> scratch;
  const double ln2 = std::log(2.0);
  for (uint32_t repeat = r.firstRepeat; repeat < r.firstRepeat + r.repeats; ++repeat) {
    checkCancelled(r);
    initParams(x, init, r.seed, repeat, pool);
    x.absParams();
    fillConstant(x, 1.f);
    double lr = 0, ls = -INFINITY;
    if (scaled) {
      for (size_t i = 0; i < d.ops.size(); ++i) {
        bias[i].clear();
        if (d.ops[i].op != OpCode::Linear || x.paramSize(i) == d.ops[i].weights) continue;
        x.readParams(i, w.data());
        bias[i].assign(w.begin() + d.ops[i].weights, w.begin() + x.paramSize(i));
      }
      const ScaledPass p = scaledPass(x, pool, mode, bias, scratch);
      lr = p.logR;
      for (size_t i = 0; i < d.ops.size(); ++i) {
        if (!isWeightLayer(d.ops[i].op)) continue;
        const double t = layerTerm(x, i, w, false);
        if (!(t > 0)) continue;
        const double lt = std::log(t) + p.wexp[i] * ln2;  // Σ over layers in log space (the sum may pass 2^1024)
        ls = ls == -INFINITY ? lt : std::max(ls, lt) + std::log1p(std::exp(-std::fabs(ls - lt)));
      }
    } else {
      x.forward(pool, mode);
      const double R = seedSum(x, 1.f);
      x.backward(pool, false);
      if (!std::isfinite(R) || !allFinite(x))
        fail("E_STRUCTURE", std::string(name) + ": R or its gradients overflow float32 (the official code runs in float64)" +
                                (zc ? "; the block floating point used for nets of positively homogeneous ops does not apply to this net (sigmoid / swish / SE)" : ""));
      double s = 0;
      for (size_t i = 0; i < d.ops.size(); ++i)
        if (isWeightLayer(d.ops[i].op)) s += layerTerm(x, i, w, !zc);
      lr = std::log(R);
      ls = std::log(s);
    }
    out.scores.push_back(std::exp(ls));
    logScore.push_back(ls);
    logR.push_back(lr);
    if (!zc) official.push_back(-std::exp(ls));
  }
  out.series.emplace_back("logScore", std::move(logScore));
  out.series.emplace_back("logR", std::move(logR));
  if (!zc) out.series.emplace_back("official", std::move(official));
}

namespace {
void run(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out) { runSynflow(x, r, pool, out, false); }
}  // namespace

extern const CpuProxy kSynflowProxy = {"synflow", synflowConfig, run};

}  // namespace cpu
}  // namespace zennas
