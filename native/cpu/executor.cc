#include "executor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <optional>
#include <string>

#include "../common/env.h"
#include "../common/errors.h"
#include "../common/philox.h"
#include "cpu_backend.h"

namespace zennas {
namespace cpu {

namespace {

constexpr int64_t kWeightChunk = int64_t(1) << 16;  // Gaussians per RNG task (fits the scratch)
constexpr int64_t kElemTask = int64_t(1) << 15;     // elements per element-wise task (min)
constexpr int64_t kBwdColsK = 2 * kNR;              // weight-gradient GEMM task: columns of dW (rows: all, or split …
constexpr int64_t kBwdMinTasks = 16;                //   … into blocks of whole panels until there are this many tasks)

bool isGemm(OpCode op) { return op == OpCode::Conv || op == OpCode::Linear; }

int64_t roundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Parallel split of a conv's GEMM columns (winoSplit below: of its Winograd tiles): ≈ 8 tasks of
// whole NR panels, at most a chunk each; independent of the thread count, so are the results.
void gemmSplit(const ConvGeom& g, int64_t& perTask, int64_t& tasks) {
  const int64_t cols = g.cols();
  perTask = std::min<int64_t>(kMaxChunkCols, std::max<int64_t>(kNR, roundUp((cols + 7) / 8, kNR)));
  tasks = (cols + perTask - 1) / perTask;
}

/** True when `slot` is read by op i (i >= from), or is an output, before being overwritten. */
bool readLater(const Descriptor& d, int32_t slot, size_t from) {
  for (size_t i = from; i < d.ops.size(); ++i) {
    const OpDesc& o = d.ops[i];
    for (int32_t s : o.inputSlots)
      if (s == slot) return true;
    if (o.dst == slot) return false;
  }
  for (int32_t v : d.outputs)
    if (d.valueSlot[static_cast<size_t>(v)] == slot) return true;
  return false;
}

/** Per value: the ops that read it, plus one if it is an output. */
std::vector<int> readerCounts(const Descriptor& d) {
  std::vector<int> reads(d.valueShape.size(), 0);
  for (const OpDesc& o : d.ops)
    for (int32_t v : o.inputs) ++reads[static_cast<size_t>(v)];
  for (int32_t v : d.outputs) ++reads[static_cast<size_t>(v)];
  return reads;
}

int64_t paramCount(const OpDesc& o) {
  switch (opSpec(o.op).weights) {
    case WeightKind::Conv: case WeightKind::Depthwise: return o.weights;
    case WeightKind::Linear: return o.weights + (o.bias ? o.cout : 0);
    case WeightKind::BN: return 2 * int64_t(o.cin);
    case WeightKind::None: return 0;
  }
  return 0;
}

/** ZENNAS_BWD_DW: 'dot' = 1, 'gemm' = 2 (the direct weight-gradient form forced), else 0 (the planner's choice). */
int bwdDwEnv() {
  static const int mode = [] {
    const char* v = std::getenv("ZENNAS_BWD_DW");
    return !v ? 0 : std::strcmp(v, "dot") == 0 ? 1 : std::strcmp(v, "gemm") == 0 ? 2 : 0;
  }();
  return mode;
}

/** Dot form for the weight gradient, else the packed GEMM (ZENNAS_BWD_DW=dot|gemm forces one). */
bool useDot(const ConvGeom& g) {
  if (const int mode = bwdDwEnv()) return mode == 1;
  // Measured (CPU time, benchmarks/backward-cpu/profile.ts): the GEMM wins on wide layers and on
  // tiny maps (the dot form's rows are then a few floats); the dot form on narrow layers.
  if (g.k == 1 && g.stride == 1) return true;
  return !(g.ow <= 4 || (g.cin >= 64 && g.cout >= 64));
}

/** Channels per task of a conv's per-channel passes (≈ 8 tasks): its perTask counts GEMM columns. */
int64_t convChannelsPerTask(int64_t channels) { return std::max<int64_t>(1, channels / 8); }

/** ZENNAS_CONV: 'direct' (also 'packed' / 'indirect', which pick the direct GEMM path) = no Winograd; 'winograd' = Winograd wherever eligible; else auto. */
int convEnv() {
  static const int mode = [] {
    const char* v = std::getenv("ZENNAS_CONV");
    if (!v) return 0;
    if (!std::strcmp(v, "direct") || !std::strcmp(v, "packed") || !std::strcmp(v, "indirect")) return 1;
    return !std::strcmp(v, "winograd") ? 2 : 0;
  }();
  return mode;
}

/** The geometry the planner decides on (strides between channels left out). */
ConvGeom planGeom(const OpDesc& o, int64_t n) {
  ConvGeom g;
  g.cin = o.cin; g.cout = o.cout; g.n = n;
  g.h = o.in.h; g.w = o.in.w; g.oh = o.out.h; g.ow = o.out.w;
  g.k = o.kernel > 0 ? o.kernel : 1;
  g.stride = o.stride > 0 ? o.stride : 1;
  g.pad = (g.k - 1) / 2;
  return g;
}

/** Tiles per Winograd task: its scratch fits the worker's, its V and M blocks stay near L2. */
int64_t winoChunk(const ConvGeom& g) {
  const int64_t fit = static_cast<int64_t>(ThreadPool::kScratchFloats) / winoPlainScratchFloats(g, 1);
  const int64_t l2 = (int64_t(1) << 18) / (kWinoXi * (winoK(g) + g.cout));
  int64_t chunk = std::max<int64_t>(kNR, std::min<int64_t>({fit, std::max<int64_t>(l2, 32), 128}) / kNR * kNR);
  // the ξ planes' cache-line padding (winoVStride) must fit too (tiles per chunk do not change any bit)
  while (chunk > kNR && winoScratchFloats(g, chunk) > static_cast<int64_t>(ThreadPool::kScratchFloats)) chunk -= kNR;
  return chunk;
}

/**
 * Tiles per chunk of the Winograd weight gradient: a multiple of 8, ≤ 256, its transforms ≤ 32 MiB
 * (so that the wide, small-map layers take one chunk: M, 4× the size of dW, is then written once).
 */
int64_t winoWgradChunk(const ConvGeom& g) {
  const int64_t perTile = kWinoXi * (winoWgradASize(g, 1) + winoWgradBSize(g, 1));
  const int64_t fit = std::max<int64_t>(32, (int64_t(1) << 23) / perTile / 8 * 8);
  return std::min<int64_t>({256, roundUp(winoTiles(g), 8), fit});
}

void winoSplit(const ConvGeom& g, int64_t& perTask, int64_t& tasks) {
  const int64_t tiles = winoTiles(g);
  perTask = std::max<int64_t>(kNR, std::min(winoChunk(g), roundUp((tiles + 7) / 8, kNR)));  // ≥ 16 also for 0 images (size estimates)
  tasks = (tiles + perTask - 1) / perTask;
}

/** ZENNAS_WINO_WIDE: '0' = never layer-wide, '1' = every Winograd conv layer-wide (tests, A/B), else the rule. */
int winoWideEnv() {
  static const int mode = [] {
    const char* v = std::getenv("ZENNAS_WINO_WIDE");
    return !v ? -1 : std::strcmp(v, "0") == 0 ? 0 : std::strcmp(v, "1") == 0 ? 1 : -1;
  }();
  return mode;
}

/**
 * Layer-wide Winograd (winograd.h) when its extra traffic — V and M written and read once — is under
 * half of what the chunks would read of U (each chunk streams all of it), and V + M stay ≤ 64 MiB.
 * ResNet-18 at batch 32: the 256- and 512-channel stages go wide (U 9.4 / 37.7 MB read by 32 / 8
 * chunks), the 64- and 128-channel ones, and every CIFAR search candidate, stay chunked.
 */
bool winoWideFor(const ConvGeom& g) {
  const double vm = static_cast<double>(winoWideFloats(g));
  if (winoTiles(g) == 0 || vm > static_cast<double>(int64_t(1) << 24)) return false;
  if (const int env = winoWideEnv(); env >= 0) return env == 1;
  int64_t perTask = 0, tasks = 0;
  winoSplit(g, perTask, tasks);
  return static_cast<double>(tasks) * static_cast<double>(winoWeightFloats(g)) > 2.0 * 2.0 * vm;
}

/** Winograd's modelled cost per 4×4 tile against the direct conv's (both in FLOP of the GEMM
 *  micro-kernel): the 36·S² multiply-adds per (cin, cout) pair, weighted by `gemm` (Winograd's
 *  GEMMs run slower per FLOP than the direct one: K is S·cin, and V and M go through L2), one input
 *  transform per (sub-kernel, input channel) and one output transform per output channel. */
double winoSaving(const ConvGeom& g, double gemm, double inPerChannel, double outPerChannel, double uStream = 0.0) {
  const double S2 = static_cast<double>(winoSub(g) * winoSub(g)), ci = static_cast<double>(g.cin), co = static_cast<double>(g.cout);
  const double tiles = static_cast<double>(winoTilesH(g) * winoTilesW(g)), pixels = static_cast<double>(g.oh * g.ow);
  const double direct = pixels * 2.0 * static_cast<double>(g.k * g.k) * ci * co;
  // uStream: each chunk of tiles streams all of U (36·S²·ci·co floats), and a chunk holds fewer tiles
  // the deeper V and M are (∝ 1 / (S²·ci + co)): per tile ∝ S²·ci·co·(S²·ci + co)
  const double wino = tiles * (gemm * 2.0 * 36.0 * S2 * ci * co + inPerChannel * S2 * ci + outPerChannel * co + uStream * S2 * ci * co * (S2 * ci + co));
  return direct / wino;
}

/** Whether the kernels in use are the AVX-512 build (whose cost model differs; same bits otherwise). */
bool avx512Kernels() {
  static const bool yes = std::strcmp(selectKernels().simd, "avx512") == 0;
  return yes;
}

/** The choice when it is not the cost model's: not eligible, or forced by ZENNAS_CONV / conv 'direct'. */
std::optional<bool> winoForcedChoice(const ConvGeom& g, const OpDesc& o, const ExecutorConfig& c) {
  static_assert(kWinoScratchBudget == static_cast<int64_t>(ThreadPool::kScratchFloats), "winograd.h's scratch budget");
  // the unpadded chunk size (as before the ξ planes were padded: the same layers run Winograd)
  if (o.op != OpCode::Conv || !winoEligible(g) || winoPlainScratchFloats(g, kNR) > static_cast<int64_t>(ThreadPool::kScratchFloats)) return false;
  const int env = convEnv();
  if (env == 1 || (env == 0 && c.convDirect)) return false;
  if (env == 2) return true;
  return std::nullopt;
}

}  // namespace

bool Executor::chooseWinogradWgrad(const ConvGeom& g, const OpDesc& o, const ExecutorConfig& c) {
  // ZENNAS_BWD_DW=dot|gemm forces the direct forms (A/B comparisons); else the plan's rule.
  return bwdDwEnv() == 0 && chooseWinograd(g, o, c);
}

bool Executor::chooseWinograd(const ConvGeom& g, const OpDesc& o, const ExecutorConfig& c) {
  if (const std::optional<bool> forced = winoForcedChoice(g, o, c)) return *forced;
  // Forward-only plans (the Zen-score, the forward proxies): fitted (least squares on ln(direct /
  // Winograd time)) to two sweeps of C → C convs, C = 8 … 96, k = 3 / 5 / 7, 32² / 16² / 8² maps,
  // batch 2 × 64, each kernel timed per layer with ZENNAS_PROFILE (2-core EPYC Zen 4, after the
  // micro-kernel kept its accumulators in registers): GEMM weight 1.6, 500 FLOP per input channel,
  // 1000 per output channel — right in 57 of the 63 cells (misses within 12 %), where the first
  // fit (GEMM weight 1, 4000, 2200) missed 32. Scores move by float32 rounding only (search
  // workload: |auto − direct| ≤ 3.5e-5 on scores of 50–130).
  // Plans with a backward pass keep the first fit, which takes Winograd from ≈ 32 channels only:
  // the refit would also time the gradients faster (a sweep of the backward found it right in 59 /
  // 54 of 63 cells for the weight / input gradient), but on the well-conditioned Space-I initial
  // net its forward Winograd on 16-channel layers moved the gradients 6.6e-4 (L2, relative) from
  // float64, against 1e-6 for torch's float32 and the direct kernels: too far for the proxies'
  // float64-agreement tests of the definitions. `conv: 'winograd'` / ZENNAS_CONV=winograd still
  // forces it everywhere.
  if (c.backward) return winoSaving(g, 1.0, 4000.0, 2200.0) > 1.1;
  // The AVX-512 kernels (512-bit GEMMs, 16-tile transforms): refitted to the same sweep (two runs,
  // geometric mean; 2-core EPYC Zen 5) on the per-cell loss against the better of the two, with a
  // term for U streamed once per chunk of tiles (what makes 7×7 Winograd lose from ≈ 96 channels:
  // nine sub-kernels make V deep and the chunks short) — GEMM weight 1.5, 500 FLOP per input and
  // per output channel, U stream 0.064: sweep total 2039 ms against 2038 for the best choice in every
  // cell and 2494 all-direct (the AVX2 fit's constants: 2636, wrong in 37 of 72 cells).
  if (avx512Kernels()) return winoSaving(g, 1.5, 500.0, 500.0, 0.064) > 1.1;
  return winoSaving(g, 1.6, 500.0, 1000.0) > 1.1;
}

int64_t Executor::channelStrideFor(int64_t images, int64_t plane) {
  int64_t s = roundUp(images * plane, 16);
  if (s % 256 == 0) s += 16;  // a power-of-two-ish stride maps every channel row to the same cache set
  return s;
}

double Executor::estimateBytes(const Descriptor& d, const ExecutorConfig& c) {
  const int64_t n = c.images;
  std::vector<double> slotFloats(static_cast<size_t>(d.nSlots), 0.0);
  double b = 0;
  for (size_t v = 0; v < d.valueShape.size(); ++v) {
    const Shape& s = d.valueShape[v];
    const double f = static_cast<double>(s.c) * static_cast<double>(channelStrideFor(n, s.plane()));
    double& slot = slotFloats[static_cast<size_t>(d.valueSlot[v])];
    slot = std::max(slot, f);
    if (c.backward) b += 4.0 * f;  // gradient buffer
  }
  for (double f : slotFloats) b += 4.0 * f;
  double wgradWino = 0, wide = 0;  // one buffer each, the largest layer's
  for (const OpDesc& o : d.ops) {
    const ConvGeom pg = planGeom(o, n);
    if (isGemm(o.op)) b += 4.0 * static_cast<double>(packedASize(o.cout, o.weights / o.cout)) + 4.0 * o.cout;
    if (o.op == OpCode::Conv && chooseWinograd(pg, o, c)) {
      b += 4.0 * static_cast<double>(winoWeightFloats(pg));
      if (winoWideFor(pg)) wide = std::max(wide, 4.0 * static_cast<double>(winoWideFloats(pg)));
    } else if (o.op == OpCode::DwConv) b += 4.0 * static_cast<double>(o.weights);
    if (o.op == OpCode::BN) b += (24.0 + 8.0) * o.cin * c.groups;
    if (c.backward) b += 4.0 * static_cast<double>(paramCount(o)) + (isGemm(o.op) ? 4.0 * static_cast<double>(packedASize(o.cin, o.weights / o.cin)) : 0.0);
    if (c.backward && o.op == OpCode::Conv && o.in.h == o.out.h && o.in.w == o.out.w) {  // Winograd input gradient (transposed geometry)
      ConvGeom t = pg;
      std::swap(t.cin, t.cout);
      if (chooseWinograd(t, o, c)) {
        b += 4.0 * static_cast<double>(winoWeightFloats(t));
        if (winoWideFor(t)) wide = std::max(wide, 4.0 * static_cast<double>(winoWideFloats(t)));
      }
    }
    if (c.backward && o.op == OpCode::Conv && chooseWinogradWgrad(pg, o, c))  // one buffer, the largest layer's
      wgradWino = std::max(wgradWino, 4.0 * static_cast<double>(winoWgradFloats(pg, winoWgradChunk(pg))));
  }
  return b + wgradWino + wide;
}

Executor::Executor(Descriptor d, const ExecutorConfig& c, double limitBytes) : k_(selectKernels()), d_(std::move(d)), c_(c) {
  for (const OpDesc& o : d_.ops)
    if (!findCpuOp(o.op) && o.op != OpCode::Conv && o.op != OpCode::Linear && o.op != OpCode::DwConv && o.op != OpCode::BN)
      fail("E_BACKEND", std::string("op ") + opName(o.op) + " has no CPU implementation in this build");
  if (c_.groups < 1 || c_.images % c_.groups != 0) fail("E_INTERNAL", "executor: images must split into whole groups");
  if (c_.backward && !d_.keepsAll) fail("E_INTERNAL", "executor: a backward plan needs a descriptor planned with keepAll");
  const double need = estimateBytes(d_, c_);
  if (need > limitBytes)
    fail("E_OUT_OF_MEMORY", planTooLargeMessage(d_, c_, need, limitBytes));  // says whether activations or weights dominate
  const int64_t n = c_.images;

  // ---- steps, geometry, fusion, weight layout
  int64_t wOff = 0, gOff = 0, uOff = 0, wideFloats = 0, maxSub = 1;
  steps_.resize(d_.ops.size());
  wgradOffset_.assign(d_.ops.size(), -1);
  wgradSize_.assign(d_.ops.size(), 0);
  int64_t bnChannels = 0;
  const std::vector<int> reads = readerCounts(d_);  // the fusion rules and the shared gradient buffers read it
  for (size_t i = 0; i < d_.ops.size(); ++i) {
    Step& s = steps_[i];
    const OpDesc& o = d_.ops[i];
    ConvGeom& g = s.g;
    g.cin = o.cin; g.cout = o.cout; g.n = n;
    g.h = o.in.h; g.w = o.in.w; g.oh = o.out.h; g.ow = o.out.w;
    g.inStride = stride(o.in.plane());
    g.outStride = stride(o.out.plane());
    g.k = o.kernel > 0 ? o.kernel : 1;
    g.stride = o.stride > 0 ? o.stride : 1;
    g.pad = o.pad;  // d·(k−1)/2, or AVGPOOL's pad attribute
    g.dil = o.dilation;
    if (o.op == OpCode::Linear) { g.k = 1; g.stride = 1; g.pad = 0; }
    if (o.weights > 0) {
      s.weightOffset = wOff;
      wOff += isGemm(o.op) ? packedASize(o.cout, o.weights / o.cout) : o.weights;
      for (int64_t b = 0; b < o.weights; b += kWeightChunk) weightChunks_.push_back({static_cast<int>(i), b, std::min(o.weights, b + kWeightChunk)});
    }
    if (o.op == OpCode::Linear && o.bias) {
      s.biasOffset = wOff;
      wOff += o.cout;
    }
    if (c_.backward && paramCount(o) > 0) {
      wgradOffset_[i] = gOff;
      wgradSize_[i] = paramCount(o);
      gOff += paramCount(o);
    }
    if (o.op == OpCode::BN) {
      s.bn = static_cast<int>(bnOp_.size());
      bnOp_.push_back(static_cast<int32_t>(i));
      bnOffset_.push_back(bnChannels);
      bnChannels += o.cin;
      s.applyDst = o.dst;
      if (i + 1 < d_.ops.size()) {
        const OpDesc& r = d_.ops[i + 1];
        if (r.op == OpCode::Relu && r.src == o.dst && (r.dst == o.dst || !readLater(d_, o.dst, i + 2))) {
          s.fuseRelu = true;
          s.applyDst = r.dst;
          steps_[i + 1].skip = true;
          steps_[i + 1].absorbedBy = static_cast<int>(i);
        }
      }
      // BN → ADD(BN, r) → RELU, where the ADD is the BN value's only reader and the RELU the sum's
      // (a residual block's tail): one pass y = max(BN(x) + r, 0) instead of three (same floats).
      static const bool noAddFuse = envOff("ZENNAS_FWD_FUSE");
      if (!s.fuseRelu && !noAddFuse && i + 2 < d_.ops.size()) {
        const OpDesc& a = d_.ops[i + 1];
        const OpDesc& r = d_.ops[i + 2];
        const int k = a.op != OpCode::Add || a.inputs.size() != 2 ? -1 : a.inputs[0] == o.value ? 1 : a.inputs[1] == o.value ? 0 : -1;
        if (k >= 0 && a.inputs[static_cast<size_t>(k)] != o.value && r.op == OpCode::Relu && r.inputs.size() == 1 && r.inputs[0] == a.value &&
            reads[static_cast<size_t>(o.value)] == 1 && reads[static_cast<size_t>(a.value)] == 1) {
          s.fuseAddRelu = true;
          s.resInput = k;
          s.resSlot = a.inputSlots[static_cast<size_t>(k)];
          s.applyDst = r.dst;
          for (size_t j = i + 1; j <= i + 2; ++j) {
            steps_[j].skip = true;
            steps_[j].absorbedBy = static_cast<int>(i);
          }
        }
      }
    }
    // Parallel split (independent of the thread count; outputs are disjoint per task).
    const int64_t plane = o.out.plane();
    if (isGemm(o.op)) {
      gemmSplit(g, s.perTask, s.tasks);
      if (o.op == OpCode::Conv && g.k == 1 && g.stride > 1 && g.pad == 0) {
        // Sampling once (vectorised) and a plain-copy B beats packing strided columns per K block:
        // the Space-I nets' stride-2 shortcuts ran at ≈ 10–25 GFLOP/s. Same floats, same K order.
        s.subsample = true;
        s.gSub = g;
        s.gSub.h = g.oh; s.gSub.w = g.ow; s.gSub.stride = 1;
        s.gSub.inStride = stride(g.oh * g.ow);
        maxSub = std::max<int64_t>(maxSub, g.cin * s.gSub.inStride);
      }
      if (chooseWinograd(g, o, c_)) {
        s.wino = true;
        s.winoOffset = uOff;
        uOff += winoWeightFloats(g);
        winoSplit(g, s.perTask, s.tasks);
        s.winoWide = winoWideFor(g);
        if (s.winoWide) wideFloats = std::max(wideFloats, winoWideFloats(g));
      }
    } else {  // per channel
      const int64_t row = n * std::max(plane, o.in.plane());
      s.perTask = std::max<int64_t>(1, kElemTask / std::max<int64_t>(1, row));
      s.tasks = (o.cout + s.perTask - 1) / s.perTask;
    }
  }

  // ---- buffers (never touched again until a pass runs)
  std::vector<int64_t> slotFloats(static_cast<size_t>(d_.nSlots), 0);
  for (size_t v = 0; v < d_.valueShape.size(); ++v) {
    const Shape& sh = d_.valueShape[v];
    int64_t& f = slotFloats[static_cast<size_t>(d_.valueSlot[v])];
    f = std::max(f, sh.c * stride(sh.plane()));
  }
  slots_.resize(static_cast<size_t>(d_.nSlots));
  for (int s = 0; s < d_.nSlots; ++s) {
    const size_t f = static_cast<size_t>(slotFloats[static_cast<size_t>(s)]);
    if (f) slots_[static_cast<size_t>(s)].resize(f);
    bytes_ += f * 4;
  }
  weights_.resize(static_cast<size_t>(std::max<int64_t>(wOff, 1)));
  std::memset(weights_.data(), 0, sizeof(float) * weights_.size());  // padding rows of packed A and biases stay 0
  bytes_ += weights_.size() * 4;
  if (uOff > 0) {
    winoU_.resize(static_cast<size_t>(uOff));  // every float, padding rows included, written by winoWeights
    bytes_ += winoU_.size() * 4;
  }
  const size_t bnAll = static_cast<size_t>(bnChannels * c_.groups);
  bnMean_.assign(bnAll, 0.0);
  bnVar_.assign(bnAll, 0.0);
  bnMeanF_.assign(bnAll, 0.f);
  bnInvstdF_.assign(bnAll, 0.f);
  runningVar_.assign(static_cast<size_t>(bnChannels), 1.0);
  subsampled_.resize(static_cast<size_t>(maxSub));
  bytes_ += subsampled_.size() * 4;

  if (c_.backward) {
    const size_t nValues = d_.valueShape.size();
    grads_.resize(nValues);
    for (size_t v = 0; v < nValues; ++v) {
      const Shape& sh = d_.valueShape[v];
      grads_[v].resize(static_cast<size_t>(sh.c * stride(sh.plane())));
      bytes_ += grads_[v].size() * 4;
    }
    int64_t tOff = 0, utOff = 0, maxGrad = 1;
    for (size_t v = 0; v < nValues; ++v) maxGrad = std::max<int64_t>(maxGrad, static_cast<int64_t>(grads_[v].size()));
    int64_t winoWgFloats = 0;
    for (size_t i = 0; i < d_.ops.size(); ++i) {
      Step& s = steps_[i];
      const OpDesc& o = d_.ops[i];
      if (!isGemm(o.op)) continue;
      if (wgradOffset_[i] >= 0 && chooseWinogradWgrad(s.g, o, c_)) {
        s.winoW = true;
        s.winoWCt = winoWgradChunk(s.g);
        winoWgFloats = std::max(winoWgFloats, winoWgradFloats(s.g, s.winoWCt));
      }
      const bool same = s.g.stride == 1 && s.g.oh == s.g.h && s.g.ow == s.g.w;
      const bool scatter = s.subsample;
      if (!same && !scatter) {
        if (bwdDataImagesScratch(s.g.cout) <= static_cast<int64_t>(ThreadPool::kScratchFloats)) {
          s.weightColOffset = tOff;
          tOff += packedASize(s.g.K(), s.g.cout);
          const int64_t ohw = s.g.oh * s.g.ow, per = std::max<int64_t>(1, 256 / std::max<int64_t>(1, ohw));
          s.imagesPerTaskCol = std::max<int64_t>(1, std::min(per, (n + 7) / 8));  // ≥ 8 tasks where the batch allows
        }
        continue;
      }
      ConvGeom& t = s.gT;
      t = s.g;
      t.cin = s.g.cout; t.cout = s.g.cin;
      t.inStride = s.g.outStride; t.outStride = s.g.inStride;
      if (scatter) {  // a 1×1 stride-1 conv on the output grid; its result is spread over the input grid
        s.scatterT = true;
        t.h = s.g.oh; t.w = s.g.ow; t.stride = 1;
        t.outStride = stride(s.g.oh * s.g.ow);
      }
      s.weightTOffset = tOff;
      tOff += packedASize(t.cout, t.K());
      gemmSplit(t, s.perTaskT, s.tasksT);
      if (!scatter && o.op == OpCode::Conv && chooseWinograd(t, o, c_)) {
        s.winoT = true;
        s.winoTOffset = utOff;
        utOff += winoWeightFloats(t);
        winoSplit(t, s.perTaskWT, s.tasksWT);
        s.winoWideT = winoWideFor(t);
        if (s.winoWideT) wideFloats = std::max(wideFloats, winoWideFloats(t));
      }
    }
    if (winoWgFloats > 0) {
      winoWg_.resize(static_cast<size_t>(winoWgFloats));
      bytes_ += winoWg_.size() * 4;
    }
    weightsT_.resize(static_cast<size_t>(std::max<int64_t>(tOff, 1)));
    std::memset(weightsT_.data(), 0, sizeof(float) * weightsT_.size());
    bytes_ += weightsT_.size() * 4;
    if (utOff > 0) {
      winoUT_.resize(static_cast<size_t>(utOff));  // written whole by winoWeights
      bytes_ += winoUT_.size() * 4;
    }
    for (size_t i = 0; i < d_.ops.size(); ++i)  // also holds a conv's dY packed for its weight gradient
      if (isGemm(d_.ops[i].op)) maxGrad = std::max(maxGrad, packedASize(steps_[i].g.cout, steps_[i].g.cols()));
    gradScratch_.resize(static_cast<size_t>(maxGrad));
    bytes_ += gradScratch_.size() * 4;
    wgrad_.resize(static_cast<size_t>(std::max<int64_t>(gOff, 1)));
    bytes_ += wgrad_.size() * 4;
    bnSums_.assign(static_cast<size_t>(2 * bnChannels), 0.0);
    // Which values carry a gradient (they reach an output), and which consumer writes first in reverse order.
    needsGrad_.assign(nValues, false);
    for (int32_t v : d_.outputs) needsGrad_[static_cast<size_t>(v)] = true;
    for (size_t i = d_.ops.size(); i-- > 0;)
      if (needsGrad_[static_cast<size_t>(d_.ops[i].value)])
        for (int32_t v : d_.ops[i].inputs) needsGrad_[static_cast<size_t>(v)] = true;
    std::vector<bool> written(nValues, false);
    for (int32_t v : d_.outputs) written[static_cast<size_t>(v)] = true;  // seeded by the caller
    for (size_t i = d_.ops.size(); i-- > 0;) {
      Step& s = steps_[i];
      const OpDesc& o = d_.ops[i];
      s.gradAcc.assign(o.inputs.size(), false);
      if (!needsGrad_[static_cast<size_t>(o.value)]) continue;
      for (size_t k = 0; k < o.inputs.size(); ++k) {
        const size_t v = static_cast<size_t>(o.inputs[k]);
        s.gradAcc[k] = written[v];
        written[v] = true;
      }
    }
    // A value whose only reader is an ADD or IDENTITY receives exactly that op's output gradient:
    // it shares the op's gradient buffer instead of a copy (one input per op, so two inputs never
    // share one; outputs and the input keep their own). Values are SSA: a consumer's value is larger.
    static const bool noShare = envOff("ZENNAS_BWD_FUSE");
    std::vector<int32_t> shareWith(nValues, -1);
    for (size_t i = 0; i < d_.ops.size() && !noShare; ++i) {
      const OpDesc& o = d_.ops[i];
      if ((o.op != OpCode::Add && o.op != OpCode::Identity) || !needsGrad_[static_cast<size_t>(o.value)]) continue;
      for (int32_t v : o.inputs)
        if (v != 0 && v < o.value && reads[static_cast<size_t>(v)] == 1) {
          shareWith[static_cast<size_t>(v)] = o.value;
          break;
        }
    }
    // Only backward() shares: the step-wise pass (backwardBegin / backwardOp) keeps every value's own
    // buffer, as proxies acting between ops (synflow_zc, grasp's R-pass) write gradients in place.
    gradShared_.assign(nValues, nullptr);
    for (size_t v = nValues; v-- > 0;) {
      const int32_t w = shareWith[v];
      if (w < 0) continue;
      gradShared_[v] = gradShared_[static_cast<size_t>(w)] ? gradShared_[static_cast<size_t>(w)] : grads_[static_cast<size_t>(w)].data();
    }
    gradOwn_.resize(nValues);
    for (size_t v = 0; v < nValues; ++v) {
      gradOwn_[v] = grads_[v].data();
      if (!gradShared_[v]) gradShared_[v] = grads_[v].data();
    }
    gradPtr_ = gradOwn_;
  }
  if (wideFloats > 0) {  // the largest layer-wide Winograd conv's V and M, forward or input gradient
    winoWide_.resize(static_cast<size_t>(wideFloats));
    bytes_ += winoWide_.size() * 4;
  }

  // Registered ops get their buffers once (no per-call allocation).
  for (size_t i = 0; i < d_.ops.size(); ++i) {
    Step& s = steps_[i];
    const OpDesc& o = d_.ops[i];
    s.impl = (o.op == OpCode::Conv || o.op == OpCode::Linear || o.op == OpCode::DwConv || o.op == OpCode::BN) ? nullptr : findCpuOp(o.op);
    if (!s.impl) continue;
    for (size_t k = 0; k < o.inputs.size(); ++k) {
      const int32_t v = o.inputs[k];
      s.inPtr.push_back(slots_[static_cast<size_t>(o.inputSlots[k])].data());
      s.inStride.push_back(channelStride(v));
      if (c_.backward) {
        float* g = needsGrad_[static_cast<size_t>(v)] ? grad(v) : nullptr;
        float* gs = needsGrad_[static_cast<size_t>(v)] ? gradShared_[static_cast<size_t>(v)] : nullptr;
        s.dxAll[0].push_back(g);
        s.dxNoInput[0].push_back(v == 0 ? nullptr : g);
        s.dxAll[1].push_back(gs);
        s.dxNoInput[1].push_back(v == 0 ? nullptr : gs);
      }
    }
    if (c_.backward) {
      s.accArr = std::make_unique<bool[]>(o.inputs.size());
      for (size_t k = 0; k < o.inputs.size(); ++k) s.accArr[k] = s.gradAcc[k];
    }
  }
}

void Executor::drawWeights(uint64_t seed, uint32_t repeat, ThreadPool& pool) {
  winoStale_ = true;
  const PhiloxKey key = PhiloxKey::fromSeed(seed);
  // Weights: stream = op index + 1, element order = OIHW, scattered into the packed GEMM layout.
  pool.parallelFor(static_cast<int64_t>(weightChunks_.size()), [&](int64_t t, int, float* scratch) {
    const WeightChunk& c = weightChunks_[static_cast<size_t>(t)];
    const Step& s = steps_[static_cast<size_t>(c.step)];
    const OpDesc& o = d_.ops[static_cast<size_t>(c.step)];
    float* w = weights_.data() + s.weightOffset;
    if (!isGemm(o.op)) {
      k_.gaussianFill(key, static_cast<uint32_t>(c.step + 1), repeat, static_cast<size_t>(c.begin), static_cast<size_t>(c.end), w + c.begin);
      return;
    }
    k_.gaussianFill(key, static_cast<uint32_t>(c.step + 1), repeat, static_cast<size_t>(c.begin), static_cast<size_t>(c.end), scratch);
    const int64_t K = o.weights / o.cout;
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
}

void Executor::winoTransform(ThreadPool& pool, const ConvGeom& g, const float* w, float* u) {
  constexpr int64_t kRows = kWinoWeightRows;
  pool.parallelFor((g.cout + kRows - 1) / kRows, [&](int64_t t, int, float*) {
    k_.winoWeights(g, w, u, t * kRows, std::min(g.cout, (t + 1) * kRows));
  });
}

void Executor::winoRun(ThreadPool& pool, const ConvGeom& g, const float* u, const float* in, float* out, bool wide, int64_t perTask,
                       int64_t tasks) {
  const int64_t tiles = winoTiles(g);
  if (!wide) {
    pool.parallelFor(tasks, [&](int64_t t, int, float* scratch) {
      const int64_t b = t * perTask;
      k_.winoConv(g, u, in, out, b, std::min(tiles, b + perTask), scratch);
    });
    return;
  }
  const int64_t T = winoCols(tiles), Kw = winoK(g), chunks = (tiles + kWinoMaxChunk - 1) / kWinoMaxChunk;
  float* V = winoWide_.data();
  float* M = V + kWinoXi * winoVStride(g, T);
  constexpr int64_t kRowsPerTask = 16;  // input rows (sub-kernel, channel) / output channels per transform task
  const int64_t qb = (Kw + kRowsPerTask - 1) / kRowsPerTask, cb = (g.cout + kRowsPerTask - 1) / kRowsPerTask;
  pool.parallelFor(chunks * qb, [&](int64_t t, int, float* scratch) {
    const int64_t t0 = (t / qb) * kWinoMaxChunk, q0 = (t % qb) * kRowsPerTask;
    k_.winoInputCols(g, in, V, T, t0, t0, std::min(kWinoMaxChunk, tiles - t0), q0, std::min(Kw, q0 + kRowsPerTask), scratch);
  });
  pool.parallelFor(kWinoXi, [&](int64_t xi, int, float*) { k_.winoGemmCols(g, u, V, M, T, xi, xi + 1, 0, T / kNR); });
  pool.parallelFor(chunks * cb, [&](int64_t t, int, float* scratch) {
    const int64_t t0 = (t / cb) * kWinoMaxChunk, co0 = (t % cb) * kRowsPerTask;
    k_.winoOutputCols(g, M, T, t0, out, t0, std::min(kWinoMaxChunk, tiles - t0), co0, std::min(g.cout, co0 + kRowsPerTask), scratch);
  });
}

namespace {
thread_local bool profileQuiet = false;
}  // namespace

void Executor::quietProfile(bool on) { profileQuiet = on; }

void Executor::borrowWeights(const Executor* from) {
  if (from) {
    bool same = from->d_.ops.size() == d_.ops.size() && from->weights_.size() == weights_.size() && from->winoU_.size() == winoU_.size();
    for (size_t i = 0; same && i < steps_.size(); ++i) {
      const Step &a = steps_[i], &b = from->steps_[i];
      same = a.wino == b.wino && a.weightOffset == b.weightOffset && a.winoOffset == b.winoOffset && a.biasOffset == b.biasOffset;
    }
    if (!same) fail("E_INTERNAL", "borrowWeights: the plans' weight layouts differ");
  }
  weightsFrom_ = from;
}

void Executor::transformWinoWeights(ThreadPool& pool) {
  static const bool profile = std::getenv("ZENNAS_PROFILE") != nullptr;
  const auto t0 = std::chrono::steady_clock::now();
  // Every Winograd conv's panels in one job (one per conv cost a hand-off each: a search
  // candidate's narrow convs are a few microseconds of work apiece); the same panels, the same bits.
  if (winoTasks_.empty()) {
    for (size_t i = 0; i < steps_.size(); ++i)
      if (steps_[i].wino)
        for (int64_t c = 0; c < steps_[i].g.cout; c += kWinoWeightRows)
          winoTasks_.push_back({static_cast<int>(i), c, std::min(steps_[i].g.cout, c + kWinoWeightRows)});
  }
  pool.parallelFor(static_cast<int64_t>(winoTasks_.size()), [&](int64_t t, int, float*) {
    const WeightChunk& c = winoTasks_[static_cast<size_t>(t)];
    const Step& s = steps_[static_cast<size_t>(c.step)];
    k_.winoWeights(s.g, weights_.data() + s.weightOffset, winoU_.data() + s.winoOffset, c.begin, c.end);
  });
  winoStale_ = false;
  if (profile && !profileQuiet)
    std::fprintf(stderr, "zennas-profile winograd weights %.3f ms\n", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
}

void Executor::runStep(size_t i, ThreadPool& pool, const ForwardMode& m) {
  const Step& s = steps_[i];
  const OpDesc& o = d_.ops[i];
  const float* in = slots_[static_cast<size_t>(o.src)].data();
  float* out = slots_[static_cast<size_t>(o.dst)].data();
  const int64_t n = c_.images, inPlane = o.in.plane();
  auto each = [&](const std::function<void(int64_t, int64_t, float*)>& fn, int64_t total) {
    pool.parallelFor(s.tasks, [&](int64_t t, int, float* scratch) {
      const int64_t b = t * s.perTask;
      fn(b, std::min(total, b + s.perTask), scratch);
    });
  };
  if (s.impl) {
    if (s.skip) return;  // a RELU folded into the preceding BN
    s.impl->forward(OpStep{o, s.g, n, pool, k_, s.perTask, s.inPtr.data(), s.inStride.data(), out});
    return;
  }
  switch (o.op) {
    case OpCode::Conv: case OpCode::Linear: {
      const Executor& params = this->params();
      if (s.wino) {
        if (weightsFrom_ && weightsFrom_->winoStale_) fail("E_INTERNAL", "a plan borrowing weights ran before they were prepared");
        if (winoStale_ && !weightsFrom_) transformWinoWeights(pool);
        winoRun(pool, s.g, params.winoU_.data() + s.winoOffset, in, out, s.winoWide, s.perTask, s.tasks);
        break;
      }
      const float* w = params.weights_.data() + s.weightOffset;
      if (s.subsample) {
        float* sub = subsampled_.data();
        const int64_t per = convChannelsPerTask(s.g.cin);
        pool.parallelFor((s.g.cin + per - 1) / per, [&](int64_t t, int, float*) {
          k_.subsample(s.g, in, sub, s.gSub.inStride, t * per, std::min(s.g.cin, (t + 1) * per));
        });
        each([&](int64_t b, int64_t e, float* scratch) { k_.convGemm(s.gSub, w, sub, out, b, e, scratch); }, s.g.cols());
      } else {
        each([&](int64_t b, int64_t e, float* scratch) { k_.convGemm(s.g, w, in, out, b, e, scratch); }, s.g.cols());
      }
      if (s.biasOffset >= 0) {
        const float* bias = params.weights_.data() + s.biasOffset;
        for (int64_t c = 0; c < o.cout; ++c)
          for (int64_t j = 0; j < n; ++j) out[c * s.g.outStride + j] += bias[c];
      }
      break;
    }
    case OpCode::DwConv: {
      const float* w = params().weights_.data() + s.weightOffset;
      each([&](int64_t b, int64_t e, float*) { k_.dwConv(s.g, w, in, out, b, e); }, o.cout);
      break;
    }
    case OpCode::BN: {
      float* dst = slots_[static_cast<size_t>(s.applyDst)].data();
      const float* res = s.fuseAddRelu ? slots_[static_cast<size_t>(s.resSlot)].data() : nullptr;
      if (!m.train) {  // eval mode, BN folded into the conv: identity (+ReLU, +ADD)
        if (!s.fuseRelu && !s.fuseAddRelu && dst == in) break;
        each([&](int64_t b, int64_t e, float*) {
          for (int64_t c = b; c < e; ++c) {
            const int64_t off = c * s.g.inStride, len = n * inPlane;
            if (s.fuseAddRelu) k_.bnApplyAddRelu(in + off, res + off, dst + off, len, 0.f, 1.f, false);
            else if (s.fuseRelu) k_.relu(in + off, dst + off, len);
            else std::memcpy(dst + off, in + off, sizeof(float) * static_cast<size_t>(len));
          }
        }, o.cout);
        break;
      }
      const int G = c_.groups;
      const int64_t groupLen = (n / G) * inPlane;  // values per channel per group
      const double cnt = static_cast<double>(groupLen);
      const size_t base = static_cast<size_t>(bnOffset_[static_cast<size_t>(s.bn)] * G);
      double* rv = runningVar_.data() + bnOffset_[static_cast<size_t>(s.bn)];
      each([&](int64_t b, int64_t e, float*) {
        constexpr int64_t kRuns = 4;  // (channel, group) runs whose sums are taken together (their add chains interleave)
        const float* xs[kRuns];
        double sums[kRuns], sumsqs[kRuns];
        for (int64_t r0 = b * G; r0 < e * G; r0 += kRuns) {
          const int runs = static_cast<int>(std::min(kRuns, e * G - r0));
          for (int r = 0; r < runs; ++r) xs[r] = in + ((r0 + r) / G) * s.g.inStride + ((r0 + r) % G) * groupLen;
          k_.bnStatsRuns(xs, runs, groupLen, sums, sumsqs);
          for (int r = 0; r < runs; ++r) {
            const int64_t c = (r0 + r) / G;
            const int gi = static_cast<int>((r0 + r) % G);
            const float* x = xs[r];
            const double sum = sums[r], sumsq = sumsqs[r];
            const double mean = sum / cnt;
            const double var = std::max(0.0, sumsq / cnt - mean * mean);
            const size_t at = base + static_cast<size_t>(gi * o.cin + c);
            bnMean_[at] = mean;
            bnVar_[at] = var;
            if (m.trackRunningVar) rv[c] = 0.9 * rv[c] + 0.1 * (var * cnt / (cnt - 1.0));
            const float meanF = static_cast<float>(mean), invstd = static_cast<float>(1.0 / std::sqrt(var + m.bnEps));
            bnMeanF_[at] = meanF;
            bnInvstdF_[at] = invstd;
            const int64_t at2 = c * s.g.outStride + gi * groupLen;
            if (s.fuseAddRelu) k_.bnApplyAddRelu(x, res + at2, dst + at2, groupLen, meanF, invstd, true);
            else k_.bnApply(x, dst + at2, groupLen, meanF, invstd, s.fuseRelu);
          }
        }
      }, o.cout);
      break;
    }
    default:
      fail("E_INTERNAL", std::string("no CPU implementation of op ") + opName(o.op));
  }
}

void Executor::forward(ThreadPool& pool, const ForwardMode& m) {
  if (m.train)
    for (const Step& s : steps_)
      if (s.bn >= 0 && (c_.images / c_.groups) * d_.ops[static_cast<size_t>(&s - steps_.data())].in.plane() < 2)
        fail("E_OPTION", "BN op " + std::to_string(&s - steps_.data()) +
                             " normalises a single value per channel (batchSize·H·W = 1): use batchSize ≥ 2");
  for (size_t i = 0; i < steps_.size(); ++i) profiled(i, "", 1.0, [&] { runStep(i, pool, m); });
}

template <typename Fn>
void Executor::profiled(size_t i, const char* pass, double flopFactor, Fn&& fn) {
  static const bool profile = std::getenv("ZENNAS_PROFILE") != nullptr;
  if (!profile || profileQuiet) {
    fn();
    return;
  }
  // ZENNAS_PROFILE=1: per-op wall time (and process CPU time, steadier on a shared machine) to stderr (development aid).
  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  fn();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const double cpuMs = 1e3 * static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  const OpDesc& o = d_.ops[i];
  const ConvGeom& g = steps_[i].g;
  const double gflop = isGemm(o.op) ? flopFactor * 2.0 * g.cout * g.K() * g.cols() / 1e9 : 0;
  const Step& s = steps_[i];
  const bool fwd = pass[0] == '\0', dX = !fwd && pass[3] == 'X', dW = !fwd && pass[3] == 'W';
  const bool wino = fwd ? s.wino : dX ? s.winoT : dW && s.winoW, wide = fwd ? s.winoWide : dX && s.winoWideT;
  const char* kernel = !isGemm(o.op) ? "" : wide ? " winograd-wide" : wino ? " winograd" : " direct";
  std::fprintf(stderr, "zennas-profile %s%-8s cin %5d cout %5d k %d s %d %4lldx%-4lld %8.3f ms %7.1f GFLOP/s cpu %8.3f ms%s\n", pass, opName(o.op), o.cin,
               o.cout, o.kernel, o.stride, (long long)o.out.h, (long long)o.out.w, ms, gflop / (ms / 1e3), cpuMs, kernel);
}

void Executor::shareGrads(bool on) {
  shared_ = on;
  std::copy((on ? gradShared_ : gradOwn_).begin(), (on ? gradShared_ : gradOwn_).end(), gradPtr_.begin());  // no allocation
}

bool Executor::fusedBackward(size_t i) const {
  static const bool off = envOff("ZENNAS_BWD_FUSE");
  // The RELU is the BN value's only consumer (the forward's fusion rule), so its input gradient is
  // written, not accumulated: the fused step writes exactly what RELU backward + BN backward would.
  // BN → ADD → RELU: likewise the RELU's input gradient and the ADD's BN-side one.
  const Step& s = steps_[i];
  if (off) return false;
  if (s.fuseRelu) return i + 1 < steps_.size() && !steps_[i + 1].gradAcc[0];
  if (s.fuseAddRelu) return !steps_[i + 2].gradAcc[0] && !steps_[i + 1].gradAcc[static_cast<size_t>(1 - s.resInput)];
  return false;
}

void Executor::backwardStep(size_t i, ThreadPool& pool, bool inputGrad, bool fused) {
  const Step& s = steps_[i];
  const OpDesc& o = d_.ops[i];
  if (!needsGrad_[static_cast<size_t>(o.value)]) return;
  if (s.impl) {
    OpStep st{o, s.g, c_.images, pool, k_, s.perTask, s.inPtr.data(), s.inStride.data(), slots_[static_cast<size_t>(o.dst)].data()};
    st.dy = grad(o.value);
    st.dx = (inputGrad ? s.dxAll : s.dxNoInput)[shared_ ? 1 : 0].data();
    st.acc = s.accArr.get();
    s.impl->backward(st);
    return;
  }
  const int64_t n = c_.images, inPlane = o.in.plane();
  const float* dy = grad(fused ? d_.ops[i + (s.fuseAddRelu ? 2 : 1)].value : o.value);
  const int32_t v0 = o.inputs[0];
  const bool want0 = needsGrad_[static_cast<size_t>(v0)] && (v0 != 0 || inputGrad);
  float* dx = want0 ? grad(v0) : nullptr;
  const bool acc0 = s.gradAcc[0];
  const float* x = slots_[static_cast<size_t>(o.src)].data();
  float* wg = wgradOffset_[i] >= 0 ? wgrad_.data() + wgradOffset_[i] : nullptr;
  auto perChannel = [&](const std::function<void(int64_t)>& fn, int64_t channels) {
    // a conv's perTask is its GEMM split (columns), which as channels made these passes one task
    const int64_t per = isGemm(o.op) ? convChannelsPerTask(channels) : s.perTask;
    pool.parallelFor((channels + per - 1) / per, [&](int64_t t, int, float*) {
      for (int64_t c = t * per; c < std::min(channels, (t + 1) * per); ++c) fn(c);
    });
  };
  switch (o.op) {
    case OpCode::Conv: case OpCode::Linear: {
      const ConvGeom& g = s.g;
      const int64_t M = g.cout, K = g.K();
      // Weight gradient: dot form (no packing; what small CIFAR channel counts need) when its
      // scratch fits, else the packed GEMM. Tasks: (input-channel block, output-channel block).
      constexpr int64_t kDotRows = 64;  // output channels per task
      const int64_t mb = (M + kDotRows - 1) / kDotRows;
      const double scratchFloats = static_cast<double>(ThreadPool::kScratchFloats);
      profiled(i, "bwdW", 1.0, [&] {
      if (s.winoW) {
        // Chunk by chunk of tiles: transform dY and X (tasks over A panels and blocks of 8 q), then
        // the 36 GEMMs (tasks over ξ; each chunk adds into M in order: thread-count independent).
        const int64_t tiles = winoTiles(g), ct = s.winoWCt, units = winoWgradUnits(g);
        float* ad = winoWg_.data();
        float* bx = ad + kWinoXi * winoWgradAStride(g, ct);
        float* mm = bx + kWinoXi * winoWgradBStride(g, ct);
        for (int64_t t0 = 0; t0 < tiles; t0 += ct) {
          const int64_t nt = std::min(ct, tiles - t0);
          pool.parallelFor(units, [&](int64_t u, int, float*) { k_.winoWgradPack(g, dy, x, ad, bx, ct, t0, nt, u, u + 1); });
          pool.parallelFor(kWinoXi, [&](int64_t xi, int, float*) { k_.winoWgradGemm(g, ad, bx, mm, ct, nt, xi, xi + 1, t0 > 0); });
        }
        constexpr int64_t kRows = 8;
        pool.parallelFor((M + kRows - 1) / kRows, [&](int64_t t, int, float*) { k_.winoWgradFinish(g, mm, wg, t * kRows, std::min(M, (t + 1) * kRows)); });
      } else if (s.scatterT) {  // 1×1 strided: the sampled input pixels, then the 1×1 stride-1 dot form
        const ConvGeom& gs = s.gSub;
        float* sub = subsampled_.data();
        perChannel([&](int64_t c) { k_.subsample(g, x, sub, gs.inStride, c, c + 1); }, g.cin);
        const int64_t cb = (g.cin + 11) / 12, rows = dot1x1RowsPerTask(M, cb), rb = (M + rows - 1) / rows;
        pool.parallelFor(rb * cb, [&](int64_t t, int, float* scratch) {
          const int64_t im = t / cb, ic = t % cb;
          k_.convBwdWeight1x1(gs, dy, sub, wg, ic * 12, std::min(g.cin, (ic + 1) * 12), im * rows, std::min(M, (im + 1) * rows), scratch);
        });
      } else if (g.k == 1 && g.stride == 1 && useDot(g)) {
        const int64_t cb = (g.cin + 11) / 12, rows = dot1x1RowsPerTask(M, cb), rb = (M + rows - 1) / rows;  // 12 input channels per task
        pool.parallelFor(rb * cb, [&](int64_t t, int, float* scratch) {
          const int64_t im = t / cb, ic = t % cb;
          k_.convBwdWeight1x1(g, dy, x, wg, ic * 12, std::min(g.cin, (ic + 1) * 12), im * rows, std::min(M, (im + 1) * rows), scratch);
        });
      } else if (dotScratchImageFloats(g) + 2.0 * (kDotRows * g.k * g.k + 8) <= scratchFloats && useDot(g)) {
        // Few input channels (a stem): blocks of 16 output channels, so that both threads get work
        // (each output channel's sums are the same whatever the block: blocks stay multiples of 4).
        const int64_t rowsPer = mb * g.cin < 8 ? 16 : kDotRows, mbd = (M + rowsPer - 1) / rowsPer;
        const int64_t ciPer = dotChannelsPerTask(g, mbd, rowsPer, static_cast<int64_t>(ThreadPool::kScratchFloats)), cbn = (g.cin + ciPer - 1) / ciPer;
        pool.parallelFor(mbd * cbn, [&](int64_t t, int, float* scratch) {
          const int64_t im = t / cbn, ic = t % cbn;
          k_.convBwdWeightDot(g, dy, x, wg, ic * ciPer, std::min(g.cin, (ic + 1) * ciPer), im * rowsPer, std::min(M, (im + 1) * rowsPer), scratch);
        });
      } else {
        // dY packed once as MR-row panels over all columns (gradScratch_ is free until the input
        // gradient), then tasks over (row block of whole panels, kBwdColsK columns of dW): each packs
        // its im2col columns once per chunk and reuses them for every row panel.
        const int64_t cols = g.cols(), mPanels = (M + kMR - 1) / kMR;
        float* dyp = gradScratch_.data();
        pool.parallelFor(mPanels, [&](int64_t ip, int, float*) {
          float* a = dyp + ip * cols * kMR;
          for (int r = 0; r < kMR; ++r) {
            const int64_t m = ip * kMR + r;
            const float* row = dy + m * g.outStride;
            if (m < M) for (int64_t p = 0; p < cols; ++p) a[p * kMR + r] = row[p];
            else for (int64_t p = 0; p < cols; ++p) a[p * kMR + r] = 0.f;
          }
        });
        const int64_t kb = (K + kBwdColsK - 1) / kBwdColsK;
        const int64_t split = std::min<int64_t>(mPanels, kb >= kBwdMinTasks ? 1 : (kBwdMinTasks + kb - 1) / kb);
        const int64_t perBlock = (mPanels + split - 1) / split, mbg = (mPanels + perBlock - 1) / perBlock;
        pool.parallelFor(mbg * kb, [&](int64_t t, int, float* scratch) {
          const int64_t im = t / kb, ik = t % kb;
          k_.convBwdWeightPacked(g, dyp, x, wg, im * perBlock * kMR, std::min(M, (im + 1) * perBlock * kMR), ik * kBwdColsK,
                           std::min(K, (ik + 1) * kBwdColsK), scratch);
        });
      }
      if (s.biasOffset >= 0) {
        float* db = wg + o.weights;
        for (int64_t c = 0; c < M; ++c) {
          double sum = 0;
          for (int64_t j = 0; j < n; ++j) sum += dy[c * g.outStride + j];
          db[c] = static_cast<float>(sum);
        }
      }
      });
      if (!dx) break;
      profiled(i, "bwdX", 1.0, [&] {
      const float* w = weights_.data() + s.weightOffset;
      if (s.weightTOffset >= 0) {
        // W'[ci][co][k−1−ky][k−1−kx] = W[co][ci][ky][kx], packed as the A of a forward conv dY → dX.
        float* wt = weightsT_.data() + s.weightTOffset;
        const int64_t k = g.k, kk = k * k, Kt = s.gT.K();
        pool.parallelFor(g.cin, [&](int64_t ci, int, float*) {
          // packedAIndex(ci, co·kk + kk−1−q, Kt) ← packedAIndex(co, ci·kk + q, K), walked with strides
          // (both run kMR floats per tap; no index division per element)
          float* dRow = wt + packedAIndex(ci, kk - 1, Kt);
          for (int64_t co = 0; co < M; ++co, dRow += kk * kMR) {
            const float* sp = w + packedAIndex(co, ci * kk, K);
            float* dp = dRow;
            for (int64_t q = 0; q < kk; ++q, sp += kMR, dp -= kMR) *dp = *sp;
          }
        });
        float* dst = acc0 || s.scatterT ? gradScratch_.data() : dx;
        if (s.winoT) {  // U' = G W' Gᵀ each pass (the weights may have changed), then the tiles of dY
          float* u = winoUT_.data() + s.winoTOffset;
          winoTransform(pool, s.gT, wt, u);
          winoRun(pool, s.gT, u, dy, dst, s.winoWideT, s.perTaskWT, s.tasksWT);
        } else {
          const int64_t cols = s.gT.cols();
          pool.parallelFor(s.tasksT, [&](int64_t t, int, float* scratch) {
            const int64_t b = t * s.perTaskT;
            k_.convGemm(s.gT, wt, dy, dst, b, std::min(cols, b + s.perTaskT), scratch);
          });
        }
        if (s.scatterT) {
          perChannel([&](int64_t c) { k_.spreadStrided(g, dst, s.gT.outStride, dx, c, c + 1, acc0); }, g.cin);
        } else if (acc0) {
          perChannel([&](int64_t c) { k_.add(dx + c * g.inStride, dst + c * g.inStride, dx + c * g.inStride, n * inPlane); }, g.cin);
        }
      } else if (s.weightColOffset >= 0) {
        // Wᵀ[k][co] = W[co][k] packed as a GEMM A (rows k = ci·k·k + …), then tasks over images.
        float* wt = weightsT_.data() + s.weightColOffset;
        const int64_t kPanels = (K + kMR - 1) / kMR;
        pool.parallelFor(kPanels, [&](int64_t ip, int, float*) {
          for (int64_t r = ip * kMR; r < std::min(K, (ip + 1) * kMR); ++r)
            for (int64_t co = 0; co < M; ++co) wt[packedAIndex(r, co, M)] = w[packedAIndex(co, r, K)];
        });
        const int64_t per = s.imagesPerTaskCol;
        pool.parallelFor((n + per - 1) / per, [&](int64_t t, int, float* scratch) {
          k_.convBwdDataImages(g, wt, dy, dx, t * per, std::min(n, (t + 1) * per), acc0, scratch);
        });
      } else {
        const int64_t per = std::max<int64_t>(1, 48 / (g.k * g.k));
        pool.parallelFor((g.cin + per - 1) / per, [&](int64_t t, int, float* scratch) {
          k_.convBwdData(g, w, dy, dx, t * per, std::min(g.cin, (t + 1) * per), acc0, scratch);
        });
      }
      });
      break;
    }
    case OpCode::DwConv: {
      const float* w = weights_.data() + s.weightOffset;
      perChannel([&](int64_t c) { k_.dwConvBwd(s.g, w, x, dy, dx, wg, c, c + 1, acc0); }, o.cout);
      break;
    }
    case OpCode::BN: {
      const int G = c_.groups;
      const int64_t groupLen = (n / G) * inPlane;
      const size_t base = static_cast<size_t>(bnOffset_[static_cast<size_t>(s.bn)] * G);
      double* sums = bnSums_.data() + 2 * bnOffset_[static_cast<size_t>(s.bn)];
      // BN → ADD → RELU as one step: the RELU's mask from its output y, the ADD's residual gradient
      // written here (the ADD's own step would write the same floats).
      const bool tail = fused && s.fuseAddRelu;
      const float* y = tail ? slots_[static_cast<size_t>(d_.ops[i + 2].dst)].data() : nullptr;
      const Step& add = steps_[std::min(i + 1, steps_.size() - 1)];
      float* res = tail ? (inputGrad ? add.dxAll : add.dxNoInput)[shared_ ? 1 : 0][static_cast<size_t>(s.resInput)] : nullptr;
      const bool accRes = tail && add.gradAcc[static_cast<size_t>(s.resInput)];
      perChannel([&](int64_t c) {
        double dGamma = 0, dBeta = 0;
        for (int gi = 0; gi < G; ++gi) {
          const size_t at = base + static_cast<size_t>(gi * o.cin + c);
          const int64_t off = gi * groupLen;
          const float* xc = x + c * s.g.inStride + off;
          const float* gc = dy + c * s.g.outStride + off;
          float* rc = res ? res + c * s.g.outStride + off : nullptr;
          if (tail && dx) {
            k_.bnAddReluBwd(xc, y + c * s.g.outStride + off, gc, dx + c * s.g.inStride + off, rc, groupLen, bnMeanF_[at], bnInvstdF_[at], acc0,
                            accRes, &dGamma, &dBeta);
          } else if (dx) {
            k_.bnBwdFused(xc, gc, dx + c * s.g.inStride + off, groupLen, bnMeanF_[at], bnInvstdF_[at], acc0, fused, &dGamma, &dBeta);
          } else {
            double sdy = 0, sdyx = 0;
            const float* yc = tail ? y + c * s.g.outStride + off : nullptr;
            for (int64_t j = 0; j < groupLen; ++j) {
              const float xh = (xc[j] - bnMeanF_[at]) * bnInvstdF_[at];
              const float gj = tail ? (yc[j] > 0.f ? gc[j] : 0.f) : fused && !(xh > 0.f) ? 0.f : gc[j];
              if (rc) rc[j] = accRes ? rc[j] + gj : gj;
              sdy += gj;
              sdyx += static_cast<double>(gj) * static_cast<double>(xh);
            }
            dGamma += sdyx;
            dBeta += sdy;
          }
        }
        sums[c] = dGamma;
        sums[o.cin + c] = dBeta;
        wg[c] = static_cast<float>(dGamma);
        wg[o.cin + c] = static_cast<float>(dBeta);
      }, o.cout);
      break;
    }
    default:
      fail("E_INTERNAL", std::string("no CPU backward of op ") + opName(o.op));
  }
}

void Executor::backward(ThreadPool& pool, bool inputGrad, bool weightGradsOnly) {
  if (!c_.backward) fail("E_INTERNAL", "executor: this plan was compiled without a backward pass");
  // Ops (and the input) that no output depends on get exact zeros, not stale gradients.
  for (size_t i = 0; i < steps_.size(); ++i)
    if (!needsGrad_[static_cast<size_t>(d_.ops[i].value)] && wgradOffset_[i] >= 0)
      std::memset(wgrad_.data() + wgradOffset_[i], 0, sizeof(float) * static_cast<size_t>(wgradSize_[i]));
  if (inputGrad && !needsGrad_[0]) std::memset(grads_[0].data(), 0, sizeof(float) * grads_[0].size());
  shareGrads(true);
  for (size_t i = steps_.size(); i-- > 0;) {
    const Step& s = steps_[i];
    if (weightGradsOnly && s.absorbedBy >= 0 && fusedBackward(static_cast<size_t>(s.absorbedBy))) continue;  // done by the BN's fused step
    profiled(i, "bwd ", 2.0, [&] { backwardStep(i, pool, inputGrad, weightGradsOnly && (s.fuseRelu || s.fuseAddRelu) && fusedBackward(i)); });
  }
}

}  // namespace cpu
}  // namespace zennas
