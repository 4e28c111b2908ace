// `gradients`: one training-mode forward + backward per repeat through a loss head, the building
// block of the gradient-based proxies and the reference point of the backward-pass tests. Input x
// is the Zen-score's clean input (Philox stream kStreamInput); loss 'sum' seeds ∂(Σ outputs),
// 'cross-entropy' is softmax CE over the logits (outputs[0], [classes][1][1]) averaged over the
// batch, with labels given or drawn from Philox (DESCRIPTOR.md).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "../common/errors.h"
#include "../common/philox.h"
#include "proxy.h"
#include "zero_shot.h"

namespace zennas {
namespace cpu {

namespace {

constexpr uint32_t kStreamLabels = 0x40000002u;

ExecutorConfig gradConfig(const ProxyRequest& r) { return {int64_t(r.batch), 1, r.resolution, true}; }

/** Label n of repeat r: floor(x · classes / 2³²), x = lane n mod 4 of Philox(ctr = (n/4, stream, repeat, 0)). */
int32_t philoxLabel(PhiloxKey key, uint32_t repeat, int64_t n, int32_t classes) {
  const uint32_t ctr[4] = {static_cast<uint32_t>(n / 4), kStreamLabels, repeat, 0};
  uint32_t o[4];
  philox4x32_10(ctr, key, o);
  return static_cast<int32_t>((static_cast<uint64_t>(o[n % 4]) * static_cast<uint64_t>(classes)) >> 32);
}

/** Seeds the output gradients; returns the loss. */
double seedLoss(Executor& x, const ProxyRequest& r, uint32_t repeat) {
  const Descriptor& d = x.descriptor();
  const int64_t B = r.batch;
  for (size_t k = 1; k < d.outputs.size(); ++k) {  // only outputs[0] carries the loss
    const int32_t v = d.outputs[k];
    std::memset(x.grad(v), 0, sizeof(float) * static_cast<size_t>(d.valueShape[static_cast<size_t>(v)].c * x.channelStride(v)));
  }
  const int32_t v = d.outputs[0];
  const Shape s = d.valueShape[static_cast<size_t>(v)];
  const int64_t cs = x.channelStride(v), len = B * s.plane();
  const float* y = x.value(v);
  float* g = x.grad(v);
  if (r.loss == "sum") {
    double loss = 0;
    for (int64_t c = 0; c < s.c; ++c) {
      for (int64_t j = 0; j < len; ++j) {
        loss += y[c * cs + j];
        g[c * cs + j] = 1.f;
      }
      for (int64_t j = len; j < cs; ++j) g[c * cs + j] = 0.f;
    }
    return loss;
  }
  // cross-entropy
  if (s.h != 1 || s.w != 1)
    fail("E_OPTION", "loss 'cross-entropy' needs logits of shape [classes][1][1] as the first output, got [" + std::to_string(s.c) + "][" +
                         std::to_string(s.h) + "][" + std::to_string(s.w) + "] (lower with a classifier head)");
  const int32_t classes = static_cast<int32_t>(s.c);
  if (!r.labels.empty() && static_cast<int64_t>(r.labels.size()) != B)
    fail("E_OPTION", "labels: " + std::to_string(r.labels.size()) + " labels for a batch of " + std::to_string(B));
  const PhiloxKey key = PhiloxKey::fromSeed(r.seed);
  std::memset(g, 0, sizeof(float) * static_cast<size_t>(s.c * cs));
  double loss = 0;
  for (int64_t n = 0; n < B; ++n) {
    const int32_t label = r.labels.empty() ? philoxLabel(key, repeat, n, classes) : r.labels[static_cast<size_t>(n)];
    if (label < 0 || label >= classes) fail("E_OPTION", "labels[" + std::to_string(n) + "] = " + std::to_string(label) + " is not a class in 0.." + std::to_string(classes - 1));
    double mx = -INFINITY;
    for (int32_t c = 0; c < classes; ++c) mx = std::max(mx, static_cast<double>(y[c * cs + n]));
    double z = 0;
    for (int32_t c = 0; c < classes; ++c) z += std::exp(static_cast<double>(y[c * cs + n]) - mx);
    const double lse = mx + std::log(z);
    loss += lse - static_cast<double>(y[label * cs + n]);
    for (int32_t c = 0; c < classes; ++c) {
      const double p = std::exp(static_cast<double>(y[c * cs + n]) - lse);
      g[c * cs + n] = static_cast<float>((p - (c == label ? 1.0 : 0.0)) / static_cast<double>(B));
    }
  }
  return loss / static_cast<double>(B);
}

void gradRun(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out) {
  if (r.loss != "sum" && r.loss != "cross-entropy") fail("E_OPTION", "loss must be 'sum' or 'cross-entropy', got '" + r.loss + "'");
  const Descriptor& d = x.descriptor();
  Executor::ForwardMode mode;
  mode.bnEps = r.bnEps;
  std::vector<double> gradNorm, passSeconds;
  const Init init = resolveInit(r, Init::Normal);
  ZeroBiasesOnExit restore{x};
  for (uint32_t repeat = r.firstRepeat; repeat < r.firstRepeat + r.repeats; ++repeat) {
    checkCancelled(r);
    initParams(x, init, r.seed, repeat, pool);
    drawGaussianImages(x, r.seed, kStreamInput, repeat, 0, r.batch, pool);
    const auto t0 = std::chrono::steady_clock::now();
    x.forward(pool, mode);
    out.scores.push_back(seedLoss(x, r, repeat));
    x.backward(pool, r.inputGradient, true);  // reads weight and input gradients only: the fused BN + ReLU step may run
    passSeconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    double sq = 0;
    for (size_t i = 0; i < d.ops.size(); ++i) {
      const float* g = x.weightGrad(i);
      for (int64_t j = 0; g && j < x.weightGradSize(i); ++j) sq += static_cast<double>(g[j]) * g[j];
    }
    gradNorm.push_back(std::sqrt(sq));
  }
  out.series.emplace_back("gradNorm", std::move(gradNorm));
  out.series.emplace_back("passSeconds", std::move(passSeconds));  // forward + loss + backward only (what a PyTorch step times)
  if (r.returnGradients) {
    for (size_t i = 0; i < d.ops.size(); ++i) {
      const float* g = x.weightGrad(i);
      if (g) out.gradients.emplace_back(static_cast<int32_t>(i), std::vector<float>(g, g + x.weightGradSize(i)));
    }
    if (r.inputGradient) {  // [C][B][H][W] → NCHW
      const Shape s = d.valueShape[0];
      const int64_t cs = x.channelStride(0), hw = s.plane();
      out.inputGradient.resize(static_cast<size_t>(r.batch * s.size()));
      const float* g = x.grad(0);
      for (int64_t n = 0; n < r.batch; ++n)
        for (int64_t c = 0; c < s.c; ++c)
          std::memcpy(out.inputGradient.data() + (n * s.c + c) * hw, g + c * cs + n * hw, sizeof(float) * static_cast<size_t>(hw));
    }
  }
}

}  // namespace

extern const CpuProxy kGradientsProxy = {"gradients", gradConfig, gradRun};

}  // namespace cpu
}  // namespace zennas
