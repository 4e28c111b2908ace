// The CUDA backend's own surface, free of N-API and of the engine's Backend interface (the
// adapter in cuda_backend.cc maps one onto the other). Thread-safe: requests in flight each
// take a stream (+ its cuDNN handle) from a small pool; plans are cached per
// (descriptor, batch, resolution[, precision]) and run one request at a time each.
#pragma once
#include "cuda_common.h"
#include "latency_plan.h"
#include "zen_plan.h"

#include <cstdint>
#include <string>
#include <vector>

namespace zennas {
namespace cuda {

struct ZenScoreRequest {
  std::vector<int32_t> descriptor;
  int batch = 16, resolution = 224;
  ZenRunOptions run;
};

struct ZenScoreResponse {
  std::vector<double> scores, logDelta, logSigmaSum;
  double seconds = 0;
};

struct LatencyRequest {
  std::vector<int32_t> descriptor;
  int resolution = 224;
  LatencyOptions options;
};

struct DeviceInfo {
  bool available = false;
  std::string reason;  // why not, when !available
  std::string name;
  int major = 0, minor = 0;
  size_t totalBytes = 0;
  int cudnnVersion = 0;
};

/** Whether a usable device + cuDNN exist (probed once, cached); never throws. */
const DeviceInfo& probeDevice();

/** Process-wide CUDA engine; throws CudaFailure("E_BACKEND", reason) when no device is usable. */
class CudaEngine {
 public:
  static CudaEngine& instance();
  ZenScoreResponse zenScore(const ZenScoreRequest& r);
  LatencyResult latency(const LatencyRequest& r);
  /** Drop cached plans (frees their GPU memory). */
  void clearPlans();

 private:
  CudaEngine();
  struct Impl;
  Impl* impl_;
};

}  // namespace cuda
}  // namespace zennas
