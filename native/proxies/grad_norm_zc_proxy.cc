// `grad_norm_zc` (zero-cost-nas foresight/pruners/measures/grad_norm.py): PyTorch-default init,
// the network as trained, CE on labels, one training-mode forward + backward; score = Σ over the
// weight layers (CONV, DWCONV, LINEAR) of ‖∂L/∂W‖₂ (weights only: no biases, no BN). Series `loss`.
#include <cmath>

#include "zero_shot.h"

namespace zennas {
namespace cpu {

namespace {

ExecutorConfig config(const ProxyRequest& r) { return {int64_t(r.batch), 1, r.resolution, true}; }

void run(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out) {
  const Descriptor& d = x.descriptor();
  checkDataLengths(x, r, r.batch, "grad_norm_zc");
  checkTrainBn(x, "grad_norm_zc", "use batchSize ≥ 2");
  const Init init = resolveInit(r, Init::Torch);
  ZeroBiasesOnExit restore{x};
  std::vector<double> loss;
  for (uint32_t repeat = r.firstRepeat; repeat < r.firstRepeat + r.repeats; ++repeat) {
    checkCancelled(r);
    initParams(x, init, r.seed, repeat, pool);
    loss.push_back(crossEntropyBackward(x, r, repeat, 0, pool, "grad_norm_zc"));
    double s = 0;
    for (size_t i = 0; i < d.ops.size(); ++i) {
      if (!isWeightLayer(d.ops[i].op)) continue;
      const float* g = x.weightGrad(i);
      double sq = 0;
      for (int64_t j = 0; j < d.ops[i].weights; ++j) sq += static_cast<double>(g[j]) * g[j];
      s += std::sqrt(sq);
    }
    out.scores.push_back(s);
  }
  out.series.emplace_back("loss", std::move(loss));
}

}  // namespace

extern const CpuProxy kGradNormZcProxy = {"grad_norm_zc", config, run};

}  // namespace cpu
}  // namespace zennas
