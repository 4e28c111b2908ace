#include "zen_plan.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <cstring>
#include <string>

#include "../common/errors.h"
#include "../common/philox.h"

namespace zennas {
namespace cpu {

namespace {

constexpr int64_t kWeightChunk = int64_t(1) << 16;  // Gaussians per RNG task (fits the scratch)
constexpr int64_t kElemTask = int64_t(1) << 15;     // elements per element-wise task (min)

bool hasWeights(OpCode op) { return op == OpCode::Conv || op == OpCode::DwConv || op == OpCode::Linear; }
bool isGemm(OpCode op) { return op == OpCode::Conv || op == OpCode::Linear; }

int64_t roundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

/** True when `slot` is read by op i (i >= from), or is the output, before being overwritten. */
bool readLater(const Descriptor& d, int32_t slot, size_t from) {
  for (size_t i = from; i < d.ops.size(); ++i) {
    const OpDesc& o = d.ops[i];
    if (o.src == slot) return true;
    if ((o.op == OpCode::Mul || o.op == OpCode::Add) && o.aux == slot) return true;
    if (o.dst == slot) return false;
  }
  return slot == d.outputSlot;
}

std::string gib(double bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

}  // namespace

int64_t ZenPlan::channelStride(int64_t images, int64_t plane) {
  int64_t s = roundUp(images * plane, 16);
  if (s % 256 == 0) s += 16;  // a power-of-two-ish stride maps every channel row to the same cache set
  return s;
}

double ZenPlan::estimateBytes(const Descriptor& d, int64_t images) {
  double b = 4.0 * d.inputChannels * static_cast<double>(channelStride(images, d.ops.empty() ? 1 : d.ops[0].in.plane()));
  for (const OpDesc& o : d.ops) b += 4.0 * static_cast<double>(o.cout) * static_cast<double>(channelStride(images, o.out.plane()));
  for (const OpDesc& o : d.ops) {
    if (isGemm(o.op)) b += 4.0 * static_cast<double>(packedASize(o.cout, o.weights / o.cout));
    else if (o.op == OpCode::DwConv) b += 4.0 * static_cast<double>(o.weights);
    if (o.op == OpCode::BN) b += 16.0 * o.cin;
  }
  return b;
}

ZenPlan::ZenPlan(Descriptor d, int batch, int resolution, double limitBytes, bool evalOnly)
    : k_(selectKernels()), d_(std::move(d)), batch_(batch), resolution_(resolution), n_((evalOnly ? 1 : 2) * int64_t(batch)),
      twoForwards_(!evalOnly) {
  const double need = estimateBytes(d_, n_);
  if (need > limitBytes)
    fail("E_OUT_OF_MEMORY", "the plan needs " + gib(need) + " (activations of " + std::to_string(n_) + " images at " +
                                std::to_string(resolution) + "×" + std::to_string(resolution) + " plus weights), more than the limit of " +
                                gib(limitBytes) + ": lower batchSize or resolution");

  // ---- steps, geometry, fusion
  int64_t wOff = 0;
  steps_.resize(d_.ops.size());
  int nbn = 0;
  int64_t bnChannels = 0;
  for (size_t i = 0; i < d_.ops.size(); ++i) {
    Step& s = steps_[i];
    s.op = d_.ops[i];
    const OpDesc& o = s.op;
    ConvGeom& g = s.g;
    g.cin = o.cin; g.cout = o.cout; g.n = n_;
    g.h = o.in.h; g.w = o.in.w; g.oh = o.out.h; g.ow = o.out.w;
    g.inStride = stride(o.in.plane());
    g.outStride = stride(o.out.plane());
    g.k = o.kernel > 0 ? o.kernel : 1;
    g.stride = o.stride > 0 ? o.stride : 1;
    g.pad = (g.k - 1) / 2;
    if (o.op == OpCode::Linear) { g.k = 1; g.stride = 1; g.pad = 0; }
    if (hasWeights(o.op)) {
      s.weightOffset = wOff;
      wOff += isGemm(o.op) ? packedASize(o.cout, o.weights / o.cout) : o.weights;
      for (int64_t b = 0; b < o.weights; b += kWeightChunk) weightChunks_.push_back({static_cast<int>(i), b, std::min(o.weights, b + kWeightChunk)});
    }
    if (o.op == OpCode::BN) {
      s.bn = nbn++;
      bnChannelOffset_.push_back(bnChannels);
      bnChannels += o.cin;
      s.applyDst = o.dst;
      if (i + 1 < d_.ops.size()) {
        const OpDesc& r = d_.ops[i + 1];
        if (r.op == OpCode::Relu && r.src == o.dst && (r.dst == o.dst || !readLater(d_, o.dst, i + 2))) {
          s.fuseRelu = true;
          s.applyDst = r.dst;
          steps_[i + 1].skip = true;
        }
      }
    }
    // Parallel split (independent of the thread count; outputs are disjoint per task).
    const int64_t plane = o.out.plane();
    switch (o.op) {
      case OpCode::Conv: case OpCode::Linear: {
        const int64_t cols = g.cols();
        s.perTask = std::min<int64_t>(kMaxChunkCols, std::max<int64_t>(kNR, roundUp((cols + 7) / 8, kNR)));
        s.tasks = (cols + s.perTask - 1) / s.perTask;
        break;
      }
      default: {  // per channel
        const int64_t row = n_ * std::max(plane, o.in.plane());
        s.perTask = std::max<int64_t>(1, kElemTask / std::max<int64_t>(1, row));
        s.tasks = (o.cout + s.perTask - 1) / s.perTask;
      }
    }
  }

  // ---- buffers (never touched again until a repeat runs)
  std::vector<int64_t> slotFloats(d_.nSlots, 0);
  slotFloats[0] = d_.inputChannels * stride(int64_t(resolution) * resolution);
  for (const OpDesc& o : d_.ops) slotFloats[o.dst] = std::max(slotFloats[o.dst], o.cout * stride(o.out.plane()));
  slots_.resize(d_.nSlots);
  for (int s = 0; s < d_.nSlots; ++s) {
    const size_t n = static_cast<size_t>(slotFloats[s]);
    if (n) slots_[s].resize(n);
    bytes_ += n * 4;
  }
  weights_.resize(static_cast<size_t>(std::max<int64_t>(wOff, 1)));
  std::memset(weights_.data(), 0, sizeof(float) * weights_.size());  // padding rows of packed A stay 0
  bytes_ += weights_.size() * 4;
  clean_var_.assign(static_cast<size_t>(bnChannels), 0.0);
  clean_mean_.assign(static_cast<size_t>(bnChannels), 0.0);
  runningVar_.assign(static_cast<size_t>(bnChannels), 1.0);
  deltaPerChannel_.assign(static_cast<size_t>(d_.outputShape.c), 0.0);
}

void ZenPlan::drawAll(uint64_t seed, uint32_t repeat, double alpha, ThreadPool& pool) {
  const PhiloxKey key = PhiloxKey::fromSeed(seed);
  // Weights: stream = op index + 1, element order = OIHW, scattered into the packed GEMM layout.
  pool.parallelFor(static_cast<int64_t>(weightChunks_.size()), [&](int64_t t, int, float* scratch) {
    const WeightChunk& c = weightChunks_[static_cast<size_t>(t)];
    const Step& s = steps_[static_cast<size_t>(c.step)];
    float* w = weights_.data() + s.weightOffset;
    if (!isGemm(s.op.op)) {
      k_.gaussianFill(key, static_cast<uint32_t>(c.step + 1), repeat, static_cast<size_t>(c.begin), static_cast<size_t>(c.end), w + c.begin);
      return;
    }
    k_.gaussianFill(key, static_cast<uint32_t>(c.step + 1), repeat, static_cast<size_t>(c.begin), static_cast<size_t>(c.end), scratch);
    const int64_t K = s.op.weights / s.op.cout;
    int64_t row = c.begin / K, col = c.begin % K;
    float* panel = w + (row / kMR) * K * kMR;
    for (int64_t e = c.begin; e < c.end; ++e) {
      panel[col * kMR + row % kMR] = scratch[e - c.begin];
      if (++col == K) {
        col = 0;
        ++row;
        panel = w + (row / kMR) * K * kMR;
      }
    }
  });
  // Input x and perturbed x + αε, drawn in NCHW order, stored [C][2B][H][W].
  const int64_t C = d_.inputChannels, B = batch_, hw = int64_t(resolution_) * resolution_;
  const int64_t piece = std::min<int64_t>(hw, kWeightChunk * 4);
  const int64_t pieces = (hw + piece - 1) / piece;
  float* x0 = slots_[0].data();
  const int64_t cs = stride(hw);
  const float a = static_cast<float>(alpha);
  pool.parallelFor(B * C * pieces, [&](int64_t t, int, float* scratch) {
    const int64_t plane = t / pieces, p = t % pieces;
    const int64_t img = plane / C, c = plane % C;
    const int64_t b = p * piece, e = std::min(hw, b + piece);
    const size_t src = static_cast<size_t>((img * C + c) * hw);
    float* clean = x0 + c * cs + img * hw;
    k_.gaussianFill(key, kStreamInput, repeat, src + b, src + e, clean + b);
    if (!twoForwards_) return;
    float* noisy = x0 + c * cs + (B + img) * hw;
    k_.gaussianFill(key, kStreamNoise, repeat, src + b, src + e, scratch);
    for (int64_t i = b; i < e; ++i) {
      const float ae = a * scratch[i - b];  // torch: x + α·ε in float32, two roundings
      noisy[i] = clean[i] + ae;
    }
  });
}

void ZenPlan::runStep(const Step& s, ThreadPool& pool, bool train, bool official, double bnEps) {
  const OpDesc& o = s.op;
  const float* in = slots_[o.src].data();
  float* out = slots_[o.dst].data();
  const int64_t inPlane = o.in.plane(), outPlane = o.out.plane();
  auto each = [&](const std::function<void(int64_t, int64_t, float*)>& fn, int64_t total) {
    pool.parallelFor(s.tasks, [&](int64_t t, int, float* scratch) {
      const int64_t b = t * s.perTask;
      fn(b, std::min(total, b + s.perTask), scratch);
    });
  };
  switch (o.op) {
    case OpCode::Conv: case OpCode::Linear: {
      const float* w = weights_.data() + s.weightOffset;
      each([&](int64_t b, int64_t e, float* scratch) { k_.convGemm(s.g, w, in, out, b, e, scratch); }, s.g.cols());
      break;
    }
    case OpCode::DwConv: {
      const float* w = weights_.data() + s.weightOffset;
      each([&](int64_t b, int64_t e, float*) { k_.dwConv(s.g, w, in, out, b, e); }, o.cout);
      break;
    }
    case OpCode::MaxPool:
      each([&](int64_t b, int64_t e, float*) { k_.maxPool(s.g, in, out, b, e); }, o.cout);
      break;
    case OpCode::Gap:
      each([&](int64_t b, int64_t e, float*) { k_.gap(s.g, in, out, b, e); }, o.cout);
      break;
    case OpCode::Relu:
      if (s.skip) break;
      each([&](int64_t b, int64_t e, float*) {
        for (int64_t c = b; c < e; ++c) k_.relu(in + c * s.g.inStride, out + c * s.g.outStride, n_ * inPlane);
      }, o.cout);
      break;
    case OpCode::Sigmoid:
      each([&](int64_t b, int64_t e, float*) {
        for (int64_t c = b; c < e; ++c) k_.sigmoid(in + c * s.g.inStride, out + c * s.g.outStride, n_ * inPlane);
      }, o.cout);
      break;
    case OpCode::Add: {
      const float* aux = slots_[o.aux].data();
      each([&](int64_t b, int64_t e, float*) {
        for (int64_t c = b; c < e; ++c) k_.add(in + c * s.g.inStride, aux + c * s.g.inStride, out + c * s.g.outStride, n_ * inPlane);
      }, o.cout);
      break;
    }
    case OpCode::Mul: {
      const float* gate = slots_[o.aux].data();
      const int64_t gs = stride(1);
      each([&](int64_t b, int64_t e, float*) {
        for (int64_t c = b; c < e; ++c)
          for (int64_t img = 0; img < n_; ++img)
            k_.scale(in + c * s.g.inStride + img * inPlane, out + c * s.g.outStride + img * inPlane, inPlane, gate[c * gs + img]);
      }, o.cout);
      break;
    }
    case OpCode::BN: {
      float* dst = slots_[s.applyDst].data();
      if (!train) {  // eval mode, BN folded into the conv: identity (+ReLU)
        if (!s.fuseRelu && dst == in) break;
        each([&](int64_t b, int64_t e, float*) {
          for (int64_t c = b; c < e; ++c) {
            const int64_t off = c * s.g.inStride, len = n_ * inPlane;
            if (s.fuseRelu) k_.relu(in + off, dst + off, len);
            else std::memcpy(dst + off, in + off, sizeof(float) * len);
          }
        }, o.cout);
        break;
      }
      const int64_t half = batch_ * inPlane;  // values per channel per forward
      const double m = static_cast<double>(half);
      double* cv = clean_var_.data() + bnChannelOffset_[s.bn];
      double* cm = clean_mean_.data() + bnChannelOffset_[s.bn];
      double* rv = runningVar_.data() + bnChannelOffset_[s.bn];
      each([&](int64_t b, int64_t e, float*) {
        for (int64_t c = b; c < e; ++c) {
          for (int h = 0; h < 2; ++h) {
            const float* x = in + c * s.g.inStride + h * half;
            double sum, sumsq;
            k_.bnStats(x, half, &sum, &sumsq);
            const double mean = sum / m;
            const double var = std::max(0.0, sumsq / m - mean * mean);
            if (h == 0) cv[c] = var, cm[c] = mean;
            if (official) rv[c] = 0.9 * rv[c] + 0.1 * (var * m / (m - 1.0));
            const float invstd = static_cast<float>(1.0 / std::sqrt(var + bnEps));
            k_.bnApply(x, dst + c * s.g.outStride + h * half, half, static_cast<float>(mean), invstd, s.fuseRelu);
          }
        }
      }, o.cout);
      break;
    }
  }
  (void)outPlane;
}

void ZenPlan::forward(ThreadPool& pool, bool train, bool official, double bnEps) {
  static const bool profile = std::getenv("ZENNAS_PROFILE") != nullptr;
  if (!profile) {
    for (const Step& s : steps_) runStep(s, pool, train, official, bnEps);
    return;
  }
  // ZENNAS_PROFILE=1: per-op wall time to stderr (development aid).
  for (const Step& s : steps_) {
    const auto t0 = std::chrono::steady_clock::now();
    runStep(s, pool, train, official, bnEps);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const double gflop = isGemm(s.op.op) ? 2.0 * s.g.cout * s.g.K() * s.g.cols() / 1e9 : 0;
    std::fprintf(stderr, "zennas-profile %-7s cin %5d cout %5d k %d s %d %4lldx%-4lld %8.3f ms %7.1f GFLOP/s\n", opName(s.op.op), s.op.cin,
                 s.op.cout, s.op.kernel, s.op.stride, (long long)s.op.out.h, (long long)s.op.out.w, ms, gflop / (ms / 1e3));
  }
}

void ZenPlan::zenScore(const ZenScoreRequest& r, ThreadPool& pool, ZenScoreResult& out) {
  for (const Step& s : steps_)
    if (s.op.op == OpCode::BN && int64_t(batch_) * s.op.in.plane() < 2)
      fail("E_OPTION", "BN op " + std::to_string(&s - steps_.data()) + " normalises a single value per channel (batchSize·H·W = 1): use batchSize ≥ 2");
  std::fill(runningVar_.begin(), runningVar_.end(), 1.0);
  const Shape os = d_.outputShape;
  const int64_t half = batch_ * os.plane();
  // Official mode: running_var carries over from repeat to repeat (the official code never resets
  // it), so repeats [0, firstRepeat) are replayed first: a chunked call then equals one big call.
  const uint32_t end = r.firstRepeat + r.repeats;
  for (uint32_t repeat = r.official ? 0 : r.firstRepeat; repeat < end; ++repeat) {
    {
      static const bool profile = std::getenv("ZENNAS_PROFILE") != nullptr;
      const auto t0 = std::chrono::steady_clock::now();
      drawAll(r.seed, repeat, r.alpha, pool);
      if (profile)
        std::fprintf(stderr, "zennas-profile draw %.0f weights: %.3f ms\n", d_.totalWeights,
                     std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    forward(pool, true, r.official, r.bnEps);
    if (repeat < r.firstRepeat) continue;  // replayed only for its running_var update
    if (r.bnStatistics && repeat == r.firstRepeat) {
      for (const Step& s : steps_) {
        if (s.op.op != OpCode::BN) continue;
        out.bnOps.push_back(static_cast<int32_t>(&s - steps_.data()));
        out.bnChannels.push_back(s.op.cin);
      }
      out.bnMean = clean_mean_;
      out.bnVar = clean_var_;
    }
    const float* f = slots_[d_.outputSlot].data();
    const int64_t fs = stride(os.plane());
    const int64_t per = std::max<int64_t>(1, kElemTask / std::max<int64_t>(1, 2 * half));
    pool.parallelFor((os.c + per - 1) / per, [&](int64_t t, int, float*) {
      for (int64_t c = t * per; c < std::min(os.c, (t + 1) * per); ++c)
        deltaPerChannel_[c] = k_.l1Diff(f + c * fs, f + c * fs + half, half);
    });
    double delta = 0;
    for (int64_t c = 0; c < os.c; ++c) delta += deltaPerChannel_[c];
    delta /= batch_;
    double logSigma = 0;
    for (const Step& s : steps_) {
      if (s.op.op != OpCode::BN) continue;
      const double* v = (r.official ? runningVar_.data() : clean_var_.data()) + bnChannelOffset_[s.bn];
      double sum = 0;
      for (int64_t c = 0; c < s.op.cin; ++c) sum += v[c];
      logSigma += 0.5 * std::log(sum / s.op.cin);
    }
    const double logDelta = std::log(delta);
    out.logDelta.push_back(logDelta);
    out.logSigmaSum.push_back(logSigma);
    out.scores.push_back(logDelta + logSigma);
  }
}

void ZenPlan::evalForward(ThreadPool& pool) { forward(pool, false, false, 1e-5); }

}  // namespace cpu
}  // namespace zennas
