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
  runCrossEntropyRepeats(x, r, pool, out, "grad_norm_zc", Init::Torch, [](Executor& e) {
    const Descriptor& d = e.descriptor();
    double s = 0;
    for (size_t i = 0; i < d.ops.size(); ++i) {
      if (!isWeightLayer(d.ops[i].op)) continue;
      const float* g = e.weightGrad(i);
      double sq = 0;
      for (int64_t j = 0; j < d.ops[i].weights; ++j) sq += static_cast<double>(g[j]) * g[j];
      s += std::sqrt(sq);
    }
    return s;
  });
}

}  // namespace

extern const CpuProxy kGradNormZcProxy = {"grad_norm_zc", config, run};

}  // namespace cpu
}  // namespace zennas
