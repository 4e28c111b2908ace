// `gsnr` (ξ-GSNR, Sunzh1996/Xi-GSNR Xi_GSNR_Consistency/run_gsnr.py): PyTorch-default init, the
// network as trained, CE on labels; N gradient samples of the weights of the weight layers
// (CONV, DWCONV, LINEAR); per element mean² / (population variance + ξ) over the samples,
// summed over the elements of every layer whose variance is not 0 everywhere (the official code
// skips such layers). Samples (gsnrMode):
//   'batch'    one CE gradient per batch j of B images (images and labels [jB, (j+1)B)), N = numBatches;
//   'official' as the official NAS-Bench-201 path, which never zeroes the gradients: sample j is
//              the running sum of the gradients of batches 0..j;
//   'sample'   per-image gradients (the official NAS-Bench-101 path): image i of [0, B) alone
//              (a training-mode BN over one image), N = B.
// Statistics in FP64 (Welford). Series `layers` = layers counted.
#include <cmath>
#include <string>
#include <vector>

#include "zero_shot.h"

namespace zennas {
namespace cpu {

namespace {

ExecutorConfig config(const ProxyRequest& r) { return {r.gsnrMode == "sample" ? 1 : int64_t(r.batch), 1, r.resolution, true}; }

void run(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out) {
  const Descriptor& d = x.descriptor();
  const std::string& m = r.gsnrMode;
  if (m != "batch" && m != "official" && m != "sample") fail("E_OPTION", "gsnrMode must be 'batch', 'official' or 'sample', got '" + m + "'");
  const bool sample = m == "sample", running = m == "official";
  const int64_t B = r.batch, N = sample ? B : r.numBatches, per = sample ? 1 : B;
  if (N < 2) fail("E_OPTION", std::string("gsnr needs at least 2 gradient samples (") + (sample ? "batchSize" : "numBatches") + " ≥ 2)");
  checkDataLengths(x, r, sample ? B : N * B, "gsnr");
  checkTrainBn(x, "gsnr", sample ? "per-image gradients (gsnrMode 'sample') need every BN map larger than 1×1, or use gsnrMode 'batch'" : "use batchSize ≥ 2");
  std::vector<size_t> layers;
  std::vector<int64_t> offset;
  int64_t total = 0;
  for (size_t i = 0; i < d.ops.size(); ++i)
    if (isWeightLayer(d.ops[i].op)) {
      layers.push_back(i);
      offset.push_back(total);
      total += d.ops[i].weights;
    }
  std::vector<double> mean(static_cast<size_t>(total)), m2(static_cast<size_t>(total)), sum(running ? static_cast<size_t>(total) : 0);
  std::vector<double> counted;
  const Init init = resolveInit(r, Init::Torch);
  ZeroBiasesOnExit restore{x};
  for (uint32_t repeat = r.firstRepeat; repeat < r.firstRepeat + r.repeats; ++repeat) {
    initParams(x, init, r.seed, repeat, pool);
    std::fill(mean.begin(), mean.end(), 0.0);
    std::fill(m2.begin(), m2.end(), 0.0);
    std::fill(sum.begin(), sum.end(), 0.0);
    for (int64_t j = 0; j < N; ++j) {
      checkCancelled(r);
      crossEntropyBackward(x, r, repeat, j * per, pool, "gsnr", true);  // reads weight gradients only
      const double k = static_cast<double>(j + 1);
      for (size_t l = 0; l < layers.size(); ++l) {
        const float* g = x.weightGrad(layers[l]);
        const int64_t n = d.ops[layers[l]].weights, o = offset[l];
        for (int64_t e = 0; e < n; ++e) {
          const size_t at = static_cast<size_t>(o + e);
          double v = g[e];
          if (running) v = sum[at] += v;
          const double delta = v - mean[at];
          mean[at] += delta / k;
          m2[at] += delta * (v - mean[at]);
        }
      }
    }
    double score = 0, used = 0;
    for (size_t l = 0; l < layers.size(); ++l) {
      const int64_t n = d.ops[layers[l]].weights, o = offset[l];
      double s = 0;
      bool anyVar = false;
      for (int64_t e = 0; e < n; ++e) {
        const size_t at = static_cast<size_t>(o + e);
        const double var = m2[at] / static_cast<double>(N);
        anyVar = anyVar || var != 0;
        s += mean[at] * mean[at] / (var + r.xi);
      }
      if (anyVar) {
        score += s;
        used += 1;
      }
    }
    out.scores.push_back(score);
    counted.push_back(used);
  }
  out.series.emplace_back("layers", std::move(counted));
}

}  // namespace

extern const CpuProxy kGsnrProxy = {"gsnr", config, run};

}  // namespace cpu
}  // namespace zennas
