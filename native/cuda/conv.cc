#include "conv.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <sstream>
#include <tuple>

namespace zennas {
namespace cuda {
namespace {

struct AlgoChoice {
  cudnnConvolutionFwdAlgo_t algo;
  cudnnMathType_t math;
  size_t ws;
};

using AlgoKey = std::tuple<int, int, int, int, int, int, int, int, int, int, bool, int, size_t>;

enum class Pass { BwdData, BwdFilter };
struct BwdChoice {
  int algo;
  size_t ws;
};
using BwdKey = std::tuple<int, int, int, int, int, int, int, int, int, int, size_t>;  // pass, shape, limit

// Process-wide: candidates of a search share most conv shapes, so heuristics/trials run once
// per shape (per device; the backend uses one device).
std::mutex gAlgoMu;
std::map<AlgoKey, AlgoChoice> gAlgoCache;
std::map<BwdKey, BwdChoice> gBwdCache;

cudnnDataType_t cudnnType(DType t) { return t == DType::F32 ? CUDNN_DATA_FLOAT : CUDNN_DATA_HALF; }

bool mathAllowed(cudnnMathType_t m, bool strictFp32) {
  return !strictFp32 || (m != CUDNN_TENSOR_OP_MATH && m != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
}

// The Zen-score's Δ = |f(x) − f(x+αε)| with α = 0.01 amplifies a convolution's rounding error,
// so strict FP32 keeps to the direct GEMM-family algorithms (FFT and Winograd transforms have
// errors well above plain FP32 summation and would break CPU/GPU agreement on deep nets).
bool algoAllowed(cudnnConvolutionFwdAlgo_t a, bool strictFp32) {
  return !strictFp32 || a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM || a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM ||
         a == CUDNN_CONVOLUTION_FWD_ALGO_GEMM;
}

// The backward passes under the forward's rules: plain GEMM-style summation (ALGO_0 / ALGO_1,
// and for the filter ALGO_3, a tiled variant of ALGO_0), never FFT or Winograd transforms.
bool bwdDataAllowed(cudnnConvolutionBwdDataAlgo_t a) {
  return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
}
bool bwdFilterAllowed(cudnnConvolutionBwdFilterAlgo_t a) {
  return a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 || a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 || a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3;
}

/** The first usable entry of a heuristic ranking (best first): deterministic ones preferred. */
template <typename Perf, typename Allowed>
const Perf* pickBwd(const Perf* perf, int returned, size_t wsLimit, Allowed allowed) {
  for (int pass = 0; pass < 2; ++pass)
    for (int i = 0; i < returned; ++i) {
      const Perf& p = perf[i];
      if (p.status != CUDNN_STATUS_SUCCESS || p.memory > wsLimit || !allowed(p.algo)) continue;
      if (p.mathType == CUDNN_TENSOR_OP_MATH || p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;
      if (pass == 0 && p.determinism != CUDNN_DETERMINISTIC) continue;
      return &p;
    }
  return nullptr;
}

}  // namespace

ConvLayer::ConvLayer(cudnnHandle_t handle, const ConvShape& s, DType t, bool strictFp32, AlgoSearch search,
                     size_t wsLimit, const void* x, const void* w, void* y, void* scratch)
    : s_(s), t_(t) {
  try {
    const cudnnDataType_t dt = cudnnType(t);
    const int pad = s.dilation * (s.k - 1) / 2;
    ZENNAS_CUDNN_CHECK(cudnnCreateTensorDescriptor(&xd_));
    ZENNAS_CUDNN_CHECK(cudnnCreateTensorDescriptor(&yd_));
    ZENNAS_CUDNN_CHECK(cudnnCreateFilterDescriptor(&wd_));
    ZENNAS_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&cd_));
    ZENNAS_CUDNN_CHECK(cudnnSetTensor4dDescriptor(xd_, CUDNN_TENSOR_NCHW, dt, s.n, s.cin, s.h, s.w));
    ZENNAS_CUDNN_CHECK(cudnnSetFilter4dDescriptor(wd_, dt, CUDNN_TENSOR_NCHW, s.cout, s.cin / s.groups, s.k, s.k));
    // FP16 data with FP32 accumulation ("pseudo-half"); FP32 data accumulates in FP32.
    ZENNAS_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(cd_, pad, pad, s.stride, s.stride, s.dilation, s.dilation,
                                                       CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    if (s.groups > 1) ZENNAS_CUDNN_CHECK(cudnnSetConvolutionGroupCount(cd_, s.groups));
    // FMA math forbids TF32 on Ampere/Hopper (cuDNN's DEFAULT math would allow it for FP32).
    const cudnnMathType_t math = t == DType::F16 ? CUDNN_TENSOR_OP_MATH : (strictFp32 ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH);
    ZENNAS_CUDNN_CHECK(cudnnSetConvolutionMathType(cd_, math));
    int on, oc, oh, ow;
    ZENNAS_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(cd_, xd_, wd_, &on, &oc, &oh, &ow));
    if (on != s.n || oc != s.cout || oh != s.hout || ow != s.wout) {
      std::ostringstream m;
      m << "CUDA backend: cuDNN output shape " << on << "x" << oc << "x" << oh << "x" << ow << " differs from the descriptor's "
        << s.n << "x" << s.cout << "x" << s.hout << "x" << s.wout;
      throw Failure("E_INTERNAL", m.str());
    }
    ZENNAS_CUDNN_CHECK(cudnnSetTensor4dDescriptor(yd_, CUDNN_TENSOR_NCHW, dt, s.n, s.cout, s.hout, s.wout));

    const AlgoKey key{s.n, s.cin, s.h, s.w, s.cout, s.k, s.stride, s.groups, s.dilation, static_cast<int>(t), strictFp32,
                      static_cast<int>(search), wsLimit};
    {
      std::lock_guard<std::mutex> lock(gAlgoMu);
      auto it = gAlgoCache.find(key);
      if (it != gAlgoCache.end()) {
        algo_ = it->second.algo;
        ws_ = it->second.ws;
        ZENNAS_CUDNN_CHECK(cudnnSetConvolutionMathType(cd_, it->second.math));
        return;
      }
    }
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    if (search == AlgoSearch::Benchmark && x && w && y && scratch) {
      ZENNAS_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(handle, xd_, x, wd_, w, cd_, yd_, y,
                                                                CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf,
                                                                scratch, wsLimit));
    } else {
      ZENNAS_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(handle, xd_, wd_, cd_, yd_,
                                                                CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf));
    }
    // Results come best first (measured time or heuristic rank).
    const cudnnConvolutionFwdAlgoPerf_t* pick = nullptr;
    for (int i = 0; i < returned && !pick; ++i) {
      const bool strict = strictFp32 && t == DType::F32;
      if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= wsLimit && mathAllowed(perf[i].mathType, strict) &&
          algoAllowed(perf[i].algo, strict))
        pick = &perf[i];
    }
    if (!pick) {
      std::ostringstream m;
      m << "CUDA backend: cuDNN has no forward algorithm for conv " << s.cin << "->" << s.cout << " k" << s.k << " s" << s.stride
        << " groups " << s.groups << " at " << s.n << "x" << s.h << "x" << s.w << " within a " << (wsLimit >> 20) << " MiB workspace";
      throw Failure("E_BACKEND", m.str());
    }
    algo_ = pick->algo;
    // Strict FP32 pins FMA math even if cuDNN reports DEFAULT (which may mean TF32 on sm_80+).
    const cudnnMathType_t chosen = (strictFp32 && t == DType::F32) ? CUDNN_FMA_MATH : pick->mathType;
    ZENNAS_CUDNN_CHECK(cudnnSetConvolutionMathType(cd_, chosen));
    // The workspace of the algorithm under the math type actually set (perf[].memory was for its own).
    ZENNAS_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(handle, xd_, wd_, cd_, yd_, algo_, &ws_));
    if (ws_ > wsLimit) throw Failure("E_BACKEND", "CUDA backend: cuDNN workspace of the chosen algorithm exceeds the limit");
    std::lock_guard<std::mutex> lock(gAlgoMu);
    gAlgoCache[key] = AlgoChoice{algo_, chosen, ws_};
  } catch (...) {
    destroy();  // a throwing constructor runs no destructor
    throw;
  }
}

void ConvLayer::enableBackward(cudnnHandle_t handle, bool data, size_t wsLimit) {
  if (t_ != DType::F32) throw Failure("E_INTERNAL", "CUDA backend: backward convolutions are FP32 only");
  // Gradients keep the forward's strict FP32: FMA math, no TF32 (set on the descriptor already).
  ZENNAS_CUDNN_CHECK(cudnnSetConvolutionMathType(cd_, CUDNN_FMA_MATH));
  auto describe = [&](const char* pass) {
    std::ostringstream m;
    m << "CUDA backend: cuDNN has no " << pass << " algorithm for conv " << s_.cin << "->" << s_.cout << " k" << s_.k << " s" << s_.stride
      << " groups " << s_.groups << " at " << s_.n << "x" << s_.h << "x" << s_.w << " within a " << (wsLimit >> 20) << " MiB workspace";
    return m.str();
  };
  auto key = [&](Pass p) {
    return BwdKey{static_cast<int>(p), s_.n, s_.cin, s_.h, s_.w, s_.cout, s_.k, s_.stride, s_.groups, s_.dilation, wsLimit};
  };
  // Filter gradient (every conv of a backward plan has weights).
  {
    bool cached = false;
    {
      std::lock_guard<std::mutex> lock(gAlgoMu);
      auto it = gBwdCache.find(key(Pass::BwdFilter));
      if (it != gBwdCache.end()) {
        bwdFilterAlgo_ = static_cast<cudnnConvolutionBwdFilterAlgo_t>(it->second.algo);
        ws_ = std::max(ws_, it->second.ws);
        cached = true;
      }
    }
    if (!cached) {
      cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      int returned = 0;
      ZENNAS_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, xd_, yd_, cd_, wd_, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                                                                       &returned, perf));
      const auto* pick = pickBwd(perf, returned, wsLimit, bwdFilterAllowed);
      if (!pick) throw Failure("E_BACKEND", describe("backward-filter"));
      bwdFilterAlgo_ = pick->algo;
      size_t ws = 0;
      ZENNAS_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, xd_, yd_, cd_, wd_, bwdFilterAlgo_, &ws));
      if (ws > wsLimit) throw Failure("E_BACKEND", describe("backward-filter"));
      ws_ = std::max(ws_, ws);
      std::lock_guard<std::mutex> lock(gAlgoMu);
      gBwdCache[key(Pass::BwdFilter)] = BwdChoice{static_cast<int>(bwdFilterAlgo_), ws};
    }
    bwdFilter_ = true;
  }
  if (!data) return;
  bool cached = false;
  {
    std::lock_guard<std::mutex> lock(gAlgoMu);
    auto it = gBwdCache.find(key(Pass::BwdData));
    if (it != gBwdCache.end()) {
      bwdDataAlgo_ = static_cast<cudnnConvolutionBwdDataAlgo_t>(it->second.algo);
      ws_ = std::max(ws_, it->second.ws);
      cached = true;
    }
  }
  if (!cached) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int returned = 0;
    ZENNAS_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, wd_, yd_, cd_, xd_, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                                                                   &returned, perf));
    const auto* pick = pickBwd(perf, returned, wsLimit, bwdDataAllowed);
    if (!pick) throw Failure("E_BACKEND", describe("backward-data"));
    bwdDataAlgo_ = pick->algo;
    size_t ws = 0;
    ZENNAS_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(handle, wd_, yd_, cd_, xd_, bwdDataAlgo_, &ws));
    if (ws > wsLimit) throw Failure("E_BACKEND", describe("backward-data"));
    ws_ = std::max(ws_, ws);
    std::lock_guard<std::mutex> lock(gAlgoMu);
    gBwdCache[key(Pass::BwdData)] = BwdChoice{static_cast<int>(bwdDataAlgo_), ws};
  }
  bwdData_ = true;
}

void ConvLayer::backwardData(cudnnHandle_t handle, const void* w, const void* dy, void* dx, bool accumulate, void* workspace,
                             size_t wsBytes) const {
  if (!bwdData_) throw Failure("E_INTERNAL", "CUDA backend: conv backward-data used without enableBackward(data)");
  const float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  ZENNAS_CUDNN_CHECK(cudnnConvolutionBackwardData(handle, &one, wd_, w, yd_, dy, cd_, bwdDataAlgo_, workspace, wsBytes, &beta, xd_, dx));
}

void ConvLayer::backwardFilter(cudnnHandle_t handle, const void* x, const void* dy, void* dw, void* workspace, size_t wsBytes) const {
  if (!bwdFilter_) throw Failure("E_INTERNAL", "CUDA backend: conv backward-filter used without enableBackward");
  const float one = 1.0f, zero = 0.0f;
  ZENNAS_CUDNN_CHECK(cudnnConvolutionBackwardFilter(handle, &one, xd_, x, yd_, dy, cd_, bwdFilterAlgo_, workspace, wsBytes, &zero, wd_, dw));
}

ConvLayer::ConvLayer(ConvLayer&& o) noexcept
    : s_(o.s_), xd_(o.xd_), yd_(o.yd_), wd_(o.wd_), cd_(o.cd_), algo_(o.algo_), bwdDataAlgo_(o.bwdDataAlgo_),
      bwdFilterAlgo_(o.bwdFilterAlgo_), bwdData_(o.bwdData_), bwdFilter_(o.bwdFilter_), ws_(o.ws_), t_(o.t_) {
  o.xd_ = o.yd_ = nullptr;
  o.wd_ = nullptr;
  o.cd_ = nullptr;
}

ConvLayer::~ConvLayer() { destroy(); }

void ConvLayer::destroy() {
  if (xd_) cudnnDestroyTensorDescriptor(xd_);
  if (yd_) cudnnDestroyTensorDescriptor(yd_);
  if (wd_) cudnnDestroyFilterDescriptor(wd_);
  if (cd_) cudnnDestroyConvolutionDescriptor(cd_);
  xd_ = yd_ = nullptr;
  wd_ = nullptr;
  cd_ = nullptr;
}

void ConvLayer::forward(cudnnHandle_t handle, const void* x, const void* w, void* y, void* workspace,
                        size_t wsBytes) const {
  const float one = 1.0f, zero = 0.0f;  // scaling factors are float for FLOAT and HALF data
  ZENNAS_CUDNN_CHECK(cudnnConvolutionForward(handle, &one, xd_, x, wd_, w, cd_, algo_, workspace, wsBytes, &zero, yd_, y));
}

}  // namespace cuda
}  // namespace zennas
