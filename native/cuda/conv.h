// One cuDNN convolution (dense or depthwise via group count = C) of a plan: descriptors built and
// the algorithm chosen once per shape (oneDNN's primitive idea), then executed many times.
#pragma once
#include "cuda_common.h"
#include "kernels.h"

namespace zennas {
namespace cuda {

struct ConvShape {
  int n, cin, h, w, cout, k, stride, groups;
  int hout, wout;
};

/** How the algorithm is chosen: heuristics (fast to plan; Zen-score) or timed trials (latency). */
enum class AlgoSearch { Heuristic, Benchmark };

class ConvLayer {
 public:
  /**
   * `strictFp32`: forbid TF32/tensor-op math so FP32 scores agree with the CPU engine.
   * Benchmark search needs real buffers (x, w, y) and a scratch workspace of `wsLimit` bytes.
   */
  ConvLayer(cudnnHandle_t handle, const ConvShape& s, DType t, bool strictFp32, AlgoSearch search,
            size_t wsLimit, const void* x = nullptr, const void* w = nullptr, void* y = nullptr,
            void* scratch = nullptr);
  ~ConvLayer();
  ConvLayer(const ConvLayer&) = delete;
  ConvLayer& operator=(const ConvLayer&) = delete;
  ConvLayer(ConvLayer&& o) noexcept;

  size_t workspaceBytes() const { return ws_; }
  const ConvShape& shape() const { return s_; }
  void forward(cudnnHandle_t handle, const void* x, const void* w, void* y, void* workspace, size_t wsBytes) const;

 private:
  void destroy();

  ConvShape s_{};
  cudnnTensorDescriptor_t xd_ = nullptr, yd_ = nullptr;
  cudnnFilterDescriptor_t wd_ = nullptr;
  cudnnConvolutionDescriptor_t cd_ = nullptr;
  cudnnConvolutionFwdAlgo_t algo_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  size_t ws_ = 0;
  DType t_ = DType::F32;
};

}  // namespace cuda
}  // namespace zennas
