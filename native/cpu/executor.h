// The CPU executor: a compiled plan for one (descriptor, images, resolution) — buffers sized and
// allocated once, per-op kernel geometry and task splits fixed — that runs forward passes
// (training-mode BN over G groups of images, or eval mode) and, when planned with a backward pass,
// the reverse pass to weight and input gradients. Proxies (native/proxies/) own the input recipe
// and the math on top; nothing here knows about any proxy. Running a pass allocates nothing.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "../common/descriptor.h"
#include "../common/thread_pool.h"
#include "kernels.h"
#include "ops/op.h"

namespace zennas {
namespace cpu {

struct ExecutorConfig {
  int64_t images = 1;   // N: images per buffer
  int groups = 1;       // BN statistic groups: images [g·N/G, (g+1)·N/G) are normalised together
  int resolution = 32;
  bool backward = false;  // keep every activation, allocate gradient buffers
  bool convDirect = false;  // engine option conv 'direct': no Winograd, today's bits (else the planner chooses per layer)
};

class Executor {
 public:
  /** Bytes the plan would allocate (checked against the limit before anything is allocated). */
  static double estimateBytes(const Descriptor& d, const ExecutorConfig& c);
  /** Throws Failure E_OUT_OF_MEMORY when the plan is larger than `limitBytes`. */
  Executor(Descriptor d, const ExecutorConfig& c, double limitBytes);

  const Descriptor& descriptor() const { return d_; }
  const ExecutorConfig& config() const { return c_; }
  size_t bytes() const { return bytes_; }

  /** N(0,1) weights (Philox stream op index + 1, OIHW order, DESCRIPTOR.md); linear biases 0. */
  void drawWeights(uint64_t seed, uint32_t repeat, ThreadPool& pool);
  // ---- executor_init.cc: the second init and parameter access for the zero-shot proxies
  /**
   * PyTorch's default init (DESCRIPTOR.md "Init 'torch'"): weights U(−b, b), b = 1/√fan_in, and
   * LINEAR biases U(−b, b), from the same Philox stream as drawWeights (uniform lanes).
   */
  void drawWeightsTorch(uint64_t seed, uint32_t repeat, ThreadPool& pool);
  /**
   * Forward passes read `from`'s weights and Winograd transforms instead of this plan's own (a
   * lane of the same descriptor whose kernel choices match; E_INTERNAL otherwise), so that two
   * lanes of one repeat draw and transform the weights once; nullptr ends it. Call
   * from->prepareWeights before the forwards.
   */
  void borrowWeights(const Executor* from);
  /** The Winograd weight transforms now, if the weights changed since they ran (else the next forward runs them). */
  void prepareWeights(ThreadPool& pool) {
    if (winoStale_ && winoU_.size() > 0) transformWinoWeights(pool);
  }
  /** Every weight and bias ← |·| (synflow). */
  void absParams();
  /** Every LINEAR bias ← s · bias (s = 0: exactly 0, the state drawWeights expects). */
  void scaleBiases(double s);
  /** Parameters of op i in weightGrad's layout (BN: γ = 1 then β = 0); paramSize(i) floats. */
  void readParams(size_t op, float* out) const;
  int64_t paramSize(size_t op) const;
  /** Sets a LINEAR op's bias (cout floats; no-op for ops without one). */
  void setBias(size_t op, const float* b);

  /** Floats between channels of a value's buffer ([C][N][H][W], rows padded against cache-set aliasing). */
  int64_t channelStride(int32_t value) const { return stride(d_.valueShape[static_cast<size_t>(value)].plane()); }
  /** The buffer of a value (0 = input). Without a backward plan only values still live at the end are valid. */
  float* value(int32_t v) { return slots_[static_cast<size_t>(d_.valueSlot[static_cast<size_t>(v)])].data(); }

  struct ForwardMode {
    bool train = true;            // batch statistics (else eval: BN with running mean 0 / var 1, i.e. identity)
    bool trackRunningVar = false;  // running_var ← 0.9·running_var + 0.1·unbiased var, group by group
    double bnEps = 1e-5;
  };
  void forward(ThreadPool& pool, const ForwardMode& m);

  /** Per BN (op order): channels, offsets; the last forward's batch mean / biased variance per group. */
  int numBN() const { return static_cast<int>(bnOp_.size()); }
  int32_t bnOpIndex(int bn) const { return bnOp_[static_cast<size_t>(bn)]; }
  int64_t bnChannels(int bn) const { return d_.ops[static_cast<size_t>(bnOp_[static_cast<size_t>(bn)])].cin; }
  const double* bnMean(int bn, int group) const { return bnMean_.data() + (bnOffset_[static_cast<size_t>(bn)] * c_.groups) + group * bnChannels(bn); }
  const double* bnVar(int bn, int group) const { return bnVar_.data() + (bnOffset_[static_cast<size_t>(bn)] * c_.groups) + group * bnChannels(bn); }
  std::vector<double>& runningVar() { return runningVar_; }
  int64_t bnOffset(int bn) const { return bnOffset_[static_cast<size_t>(bn)]; }

  /**
   * ZENNAS_PROFILE=1 lines (per op, Winograd weights) are not printed on this thread while set: a
   * lane that repeats lane 0's work at the same time (the Zen-score's perturbed forward), so the
   * profile's sums stay wall time.
   */
  static void quietProfile(bool on);

  // ---- backward (plans built with config.backward)
  /**
   * Gradient buffer of a value (same layout as the value). Seed the outputs' gradients, then call
   * backward. With weightGradsOnly (a caller that reads only weight gradients, the outputs' and the
   * input's), a BN whose RELU is folded into it runs RELU + BN backward as one step and its value
   * gets no gradient of its own (ZENNAS_BWD_FUSE=0 turns the fusion off).
   * In backward(), a value read only by one ADD / IDENTITY shares that op's gradient buffer (its
   * gradient is the same); the step-wise pass (backwardBegin / backwardOp) gives every value its own.
   */
  float* grad(int32_t v) { return gradPtr_[static_cast<size_t>(v)]; }
  /** Reverse pass from the seeded output gradients (training-mode forward must have run). */
  void backward(ThreadPool& pool, bool inputGrad = false, bool weightGradsOnly = false);
  /**
   * Weight gradients of op i after backward: conv OIHW, dwconv [C][k][k], linear [cout][cin] then
   * bias [cout] (when it has one), BN dγ[C] then dβ[C]; nullptr for ops without parameters.
   */
  const float* weightGrad(size_t op) const { return wgradOffset_[op] < 0 ? nullptr : wgrad_.data() + wgradOffset_[op]; }
  int64_t weightGradSize(size_t op) const { return wgradSize_[op]; }
  // Step-wise passes (executor_init.cc): what forward() / backward() do, one op at a time, for a
  // proxy that acts between ops (synflow_zc's per-value power-of-two scaling).
  size_t numOps() const { return d_.ops.size(); }
  void forwardOp(size_t i, ThreadPool& pool, const ForwardMode& m);
  /** What backward() does before its reverse loop (exact zeros for unreachable ops). */
  void backwardBegin(bool inputGrad = false);
  void backwardOp(size_t i, ThreadPool& pool, bool inputGrad = false);
  /** Some gradient flows into value v (backward plans). */
  bool needsGrad(int32_t v) const { return needsGrad_[static_cast<size_t>(v)]; }
  /** Op i's backward adds into input k's gradient (an op later in the graph wrote it first). */
  bool gradAccumulates(size_t op, size_t k) const { return steps_[op].gradAcc[k]; }

 private:
  struct Step {
    ConvGeom g;
    int64_t weightOffset = -1;  // into weights_ (packed A for conv/linear)
    int64_t biasOffset = -1;    // into weights_ (linear bias)
    int bn = -1;                // BN index
    bool fuseRelu = false;      // BN followed by a RELU folded into it (forward)
    bool fuseAddRelu = false;   // BN → 2-input ADD → RELU folded into the BN (forward): one pass, y = max(BN(x) + r, 0)
    int resInput = -1;          // fuseAddRelu: which of the ADD's inputs is the residual r
    int32_t resSlot = -1;       // fuseAddRelu: r's buffer
    int32_t applyDst = 0;       // where the BN (+ReLU, +ADD) result goes
    bool skip = false;          // a RELU (or ADD) folded into a preceding BN
    int absorbedBy = -1;        // skip: the BN step that does this op's work
    int64_t tasks = 1, perTask = 1;
    // Forward 3×3 stride-1 conv by Winograd F(4,3) (winograd.h): tasks of perTask tiles.
    bool wino = false;
    int64_t winoOffset = -1;     // into winoU_ (transformed weights)
    bool winoWide = false;       // layer-wide pieces in winoWide_ instead of chunks (winoWideFor)
    // 1×1 strided conv: its input sampled into subsampled_, then the 1×1 stride-1 GEMM of gSub.
    bool subsample = false;
    ConvGeom gSub;
    std::vector<bool> gradAcc;  // per input: add into its gradient (another consumer wrote it first)
    // Stride-1 conv / LINEAR backward: dX = conv(dY, W flipped and transposed), a forward conv.
    ConvGeom gT;
    int64_t weightTOffset = -1;  // into weightsT_ (packed A of the flipped weights)
    bool scatterT = false;       // 1×1 strided: Wᵀ·dY on the output grid, scattered to every s-th input pixel
    int64_t tasksT = 1, perTaskT = 1;
    // Stride-1 'same' 3×3/5×5/7×7: that forward conv of dY by Winograd (the forward's choice rule on gT).
    bool winoT = false;
    int64_t winoTOffset = -1;    // into winoUT_ (transformed flipped weights)
    bool winoWideT = false;      // layer-wide (winoWideFor on gT)
    int64_t tasksWT = 1, perTaskWT = 1;
    // Stride-1 'same' 3×3/5×5/7×7 weight gradient by Winograd F(3×3, 4×4) (the forward's choice rule), tiles in chunks of winoWCt.
    bool winoW = false;
    int64_t winoWCt = 0;
    // Strided k×k conv backward: Wᵀ packed into weightsT_ (col2im GEMM), tasks over blocks of images.
    int64_t weightColOffset = -1;
    int64_t imagesPerTaskCol = 1;
    // Registered (parameter-free) ops, native/cpu/ops/: their buffers, fixed at plan time.
    const CpuOp* impl = nullptr;
    std::vector<const float*> inPtr;
    std::vector<int64_t> inStride;
    std::vector<float*> dxAll[2], dxNoInput[2];  // per input, [own, shared] gradient buffers (null: none needed); without the input's
    std::unique_ptr<bool[]> accArr;        // gradAcc as an array
  };
  struct WeightChunk {
    int step;
    int64_t begin, end;
  };
  static int64_t channelStrideFor(int64_t images, int64_t plane);
  /** The planner's choice for a dense conv: Winograd F(4,3) (else packed / indirect GEMM). */
  static bool chooseWinograd(const ConvGeom& g, const OpDesc& o, const ExecutorConfig& c);
  /** The same for the weight gradient (ZENNAS_BWD_DW=dot|gemm: never). */
  static bool chooseWinogradWgrad(const ConvGeom& g, const OpDesc& o, const ExecutorConfig& c);
  /** U = G g Gᵀ of every Winograd conv from the packed weights (after each weight change). */
  void winoTransform(ThreadPool& pool, const ConvGeom& g, const float* w, float* u);  // U = G W Gᵀ
  /** A Winograd conv: chunks of perTask tiles, or (wide) the layer-wide pieces in winoWide_. */
  void winoRun(ThreadPool& pool, const ConvGeom& g, const float* u, const float* in, float* out, bool wide, int64_t perTask, int64_t tasks);
  void transformWinoWeights(ThreadPool& pool);
  int64_t stride(int64_t plane) const { return channelStrideFor(c_.images, plane); }
  void runStep(size_t i, ThreadPool& pool, const ForwardMode& m);
  /**
   * fused: a BN whose RELU (or ADD and RELU) was folded into it in the forward takes the RELU's
   * gradient and mask, and hands the ADD's residual its gradient (backward() only).
   */
  void backwardStep(size_t i, ThreadPool& pool, bool inputGrad, bool fused = false);
  /** Step i is a BN with the next ops (RELU, or ADD then RELU) folded in, and backward() may run them as one step. */
  bool fusedBackward(size_t i) const;
  /** Runs `fn` for step i, timing it to stderr under ZENNAS_PROFILE=1. */
  template <typename Fn>
  void profiled(size_t i, const char* pass, double flopFactor, Fn&& fn);

  const Kernels& k_;
  Descriptor d_;
  ExecutorConfig c_;
  std::vector<Step> steps_;
  std::vector<WeightChunk> weightChunks_;
  std::vector<WeightChunk> winoTasks_;  // (Winograd conv, output channels) of transformWinoWeights' one job, built on first use
  std::vector<AlignedBuffer> slots_;
  AlignedBuffer weights_;
  AlignedBuffer winoU_;      // Winograd-transformed weights (36 packed A per conv that uses it)
  AlignedBuffer winoWide_;   // V and M of the largest layer-wide Winograd conv (forward or input gradient)
  bool winoStale_ = true;    // weights_ changed since winoU_ was computed
  const Executor* weightsFrom_ = nullptr;  // borrowWeights
  /** The plan whose weights_ / winoU_ a forward reads: weightsFrom_, else this one. */
  const Executor& params() const { return weightsFrom_ ? *weightsFrom_ : *this; }
  std::vector<int32_t> bnOp_;
  std::vector<int64_t> bnOffset_;
  std::vector<double> bnMean_, bnVar_;  // [bn offset·G + group·C + c]
  std::vector<float> bnMeanF_, bnInvstdF_;  // the float mean / invstd the forward normalised with
  std::vector<double> runningVar_;     // per BN channel (trackRunningVar)
  std::vector<AlignedBuffer> grads_;   // per value (backward plans)
  std::vector<float*> gradPtr_;        // per value: the gradient buffer of the current pass (one of the two below)
  std::vector<float*> gradOwn_, gradShared_;  // own buffers / backward()'s (a value read only by one ADD / IDENTITY: that op's)
  bool shared_ = false;
  void shareGrads(bool on);
  std::vector<bool> needsGrad_;        // per value: some gradient flows into it
  AlignedBuffer wgrad_;
  AlignedBuffer weightsT_;             // flipped, transposed weights (backward of stride-1 convs)
  AlignedBuffer winoUT_;               // their Winograd transform (input gradients by Winograd)
  AlignedBuffer gradScratch_;          // a gradient computed before it is added into a shared one
  AlignedBuffer winoWg_;               // Winograd weight gradient: one chunk's transforms and M (winoWgradFloats)
  AlignedBuffer subsampled_;           // 1×1 strided: the input at the sampled pixels (forward, weight gradient)
  std::vector<int64_t> wgradOffset_, wgradSize_;
  std::vector<double> bnSums_;         // backward scratch: dγ, dβ per BN channel
  size_t bytes_ = 0;
};

}  // namespace cpu
}  // namespace zennas
