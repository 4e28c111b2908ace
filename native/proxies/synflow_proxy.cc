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
// leaves float32's range; when every op is positively homogeneous (conv, linear, ReLU, pools,
// add, identity, zero) the net is computed at scale: input and biases ×s and the seed ∂R = t give
// R·s and ∂R/∂W·s·t exactly (powers of two), with s = t = 2^−round(log₂R / 2) from a probe forward
// at s = 2^−120, so R up to ≈ 2^247 fits. Otherwise (SE's sigmoid, swish) a non-finite R is an error.
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
  for (uint32_t repeat = r.firstRepeat; repeat < r.firstRepeat + r.repeats; ++repeat) {
    checkCancelled(r);
    initParams(x, init, r.seed, repeat, pool);
    x.absParams();
    int e = 0;  // s = t = 2^−e
    if (scaled) {
      constexpr int kProbe = 120;
      x.scaleBiases(std::ldexp(1.0, -kProbe));
      fillConstant(x, std::ldexp(1.f, -kProbe));
      x.forward(pool, mode);
      const double r0 = seedSum(x, 0.f);
      if (!std::isfinite(r0))
        fail("E_STRUCTURE", "synflow_zc: R exceeds float32's range even at scale 2^-120 (R > 2^247); the official code runs in float64");
      if (r0 > 0) e = static_cast<int>(std::lround((std::log2(r0) + kProbe) / 2));
      x.scaleBiases(std::ldexp(1.0, kProbe - e));
    }
    fillConstant(x, std::ldexp(1.f, -e));
    x.forward(pool, mode);
    const double R = seedSum(x, std::ldexp(1.f, -e));
    x.backward(pool, false);
    if (!std::isfinite(R) || !allFinite(x))
      fail("E_STRUCTURE", std::string(name) + ": R or its gradients overflow float32 (the official code runs in float64)" +
                              (zc ? "; the rescaling used for nets of positively homogeneous ops does not apply to this net (sigmoid / swish / SE)" : ""));
    double s = 0;
    for (size_t i = 0; i < d.ops.size(); ++i)
      if (isWeightLayer(d.ops[i].op)) s += layerTerm(x, i, w, !zc);
    const double ln2 = std::log(2.0);
    const double ls = std::log(s) + 2.0 * e * ln2;  // the gradients carry s·t = 2^−2e
    out.scores.push_back(std::exp(ls));
    logScore.push_back(ls);
    logR.push_back(std::log(R) + e * ln2);
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
