// `jacob_cov` (zero-cost-nas foresight/pruners/measures/jacob_cov.py): PyTorch-default init, the
// network as trained, the Gaussian input (or data), one training-mode forward of the batch and one
// backward with the all-ones seed, as the official y.backward(torch.ones_like(y)): row i of J is
// ∂(Σ of every output of the batch)/∂x_i (BN couples the images, so this is not the per-image
// Jacobian sum). C = np.corrcoef(J) (rows centred, cov / σ_i / σ_j, clipped to [−1, 1]),
// v = its eigenvalues (float64, symmetric QL), score = −Σ (ln(v + k) + 1/(v + k)), k = 1e-5.
// A constant row of J (zero variance) makes C undefined: the official code returns NaN; here
// E_STRUCTURE. Series `lambdaMin`, `lambdaMax` (of C).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "zero_shot.h"

namespace zennas {
namespace cpu {

namespace {

ExecutorConfig config(const ProxyRequest& r) { return {int64_t(r.batch), 1, r.resolution, true}; }

void run(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out) {
  const Descriptor& d = x.descriptor();
  const int64_t B = r.batch;
  if (B < 2) fail("E_OPTION", "jacob_cov needs batchSize ≥ 2 (the correlation matrix is batchSize × batchSize)");
  if (!r.labels.empty()) fail("E_OPTION", "jacob_cov takes no labels");
  checkDataLengths(x, r, B, "jacob_cov");
  checkTrainBn(x, "jacob_cov", "use batchSize ≥ 2");
  const Init init = resolveInit(r, Init::Torch);
  ZeroBiasesOnExit restore{x};
  const Shape s0 = d.valueShape[0];
  const int64_t C = s0.c, hw = s0.plane(), cs = x.channelStride(0), D = C * hw;
  std::vector<double> mean(static_cast<size_t>(B)), cov(static_cast<size_t>(B * B)), lmin, lmax;
  Executor::ForwardMode mode;
  mode.bnEps = r.bnEps;
  for (uint32_t repeat = r.firstRepeat; repeat < r.firstRepeat + r.repeats; ++repeat) {
    checkCancelled(r);
    initParams(x, init, r.seed, repeat, pool);
    fillImages(x, r, repeat, 0, B, pool);
    x.forward(pool, mode);
    seedSum(x, 1.f);
    x.backward(pool, true);
    const float* J = x.grad(0);  // [C][N][H][W]: row i = (c, p) ↦ J[c·cs + i·hw + p]
    pool.parallelFor(B, [&](int64_t i, int, float*) {
      double m = 0;
      for (int64_t c = 0; c < C; ++c)
        for (int64_t p = 0; p < hw; ++p) m += J[c * cs + i * hw + p];
      mean[static_cast<size_t>(i)] = m / static_cast<double>(D);
    });
    pool.parallelFor(B, [&](int64_t i, int, float*) {
      const double mi = mean[static_cast<size_t>(i)];
      for (int64_t j = i; j < B; ++j) {
        const double mj = mean[static_cast<size_t>(j)];
        double acc = 0;
        for (int64_t c = 0; c < C; ++c) {
          const float* a = J + c * cs + i * hw;
          const float* b = J + c * cs + j * hw;
          for (int64_t p = 0; p < hw; ++p) acc += (a[p] - mi) * (b[p] - mj);
        }
        cov[static_cast<size_t>(i * B + j)] = cov[static_cast<size_t>(j * B + i)] = acc / static_cast<double>(D - 1);
      }
    });
    std::vector<double> sd(static_cast<size_t>(B));
    for (int64_t i = 0; i < B; ++i) {
      const double v = cov[static_cast<size_t>(i * B + i)];
      if (!(v > 0))
        fail("E_STRUCTURE", "jacob_cov: the input gradient of image " + std::to_string(i) +
                                " is constant: its correlation is undefined (the official code returns NaN)");
      sd[static_cast<size_t>(i)] = std::sqrt(v);
    }
    std::vector<double> corr(static_cast<size_t>(B * B));
    for (int64_t i = 0; i < B; ++i)
      for (int64_t j = 0; j < B; ++j) {
        const double c = cov[static_cast<size_t>(i * B + j)] / sd[static_cast<size_t>(i)] / sd[static_cast<size_t>(j)];
        corr[static_cast<size_t>(i * B + j)] = std::min(1.0, std::max(-1.0, c));
      }
    const std::vector<double> v = symmetricEigenvalues(std::move(corr), B);
    constexpr double k = 1e-5;
    double score = 0;
    for (double e : v) score -= std::log(e + k) + 1.0 / (e + k);
    if (!std::isfinite(score)) fail("E_STRUCTURE", "jacob_cov: an eigenvalue of the correlation matrix is ≤ −1e-5: ln(v + k) is undefined");
    out.scores.push_back(score);
    lmin.push_back(v.front());
    lmax.push_back(v.back());
  }
  out.series.emplace_back("lambdaMin", std::move(lmin));
  out.series.emplace_back("lambdaMax", std::move(lmax));
}

}  // namespace

extern const CpuProxy kJacobCovProxy = {"jacob_cov", config, run};

}  // namespace cpu
}  // namespace zennas
