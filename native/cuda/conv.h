// One cuDNN convolution (dense or depthwise via group count = C) of a plan: descriptors built and
// the algorithm chosen once per shape (oneDNN's primitive idea), then executed many times.
// Backward (the 'gradients' proxy): data and filter gradients through cuDNN's backward
// convolutions, algorithms chosen by cuDNN's heuristics under the same strict-FP32 rules.
#pragma once
#include "cuda_common.h"
#include "kernels.h"

namespace zennas {
namespace cuda {

struct ConvShape {
  int n, cin, h, w, cout, k, stride, groups;
  int hout, wout;
  int dilation = 1;  // DWCONV's dilation (pad dilation·(k−1)/2)
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

  /** Workspace of every pass enabled (forward, and backward once enableBackward ran). */
  size_t workspaceBytes() const { return ws_; }
  const ConvShape& shape() const { return s_; }
  void forward(cudnnHandle_t handle, const void* x, const void* w, void* y, void* workspace, size_t wsBytes) const;

  /**
   * Chooses the backward-filter and (when `data`) backward-data algorithms: FP32 only, FMA math
   * (no TF32), GEMM-family algorithms (no FFT / Winograd, as forward), deterministic ones first,
   * workspace ≤ `wsLimit`. E_BACKEND when cuDNN offers none.
   */
  void enableBackward(cudnnHandle_t handle, bool data, size_t wsLimit);
  /** dx = ∂L/∂x from dy (accumulate: dx += it, cuDNN's β = 1). */
  void backwardData(cudnnHandle_t handle, const void* w, const void* dy, void* dx, bool accumulate, void* workspace,
                    size_t wsBytes) const;
  /** dw = ∂L/∂w (overwritten), OIHW ([C][1][k][k] for depthwise). */
  void backwardFilter(cudnnHandle_t handle, const void* x, const void* dy, void* dw, void* workspace, size_t wsBytes) const;

 private:
  void destroy();

  ConvShape s_{};
  cudnnTensorDescriptor_t xd_ = nullptr, yd_ = nullptr;
  cudnnFilterDescriptor_t wd_ = nullptr;
  cudnnConvolutionDescriptor_t cd_ = nullptr;
  cudnnConvolutionFwdAlgo_t algo_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  cudnnConvolutionBwdDataAlgo_t bwdDataAlgo_ = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
  cudnnConvolutionBwdFilterAlgo_t bwdFilterAlgo_ = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
  bool bwdData_ = false, bwdFilter_ = false;
  size_t ws_ = 0;
  DType t_ = DType::F32;
};

}  // namespace cuda
}  // namespace zennas
