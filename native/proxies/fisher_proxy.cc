// `fisher` (zero-cost-nas foresight/pruners/measures/fisher.py, mode 'channel', summed as
// find_measures does): PyTorch-default init, the network as trained, CE on labels, one
// training-mode forward + backward. Per weight layer (CONV, DWCONV, LINEAR) with act = its output
// and g = ∂L/∂act: F_k = ½ · mean_n (Σ_hw act·g)² per output channel k; the official code
// broadcasts |F_k| over the channel's weights (a tensor of shape W.shape[1:]) and find_measures
// sums every element, so score = Σ_layers ∏W.shape[1:] · Σ_k |F_k| (∏W.shape[1:] = cin·k² for
// CONV, k² for DWCONV, cin for LINEAR). A layer no output depends on has no gradient: the
// official hook never fires and its fisher is 0. Series `loss`, `channelSum` = Σ_layers Σ_k F_k
// (without the broadcast factor).
#include <cmath>
#include <vector>

#include "zero_shot.h"

namespace zennas {
namespace cpu {

namespace {

ExecutorConfig config(const ProxyRequest& r) { return {int64_t(r.batch), 1, r.resolution, true}; }

void run(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out) {
  const Descriptor& d = x.descriptor();
  const int64_t B = r.batch;
  checkDataLengths(x, r, B, "fisher");
  checkTrainBn(x, "fisher", "use batchSize ≥ 2");
  const Init init = resolveInit(r, Init::Torch);
  ZeroBiasesOnExit restore{x};
  std::vector<double> loss, channelSum;
  for (uint32_t repeat = r.firstRepeat; repeat < r.firstRepeat + r.repeats; ++repeat) {
    checkCancelled(r);
    initParams(x, init, r.seed, repeat, pool);
    loss.push_back(crossEntropyBackward(x, r, repeat, 0, pool, "fisher"));
    double score = 0, raw = 0;
    for (size_t i = 0; i < d.ops.size(); ++i) {
      const OpDesc& o = d.ops[i];
      if (!isWeightLayer(o.op) || !x.needsGrad(o.value)) continue;
      const Shape s = d.valueShape[static_cast<size_t>(o.value)];
      const int64_t plane = s.plane(), cs = x.channelStride(o.value);
      const float* act = x.value(o.value);
      const float* g = x.grad(o.value);
      std::vector<double> fk(static_cast<size_t>(s.c));
      pool.parallelFor(s.c, [&](int64_t c, int, float*) {
        double f = 0;
        for (int64_t n = 0; n < B; ++n) {
          const float* a = act + c * cs + n * plane;
          const float* gg = g + c * cs + n * plane;
          double dot = 0;
          for (int64_t p = 0; p < plane; ++p) dot += static_cast<double>(a[p]) * static_cast<double>(gg[p]);
          f += dot * dot;
        }
        fk[static_cast<size_t>(c)] = 0.5 * f / static_cast<double>(B);
      });
      double layer = 0;
      for (double f : fk) layer += std::fabs(f);
      raw += layer;
      score += layer * static_cast<double>(o.weights / o.cout);
    }
    out.scores.push_back(score);
    channelSum.push_back(raw);
  }
  out.series.emplace_back("loss", std::move(loss));
  out.series.emplace_back("channelSum", std::move(channelSum));
}

}  // namespace

extern const CpuProxy kFisherProxy = {"fisher", config, run};

}  // namespace cpu
}  // namespace zennas
