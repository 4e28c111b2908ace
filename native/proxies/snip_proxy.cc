// `snip` (zero-cost-nas foresight/pruners/measures/snip.py): PyTorch-default init, the network as
// trained, CE on labels, one training-mode forward + backward; score = Σ over the weights of the
// weight layers (CONV, DWCONV, LINEAR; biases excluded) of |W ⊙ ∂L/∂W| (the gradient of a weight
// mask of ones). Series `loss`.
#include <algorithm>
#include <cmath>
#include <vector>

#include "zero_shot.h"

namespace zennas {
namespace cpu {

namespace {

ExecutorConfig config(const ProxyRequest& r) { return {int64_t(r.batch), 1, r.resolution, true}; }

void run(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out) {
  const Descriptor& d = x.descriptor();
  checkDataLengths(x, r, r.batch, "snip");
  checkTrainBn(x, "snip", "use batchSize ≥ 2");
  const Init init = resolveInit(r, Init::Torch);
  ZeroBiasesOnExit restore{x};
  int64_t most = 0;
  for (size_t i = 0; i < d.ops.size(); ++i) most = std::max(most, x.paramSize(i));
  std::vector<float> w(static_cast<size_t>(most));
  std::vector<double> loss;
  for (uint32_t repeat = r.firstRepeat; repeat < r.firstRepeat + r.repeats; ++repeat) {
    checkCancelled(r);
    initParams(x, init, r.seed, repeat, pool);
    loss.push_back(crossEntropyBackward(x, r, repeat, 0, pool, "snip"));
    double s = 0;
    for (size_t i = 0; i < d.ops.size(); ++i) {
      if (!isWeightLayer(d.ops[i].op)) continue;
      x.readParams(i, w.data());
      const float* g = x.weightGrad(i);
      for (int64_t j = 0; j < d.ops[i].weights; ++j) s += std::fabs(static_cast<double>(w[static_cast<size_t>(j)]) * g[j]);
    }
    out.scores.push_back(s);
  }
  out.series.emplace_back("loss", std::move(loss));
}

}  // namespace

extern const CpuProxy kSnipProxy = {"snip", config, run};

}  // namespace cpu
}  // namespace zennas
