// The 'gradients' proxy on the GPU (DESCRIPTOR.md "Proxy gradients"; the CPU definition is
// native/proxies/gradients_proxy.cc over native/cpu/executor.cc): per repeat N(0,1) weights and
// the Zen-score's clean input x (the same Philox streams as the CPU; or init 'torch', PyTorch's
// default U(±1/√fan_in) weights and LINEAR biases), one training-mode forward
// (one BN group), the loss head on outputs[0] ('sum' or softmax cross-entropy with labels given
// or drawn from Philox), then the reverse pass: cuDNN backward data / filter for CONV and
// DWCONV (grouped), own kernels for everything else (kernels.h). Gradients are laid out as the
// CPU engine's: conv OIHW, dwconv [C][k][k], linear W then bias, BN dγ then dβ.
//
// Planned once per (descriptor, batch, resolution) with keepAll (every value its own buffer, the
// activations the reverse pass reads); a value read by several ops receives the sum of their
// gradients (the first writer in reverse order overwrites, later ones add, as on the CPU), and
// ops no output depends on get exact zeros. Buffers from the backend's DevicePool; a repeat is
// captured into a CUDA graph as the Zen-score's is.
#pragma once
#include <cstdint>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "../common/descriptor.h"
#include "conv.h"
#include "cuda_common.h"
#include "kernels.h"

namespace zennas {
namespace cuda {

/** Device-free part of a gradients plan (also what the _cudaPlan test hook reports). */
struct GradLayout {
  std::vector<char> needsGrad;              // per value: some output depends on it
  std::vector<std::vector<char>> acc;       // per op, per input: add into that input's gradient
  std::vector<int64_t> wgradOffset;         // per op: floats into the gradient buffer (−1: no parameters)
  std::vector<int64_t> wgradSize;           // per op: conv/dwconv weights, linear W (+ bias), BN 2·C
  int64_t wgradTotal = 0;
};

/** Which values carry a gradient, who accumulates, where each op's parameter gradient goes (as native/cpu/executor.cc). */
GradLayout planGradients(const Descriptor& d);

/** parseDescriptor with keepAll (one buffer per value), the plan of a backward pass. */
Descriptor decodeGradNet(const int32_t* words, size_t nWords, int resolution);

struct GradRunOptions {
  uint64_t seed = 0;
  uint32_t firstRepeat = 0, repeats = 1;
  double bnEps = 1e-5;
  bool crossEntropy = false;       // else 'sum'
  bool torchInit = false;          // init 'torch' (PyTorch's default) instead of N(0,1) weights, biases 0
  std::vector<int32_t> labels;     // CE labels (empty: drawn from Philox)
  bool inputGradient = false;
  bool returnGradients = false;
  std::function<bool()> cancelled;
};

struct GradRunResult {
  std::vector<double> loss, gradNorm;                              // per repeat
  std::vector<std::pair<int32_t, std::vector<float>>> gradients;   // returnGradients: last repeat, per op with parameters
  std::vector<float> inputGradient;                                 // returnGradients && inputGradient: NCHW
};

class GradPlan {
 public:
  GradPlan(Descriptor d, int batch, cudnnHandle_t handle, size_t workspaceLimit, DevicePool& pool);
  /** Runs the repeats on `stream` (handle bound to it). Option errors (labels, logits shape) are E_OPTION, as on the CPU. */
  GradRunResult run(const GradRunOptions& o, cudaStream_t stream, cudnnHandle_t handle);
  size_t deviceBytes() const { return bytes_; }
  std::mutex& mutex() { return mu_; }

 private:
  void enqueueRepeat(bool crossEntropy, bool inputGradient, cudaStream_t stream, cudnnHandle_t handle);
  void forwardOp(size_t i, cudaStream_t stream, cudnnHandle_t handle);
  void backwardOp(size_t i, bool inputGradient, cudaStream_t stream, cudnnHandle_t handle);
  float* val(int32_t v) const { return vals_[static_cast<size_t>(v)].as<float>(); }
  float* grad(int32_t v) const { return grads_[static_cast<size_t>(v)].as<float>(); }
  size_t elems(int32_t v) const { return static_cast<size_t>(B_) * static_cast<size_t>(d_.valueShape[static_cast<size_t>(v)].size()); }

  Descriptor d_;
  GradLayout L_;
  int B_;
  DevicePool& pool_;
  std::vector<DeviceBuffer> vals_, grads_;   // per value (grads_ only where needsGrad)
  std::vector<int> conv_;                    // per op: index into convs_ (−1)
  std::vector<ConvLayer> convs_;
  std::vector<int64_t> wOffset_, biasOffset_, bnOffset_;  // per op: floats into weights_ / bnMean_, bnInvstd_ (−1)
  size_t weightFloats_ = 0;
  int64_t bnChannels_ = 0;
  size_t maxC_ = 1, argmaxElems_ = 1, partialDoubles_ = 1;
  int lossBlocks_ = 1, normBlocks_ = 1;
  DeviceBuffer weights_, wgrad_, workspace_, bnMean_, bnInvstd_, bnPartial_, bnCoef_, argmax_, reduce_, perSample_, labels_,
      results_, args_;
  RepeatArgs hostArgs_;
  std::vector<int32_t> hostLabels_;
  std::vector<double> hostResults_;
  size_t bytes_ = 0;
  RepeatGraph graphs_[4];                    // per (loss, inputGradient)
  bool graphFailed_[4] = {false, false, false, false};
  bool warmed_[4] = {false, false, false, false};
  DeviceEvent repeatDone_[2];
  std::mutex mu_;
};

}  // namespace cuda
}  // namespace zennas
