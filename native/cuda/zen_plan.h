// Zen-score plan on the GPU (DESIGN §1, DESCRIPTOR.md "Zen-score"): compiled once per
// (descriptor, batch, resolution); executing it allocates nothing.
//
// The clean and the perturbed forward share one batch of 2B (x in samples [0,B), x+αε in
// [B,2B)): convolutions, pooling and the head are per-sample so sharing is exact, and every BN
// keeps per-half statistics, so each forward is normalised by its own batch exactly as if run
// separately.
//
// Buffers come from the backend's DevicePool. A repeat's launches are captured once per plan and
// mode into a CUDA graph and replayed for every repeat of every later call (useCudaGraphs,
// ZENNAS_CUDA_GRAPHS=0 disables it); what differs between repeats is read from device memory
// (RepeatArgs), so scores are identical with and without graphs.
#pragma once
#include "conv.h"
#include "cuda_common.h"
#include "kernels.h"

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace zennas {
namespace cuda {

struct ZenRunOptions {
  uint64_t seed = 0;
  uint32_t firstRepeat = 0;
  uint32_t repeats = 1;
  double alpha = 0.01;
  double bnEps = 1e-5;
  bool official = false;  // σ̄ from BN running_var (official code) instead of batch variance
  /** When set: checked between repeats (E_CANCELLED), with at most two repeats queued ahead. */
  std::function<bool()> cancelled;
};

class ZenPlan {
 public:
  ZenPlan(Net net, int batch, cudnnHandle_t handle, size_t workspaceLimit, DevicePool& pool);
  /** Runs `repeats` repeats on `stream` (handle already bound to it); fills per-repeat ln Δ and Σ ln σ̄. */
  void run(const ZenRunOptions& o, cudaStream_t stream, cudnnHandle_t handle, std::vector<double>& logDelta,
           std::vector<double>& logSigmaSum);
  size_t deviceBytes() const { return bytes_; }
  /** A plan executes one request at a time (its buffers are the request's state). */
  std::mutex& mutex() { return mu_; }

 private:
  /** Queues one repeat (weights, input, forward, Δ and σ̄ terms) reading the repeat from args_. */
  void enqueueRepeat(bool official, cudaStream_t stream, cudnnHandle_t handle);

  struct Step {
    int op;               // index into net_.ops (also the Philox weight stream − 1)
    int conv = -1;        // index into convs_
    int bn = -1;          // BN ordinal (σ̄ term index)
    size_t weightOffset = 0;  // floats into weights_
    size_t weightCount = 0;
    size_t runningVarOffset = 0;
    bool fuseRelu = false;    // BN followed by an in-place ReLU on the same slot
  };

  Net net_;
  int B_;
  DevicePool& pool_;
  std::vector<DeviceBuffer> slots_;  // [2B][slotElems] floats each
  std::vector<ConvLayer> convs_;
  std::vector<Step> steps_;
  int nBn_ = 0;
  int bnPartialSplitsMax_ = 1;
  size_t wsBytes_ = 0, bytes_ = 0, runningVarTotal_ = 0;
  int l1Blocks_ = 1;
  DeviceBuffer weights_, workspace_, bnPartial_, bnMean_, bnInvstd_, bnVar_, runningVar_, sigmaTerms_, l1Partial_,
      results_, args_;
  RepeatArgs hostArgs_;
  std::vector<double> hostResults_;
  RepeatGraph graphs_[2];       // per mode (paper, official), captured on first use
  bool graphFailed_[2] = {false, false};
  bool warmed_[2] = {false, false};  // a repeat of this mode ran eagerly (captures only after that)
  DeviceEvent repeatDone_[2];  // cancellation: the ends of the last two repeats queued
  std::mutex mu_;
};

}  // namespace cuda
}  // namespace zennas
