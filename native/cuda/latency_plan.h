// GPU latency of the as-trained network (DESIGN §4): eval mode, BN folded into the preceding
// conv's weights + bias (a conv's epilogue then adds the bias and applies a following ReLU),
// FP16 storage with FP32 accumulation on tensor cores, or FP32 (TF32 allowed, as PyTorch's
// default for cuDNN convolutions). Conv algorithms are chosen by timed trials
// (cudnnFindConvolutionForwardAlgorithmEx, like torch.backends.cudnn.benchmark = True).
#pragma once
#include "../engine/backend.h"  // LatencyResult
#include "conv.h"
#include "cuda_common.h"

#include <vector>

namespace zennas {
namespace cuda {

struct LatencyOptions {
  int batch = 64;
  DType dtype = DType::F16;
  int warmup = 10;
  int iterations = 30;
  double bnEps = 1e-5;
};

class LatencyPlan {
 public:
  /** Buffers from `pool` (which must outlive the plan). */
  LatencyPlan(Net net, const LatencyOptions& o, cudnnHandle_t handle, cudaStream_t stream, size_t workspaceLimit, DevicePool& pool);
  LatencyResult measure(cudaStream_t stream, cudnnHandle_t handle);

 private:
  struct Step {
    int op;
    int conv = -1;
    size_t weightOffset = 0, biasOffset = 0;  // elements into params_
    bool hasBias = false;                     // conv with a folded BN, or the Linear head
    bool relu = false;                        // fused following ReLU
    int skip = 0;                             // ops consumed by this step (folded BN, fused ReLU)
  };
  void forward(cudaStream_t stream, cudnnHandle_t handle);

  Net net_;
  LatencyOptions o_;
  DevicePool& pool_;
  std::vector<DeviceBuffer> slots_;
  std::vector<ConvLayer> convs_;
  std::vector<Step> steps_;
  DeviceBuffer params_, bnScale_, bnShift_, workspace_;
  size_t wsBytes_ = 0;
};

}  // namespace cuda
}  // namespace zennas
