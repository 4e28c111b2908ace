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
  int64_t most = 0;
  for (size_t i = 0; i < d.ops.size(); ++i) most = std::max(most, x.paramSize(i));
  std::vector<float> w(static_cast<size_t>(most));  // once, not per repeat
  runCrossEntropyRepeats(x, r, pool, out, "snip", Init::Torch, [&](Executor& e) {
    double s = 0;
    for (size_t i = 0; i < d.ops.size(); ++i) {
      if (!isWeightLayer(d.ops[i].op)) continue;
      e.readParams(i, w.data());
      const float* g = e.weightGrad(i);
      for (int64_t j = 0; j < d.ops[i].weights; ++j) s += std::fabs(static_cast<double>(w[static_cast<size_t>(j)]) * g[j]);
    }
    return s;
  });
}

}  // namespace

extern const CpuProxy kSnipProxy = {"snip", config, run};

}  // namespace cpu
}  // namespace zennas
