// `grad_norm` (Zen-NAS ZeroShotProxy/compute_gradnorm_score.py): N(0,1) init, the Gaussian input
// x (B images), labels drawn (or given), softmax cross-entropy averaged over the batch, one
// training-mode forward + backward; score = √(Σ over EVERY parameter — conv / linear weights,
// LINEAR biases, BN γ and β — of ‖∂L/∂p‖²). Series `loss`.
#include <cmath>

#include "zero_shot.h"

namespace zennas {
namespace cpu {

namespace {

ExecutorConfig config(const ProxyRequest& r) { return {int64_t(r.batch), 1, r.resolution, true}; }

void run(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out) {
  const Descriptor& d = x.descriptor();
  checkDataLengths(x, r, r.batch, "grad_norm");
  checkTrainBn(x, "grad_norm", "use batchSize ≥ 2");
  const Init init = resolveInit(r, Init::Normal);
  ZeroBiasesOnExit restore{x};
  std::vector<double> loss;
  for (uint32_t repeat = r.firstRepeat; repeat < r.firstRepeat + r.repeats; ++repeat) {
    checkCancelled(r);
    initParams(x, init, r.seed, repeat, pool);
    loss.push_back(crossEntropyBackward(x, r, repeat, 0, pool, "grad_norm"));
    double sq = 0;
    for (size_t i = 0; i < d.ops.size(); ++i) {
      const float* g = x.weightGrad(i);
      for (int64_t j = 0; g && j < x.weightGradSize(i); ++j) sq += static_cast<double>(g[j]) * g[j];
    }
    out.scores.push_back(std::sqrt(sq));
  }
  out.series.emplace_back("loss", std::move(loss));
}

}  // namespace

extern const CpuProxy kGradNormProxy = {"grad_norm", config, run};

}  // namespace cpu
}  // namespace zennas
