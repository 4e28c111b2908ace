// Zen-score (Zen-NAS Algorithm 1, native/DESCRIPTOR.md). Its input recipe is 2B images — x and
// x + α·ε side by side — in one executor plan with two BN groups, so each forward keeps its own
// batch statistics exactly as two separate forwards would.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <chrono>

#include "../common/errors.h"
#include "../common/philox.h"
#include "proxy.h"

namespace zennas {
namespace cpu {

namespace {

constexpr int64_t kFewBnValues = 4;             // ≤ this many values per BN channel: degenerate statistics
constexpr double kDeltaResolution = 64.0 / 16777216.0;  // 64 float32 half-ulps (2⁻²⁴) of the map

ExecutorConfig zenConfig(const ProxyRequest& r) { return {2 * int64_t(r.batch), 2, r.resolution, false}; }

/** x (stream kStreamInput) in images [0, B), x + α·ε (ε: kStreamNoise) in [B, 2B). */
void drawZenInput(Executor& x, const ProxyRequest& r, uint32_t repeat, ThreadPool& pool) {
  const Kernels& k = selectKernels();
  const PhiloxKey key = PhiloxKey::fromSeed(r.seed);
  const Shape s = x.descriptor().valueShape[0];
  const int64_t C = s.c, B = r.batch, hw = s.plane(), cs = x.channelStride(0);
  const int64_t piece = std::min<int64_t>(hw, int64_t(1) << 18);
  const int64_t pieces = (hw + piece - 1) / piece;
  float* x0 = x.value(0);
  const float a = static_cast<float>(r.alpha);
  pool.parallelFor(B * C * pieces, [&](int64_t t, int, float* scratch) {
    const int64_t plane = t / pieces, p = t % pieces;
    const int64_t img = plane / C, c = plane % C;
    const int64_t b = p * piece, e = std::min(hw, b + piece);
    const size_t src = static_cast<size_t>((img * C + c) * hw);
    float* clean = x0 + c * cs + img * hw;
    k.gaussianFill(key, kStreamInput, repeat, src + b, src + e, clean + b);
    float* noisy = x0 + c * cs + (B + img) * hw;
    k.gaussianFill(key, kStreamNoise, repeat, src + b, src + e, scratch);
    for (int64_t i = b; i < e; ++i) {
      const float ae = a * scratch[i - b];  // torch: x + α·ε in float32, two roundings
      noisy[i] = clean[i] + ae;
    }
  });
}

void zenRun(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out) {
  static const bool profile = std::getenv("ZENNAS_PROFILE") != nullptr;
  const Descriptor& d = x.descriptor();
  std::fill(x.runningVar().begin(), x.runningVar().end(), 1.0);
  const Shape os = d.outputShape;
  const int64_t half = int64_t(r.batch) * os.plane();
  const int32_t outValue = d.outputs[0];
  std::vector<double> deltaPerChannel(static_cast<size_t>(os.c), 0.0), absPerChannel(static_cast<size_t>(os.c), 0.0), logDelta, logSigmaSum;
  // Degenerate cases say so instead of returning a silently wrong number (DESCRIPTOR.md).
  for (int bn = 0; bn < x.numBN(); ++bn) {
    const int64_t m = int64_t(r.batch) * d.ops[static_cast<size_t>(x.bnOpIndex(bn))].in.plane();
    if (m <= kFewBnValues) {
      out.warnings.push_back("BN op " + std::to_string(x.bnOpIndex(bn)) + " normalises only " + std::to_string(m) +
                             " values per channel (batchSize·H·W): its batch statistics, and σ̄, are dominated by chance; use a larger batchSize or resolution");
      break;
    }
  }
  bool lostDelta = false;
  Executor::ForwardMode mode;
  mode.train = true;
  mode.trackRunningVar = r.official;
  mode.bnEps = r.bnEps;
  // Official mode: running_var carries over from repeat to repeat (the official code never resets
  // it), so repeats [0, firstRepeat) are replayed first: a chunked call then equals one big call.
  const uint32_t end = r.firstRepeat + r.repeats;
  for (uint32_t repeat = r.official ? 0 : r.firstRepeat; repeat < end; ++repeat) {
    checkCancelled(r);
    const auto t0 = std::chrono::steady_clock::now();
    x.drawWeights(r.seed, repeat, pool);
    drawZenInput(x, r, repeat, pool);
    if (profile)
      std::fprintf(stderr, "zennas-profile draw %.0f weights: %.3f ms\n", d.totalWeights,
                   std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    x.forward(pool, mode);
    if (repeat < r.firstRepeat) continue;  // replayed only for its running_var update
    if (r.bnStatistics && repeat == r.firstRepeat) {
      for (int bn = 0; bn < x.numBN(); ++bn) {
        out.bnOps.push_back(x.bnOpIndex(bn));
        out.bnChannels.push_back(static_cast<int32_t>(x.bnChannels(bn)));
        out.bnMean.insert(out.bnMean.end(), x.bnMean(bn, 0), x.bnMean(bn, 0) + x.bnChannels(bn));
        out.bnVar.insert(out.bnVar.end(), x.bnVar(bn, 0), x.bnVar(bn, 0) + x.bnChannels(bn));
      }
    }
    const Kernels& k = selectKernels();
    const float* f = x.value(outValue);
    const int64_t fs = x.channelStride(outValue);
    const int64_t per = std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(1, 2 * half));
    pool.parallelFor((os.c + per - 1) / per, [&](int64_t t, int, float*) {
      for (int64_t c = t * per; c < std::min(os.c, (t + 1) * per); ++c) {
        deltaPerChannel[static_cast<size_t>(c)] = k.l1Diff(f + c * fs, f + c * fs + half, half);
        double a = 0;
        for (int64_t j = 0; j < half; ++j) a += std::fabs(static_cast<double>(f[c * fs + j]));
        absPerChannel[static_cast<size_t>(c)] = a;
      }
    });
    double delta = 0, mag = 0;
    for (int64_t c = 0; c < os.c; ++c) delta += deltaPerChannel[static_cast<size_t>(c)], mag += absPerChannel[static_cast<size_t>(c)];
    // Σ|f − f'| within a few dozen float32 ulps of Σ|f|: the perturbation's effect is rounding noise.
    if (!lostDelta && !(delta > kDeltaResolution * mag)) {
      lostDelta = true;
      char buf[160];
      std::snprintf(buf, sizeof buf, "repeat %u: Δ is %.3g of the feature map's magnitude, below float32 resolution (%.1g): ln Δ is rounding noise", repeat,
                    mag > 0 ? delta / mag : 0.0, kDeltaResolution);
      out.warnings.push_back(buf);
    }
    delta /= r.batch;
    double logSigma = 0;
    for (int bn = 0; bn < x.numBN(); ++bn) {
      const double* v = r.official ? x.runningVar().data() + x.bnOffset(bn) : x.bnVar(bn, 0);
      double sum = 0;
      for (int64_t c = 0; c < x.bnChannels(bn); ++c) sum += v[c];
      logSigma += 0.5 * std::log(sum / static_cast<double>(x.bnChannels(bn)));
    }
    const double ld = std::log(delta);
    logDelta.push_back(ld);
    logSigmaSum.push_back(logSigma);
    out.scores.push_back(ld + logSigma);
  }
  out.series.emplace_back("logDelta", std::move(logDelta));
  out.series.emplace_back("logSigmaSum", std::move(logSigmaSum));
}

}  // namespace

extern const CpuProxy kZenProxy = {"zen", zenConfig, zenRun};

}  // namespace cpu
}  // namespace zennas
