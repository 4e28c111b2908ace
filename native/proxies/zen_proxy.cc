// Zen-score (Zen-NAS Algorithm 1, native/DESCRIPTOR.md). Its input recipe is 2B images — x and
// x + α·ε side by side — in one executor plan with two BN groups, so each forward keeps its own
// batch statistics exactly as two separate forwards would; or (zenLaneConfig) the two forwards on
// two plans of B images at once, one per core.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "../common/errors.h"
#include "../common/philox.h"
#include "proxy.h"

namespace zennas {
namespace cpu {

namespace {

constexpr int64_t kFewBnValues = 4;             // ≤ this many values per BN channel: degenerate statistics
constexpr double kDeltaResolution = 64.0 / 16777216.0;  // 64 float32 half-ulps (2⁻²⁴) of the map

ExecutorConfig zenConfig(const ProxyRequest& r) { return {2 * int64_t(r.batch), 2, r.resolution, false}; }

/**
 * Two lanes (proxy.h), one plan of B images per forward, each forward on one core: on 2 threads
 * in paper mode. Small maps make a forward hundreds of short parallel steps, and a lane pays no
 * hand-off between threads per step: ZenNet-1M and the Space-I net ≈ 1.2× faster, ResNet-18 at
 * 224² (whose GEMMs already scale) level to 1.04× (same-process A/B; a first version that drew
 * and transformed the weights per lane lost 9 % there). Same bits either way (every kernel's
 * result is independent of the other images in its plan). Official mode carries running_var
 * over both forwards in turn, so it keeps the one plan. More threads: one plan (lanes are
 * one-thread pools).
 */
ExecutorConfig zenLaneConfig(const ProxyRequest& r, int threads) {
  if (threads != 2 || r.official) return {0, 1, r.resolution, false};
  return {int64_t(r.batch), 1, r.resolution, false};
}

/** Which Zen-score images a plan holds: x in [0, B) and x + α·ε in [B, 2B), or one of them in [0, B). */
enum class Half { Both, Clean, Perturbed };

/** x (stream kStreamInput) and x + α·ε (ε: kStreamNoise) where `h` puts them. */
void drawZenInput(Executor& x, const ProxyRequest& r, uint32_t repeat, ThreadPool& pool, Half h) {
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
    float* clean = h == Half::Perturbed ? scratch + piece - b : x0 + c * cs + img * hw;  // Perturbed: x in scratch[piece, 2·piece)
    k.gaussianFill(key, kStreamInput, repeat, src + b, src + e, clean + b);
    if (h == Half::Clean) return;
    float* noisy = x0 + c * cs + (h == Half::Both ? B + img : img) * hw;
    k.gaussianFill(key, kStreamNoise, repeat, src + b, src + e, scratch);
    for (int64_t i = b; i < e; ++i) {
      const float ae = a * scratch[i - b];  // torch: x + α·ε in float32, two roundings
      noisy[i] = clean[i] + ae;
    }
  });
}

/** The per-call state and the parts of a repeat's score that both ways of running share. */
class ZenScorer {
 public:
  ZenScorer(const Descriptor& d, const ProxyRequest& r, ProxyResult& out) : d_(d), r_(r), out_(out) {
    // Degenerate cases say so instead of returning a silently wrong number (DESCRIPTOR.md).
    for (const OpDesc& o : d.ops) {
      if (o.op != OpCode::BN) continue;
      const int64_t m = int64_t(r.batch) * o.in.plane();
      if (m <= kFewBnValues) {
        out.warnings.push_back("BN op " + std::to_string(&o - d.ops.data()) + " normalises only " + std::to_string(m) +
                               " values per channel (batchSize·H·W): its batch statistics, and σ̄, are dominated by chance; use a larger batchSize or resolution");
        break;
      }
    }
    deltaPerChannel_.assign(static_cast<size_t>(d.outputShape.c), 0.0);
    absPerChannel_.assign(static_cast<size_t>(d.outputShape.c), 0.0);
  }
  /** After the clean forward on `x` (its BN group 0): the BN statistics to return, and Σ ln σ. */
  void cleanStatistics(Executor& x, uint32_t repeat) {
    if (r_.bnStatistics && repeat == r_.firstRepeat) {
      for (int bn = 0; bn < x.numBN(); ++bn) {
        out_.bnOps.push_back(x.bnOpIndex(bn));
        out_.bnChannels.push_back(static_cast<int32_t>(x.bnChannels(bn)));
        out_.bnMean.insert(out_.bnMean.end(), x.bnMean(bn, 0), x.bnMean(bn, 0) + x.bnChannels(bn));
        out_.bnVar.insert(out_.bnVar.end(), x.bnVar(bn, 0), x.bnVar(bn, 0) + x.bnChannels(bn));
      }
    }
    logSigma_ = 0;
    for (int bn = 0; bn < x.numBN(); ++bn) {
      const double* v = r_.official ? x.runningVar().data() + x.bnOffset(bn) : x.bnVar(bn, 0);
      double sum = 0;
      for (int64_t c = 0; c < x.bnChannels(bn); ++c) sum += v[c];
      logSigma_ += 0.5 * std::log(sum / static_cast<double>(x.bnChannels(bn)));
    }
  }
  /** The score of a repeat from the clean and perturbed feature maps (channel c at f + c·stride, B images each). */
  void score(uint32_t repeat, ThreadPool& pool, const float* fClean, int64_t csClean, const float* fNoisy, int64_t csNoisy) {
    const Kernels& k = selectKernels();
    const Shape os = d_.outputShape;
    const int64_t half = int64_t(r_.batch) * os.plane();
    const int64_t per = std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(1, 2 * half));
    pool.parallelFor((os.c + per - 1) / per, [&](int64_t t, int, float*) {
      for (int64_t c = t * per; c < std::min(os.c, (t + 1) * per); ++c) {
        const float* f = fClean + c * csClean;
        deltaPerChannel_[static_cast<size_t>(c)] = k.l1Diff(f, fNoisy + c * csNoisy, half);
        double a = 0;
        for (int64_t j = 0; j < half; ++j) a += std::fabs(static_cast<double>(f[j]));
        absPerChannel_[static_cast<size_t>(c)] = a;
      }
    });
    double delta = 0, mag = 0;
    for (int64_t c = 0; c < os.c; ++c) delta += deltaPerChannel_[static_cast<size_t>(c)], mag += absPerChannel_[static_cast<size_t>(c)];
    // Σ|f − f'| within a few dozen float32 ulps of Σ|f|: the perturbation's effect is rounding noise.
    if (!lostDelta_ && !(delta > kDeltaResolution * mag)) {
      lostDelta_ = true;
      char buf[160];
      std::snprintf(buf, sizeof buf, "repeat %u: Δ is %.3g of the feature map's magnitude, below float32 resolution (%.1g): ln Δ is rounding noise", repeat,
                    mag > 0 ? delta / mag : 0.0, kDeltaResolution);
      out_.warnings.push_back(buf);
    }
    delta /= r_.batch;
    const double ld = std::log(delta);
    logDelta_.push_back(ld);
    logSigmaSum_.push_back(logSigma_);
    out_.scores.push_back(ld + logSigma_);
  }
  void finish() {
    out_.series.emplace_back("logDelta", std::move(logDelta_));
    out_.series.emplace_back("logSigmaSum", std::move(logSigmaSum_));
  }

 private:
  const Descriptor& d_;
  const ProxyRequest& r_;
  ProxyResult& out_;
  std::vector<double> deltaPerChannel_, absPerChannel_, logDelta_, logSigmaSum_;
  double logSigma_ = 0;
  bool lostDelta_ = false;
};

using Clock = std::chrono::steady_clock;
double msSince(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

void profileDraw(const Descriptor& d, double ms) {
  static const bool profile = std::getenv("ZENNAS_PROFILE") != nullptr;
  if (profile) std::fprintf(stderr, "zennas-profile draw %.0f weights: %.3f ms\n", d.totalWeights, ms);
}

Executor::ForwardMode zenMode(const ProxyRequest& r) {
  Executor::ForwardMode mode;
  mode.train = true;
  mode.trackRunningVar = r.official;
  mode.bnEps = r.bnEps;
  return mode;
}

/** One plan of 2B images, two BN groups. */
void zenRun(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out) {
  const Descriptor& d = x.descriptor();
  std::fill(x.runningVar().begin(), x.runningVar().end(), 1.0);
  const int64_t half = int64_t(r.batch) * d.outputShape.plane();
  const int32_t outValue = d.outputs[0];
  ZenScorer scorer(d, r, out);
  const Executor::ForwardMode mode = zenMode(r);
  // Official mode: running_var carries over from repeat to repeat (the official code never resets
  // it), so repeats [0, firstRepeat) are replayed first: a chunked call then equals one big call.
  const uint32_t end = r.firstRepeat + r.repeats;
  for (uint32_t repeat = r.official ? 0 : r.firstRepeat; repeat < end; ++repeat) {
    checkCancelled(r);
    const Clock::time_point t0 = Clock::now();
    x.drawWeights(r.seed, repeat, pool);
    drawZenInput(x, r, repeat, pool, Half::Both);
    profileDraw(d, msSince(t0));
    x.forward(pool, mode);
    if (repeat < r.firstRepeat) continue;  // replayed only for its running_var update
    scorer.cleanStatistics(x, repeat);
    const float* f = x.value(outValue);
    const int64_t fs = x.channelStride(outValue);
    scorer.score(repeat, pool, f, fs, f + half, fs);
  }
  scorer.finish();
}

/**
 * Lanes (zenLaneConfig): plans of B images, the clean forward on lane 0 and the perturbed one on
 * lane 1 at once, each drawing its input on its own core; the weights are drawn and transformed
 * once, on lane 0's plan with the call's pool, and lane 1 reads them (borrowWeights). Without room
 * for the second plan, lane 0 runs both forwards in turn, keeping the clean feature map.
 */
void zenRunLanes(Lanes& lanes, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out) {
  Executor& x0 = lanes.plan(0);
  const Descriptor& d = x0.descriptor();
  const int L = lanes.open(2);
  const int32_t outValue = d.outputs[0];
  const Shape os = d.outputShape;
  const int64_t half = int64_t(r.batch) * os.plane();
  ZenScorer scorer(d, r, out);
  const Executor::ForwardMode mode = zenMode(r);
  struct Borrow {  // lane 1 reads lane 0's weights for this call only (plans go back to the cache)
    Executor* x;
    ~Borrow() { if (x) x->borrowWeights(nullptr); }
  } borrow{L == 2 ? &lanes.plan(1) : nullptr};
  if (borrow.x) borrow.x->borrowWeights(&x0);
  std::vector<float> clean;  // L = 1: the clean feature map, [C][B·H·W]
  for (uint32_t repeat = r.firstRepeat; repeat < r.firstRepeat + r.repeats; ++repeat) {
    checkCancelled(r);
    const Clock::time_point t0 = Clock::now();
    x0.drawWeights(r.seed, repeat, pool);
    double drawMs = msSince(t0);
    if (L == 2) {
      x0.prepareWeights(pool);
      pool.parallelFor(2, [&](int64_t l, int, float*) {
        Executor& x = lanes.plan(static_cast<int>(l));
        ThreadPool& p = lanes.pool(static_cast<int>(l));
        struct Quiet {  // lane 1 repeats lane 0's work at the same time: the profile shows lane 0's
          explicit Quiet(bool on) { Executor::quietProfile(on); }
          ~Quiet() { Executor::quietProfile(false); }
        } quiet(l > 0);
        const Clock::time_point t1 = Clock::now();
        drawZenInput(x, r, repeat, p, l == 0 ? Half::Clean : Half::Perturbed);
        if (l == 0) profileDraw(d, drawMs + msSince(t1));
        x.forward(p, mode);
      });
      scorer.cleanStatistics(x0, repeat);
      Executor& x1 = lanes.plan(1);
      scorer.score(repeat, pool, x0.value(outValue), x0.channelStride(outValue), x1.value(outValue), x1.channelStride(outValue));
      continue;
    }
    const Clock::time_point t1 = Clock::now();
    drawZenInput(x0, r, repeat, pool, Half::Clean);
    profileDraw(d, drawMs + msSince(t1));
    x0.forward(pool, mode);
    scorer.cleanStatistics(x0, repeat);
    clean.resize(static_cast<size_t>(os.c * half));
    for (int64_t c = 0; c < os.c; ++c) std::memcpy(clean.data() + c * half, x0.value(outValue) + c * x0.channelStride(outValue), sizeof(float) * static_cast<size_t>(half));
    drawZenInput(x0, r, repeat, pool, Half::Perturbed);
    x0.forward(pool, mode);
    scorer.score(repeat, pool, clean.data(), half, x0.value(outValue), x0.channelStride(outValue));
  }
  scorer.finish();
}

}  // namespace

extern const CpuProxy kZenProxy = {"zen", zenConfig, zenRun, zenRunLanes, zenLaneConfig};

}  // namespace cpu
}  // namespace zennas
