// A compiled CPU plan for one (descriptor, batch, resolution): every buffer sized and
// allocated once, the per-op kernel geometry fixed. Executing a repeat allocates nothing.
#pragma once
#include <cstdint>
#include <vector>

#include "../common/descriptor.h"
#include "../common/thread_pool.h"
#include "../engine/backend.h"
#include "kernels.h"

namespace zennas {
namespace cpu {

class ZenPlan {
 public:
  /** Bytes the plan would allocate (checked against the limit before anything is allocated). */
  static double estimateBytes(const Descriptor& d, int64_t images);
  /** Throws Failure E_OUT_OF_MEMORY when the plan is larger than `limitBytes`. */
  ZenPlan(Descriptor d, int batch, int resolution, double limitBytes, bool evalOnly = false);
  bool evalOnly() const { return n_ == batch_ && !twoForwards_; }
  int batch() const { return batch_; }
  size_t bytes() const { return bytes_; }

  /** Runs repeats [firstRepeat, firstRepeat + repeats) of the request. */
  void zenScore(const ZenScoreRequest& r, ThreadPool& pool, ZenScoreResult& out);

  /** Eval-mode forward (BN folded to identity: γ=1, β=0, running stats 0/1) of the first B images. */
  void evalForward(ThreadPool& pool);
  void drawAll(uint64_t seed, uint32_t repeat, double alpha, ThreadPool& pool);

 private:
  struct Step {
    OpDesc op;
    ConvGeom g;
    int64_t weightOffset = -1;  // into weights_
    int bn = -1;                // BN index
    bool fuseRelu = false;      // BN followed by a RELU folded into it
    int32_t applyDst = 0;       // where the BN (+ReLU) result goes
    bool skip = false;          // a RELU folded into the preceding BN
    int64_t tasks = 1, perTask = 1;
  };
  struct WeightChunk {
    int step;
    int64_t begin, end;
  };
  void forward(ThreadPool& pool, bool train, bool official, double bnEps);
  /** Floats between channels of a [C][N][plane] buffer: padded so rows never alias in cache sets. */
  static int64_t channelStride(int64_t images, int64_t plane);
  int64_t stride(int64_t plane) const { return channelStride(n_, plane); }
  void runStep(const Step& s, ThreadPool& pool, bool train, bool official, double bnEps);

  const Kernels& k_;
  Descriptor d_;
  int batch_ = 0, resolution_ = 0;
  int64_t n_ = 0;  // images per buffer: 2B (Zen-score) or B (eval-mode latency)
  bool twoForwards_ = true;
  std::vector<Step> steps_;
  std::vector<WeightChunk> weightChunks_;
  std::vector<AlignedBuffer> slots_;
  AlignedBuffer weights_;
  std::vector<double> clean_var_;     // per BN, per channel (biased, clean forward)
  std::vector<double> clean_mean_;    // per BN, per channel (clean forward)
  std::vector<double> runningVar_;    // official mode
  std::vector<int64_t> bnChannelOffset_;
  std::vector<double> deltaPerChannel_;
  size_t bytes_ = 0;
};

}  // namespace cpu
}  // namespace zennas
