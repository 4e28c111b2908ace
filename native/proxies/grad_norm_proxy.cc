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
  runCrossEntropyRepeats(x, r, pool, out, "grad_norm", Init::Normal, [](Executor& e) {
    double sq = 0;
    for (size_t i = 0; i < e.descriptor().ops.size(); ++i) {
      const float* g = e.weightGrad(i);
      for (int64_t j = 0; g && j < e.weightGradSize(i); ++j) sq += static_cast<double>(g[j]) * g[j];
    }
    return std::sqrt(sq);
  });
}

}  // namespace

extern const CpuProxy kGradNormProxy = {"grad_norm", config, run};

}  // namespace cpu
}  // namespace zennas
