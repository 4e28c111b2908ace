// The backend abstraction (ATen style: the Zen-score request is backend-independent, each backend
// compiles and caches its own plans). The CPU backend lives in native/cpu/; the CUDA backend in
// native/cuda/ (built only when cmake found nvcc + cuDNN, see native/cuda/cuda.cmake).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace zennas {

struct ZenScoreRequest {
  std::vector<int32_t> descriptor;
  int batch = 64, resolution = 32;
  uint32_t repeats = 1, firstRepeat = 0;
  uint64_t seed = 0;
  bool official = false;
  double alpha = 0.01, bnEps = 1e-5;
  /** Also return the per-channel batch mean/variance of every BN on the clean forward of repeat firstRepeat. */
  bool bnStatistics = false;
};

struct ZenScoreResult {
  std::vector<double> scores, logDelta, logSigmaSum;
  double seconds = 0;
  // With bnStatistics: per BN op (descriptor op index, channels), the clean forward's batch mean
  // and biased variance, channels of all BNs concatenated in op order.
  std::vector<int32_t> bnOps, bnChannels;
  std::vector<double> bnMean, bnVar;
};

struct LatencyRequest {
  std::vector<int32_t> descriptor;
  int batch = 64, resolution = 224;
  int warmup = 3, iterations = 10;
  double bnEps = 1e-5;
};

struct LatencyResult {
  double meanMs = 0, medianMs = 0, p90Ms = 0, minMs = 0, imagesPerSecond = 0;
  std::vector<double> samplesMs;
};

/** A compute backend. Thread-safe: many requests may run at once. Errors are zennas::Failure. */
class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual int threads() const = 0;
  virtual ZenScoreResult zenScore(const ZenScoreRequest& r) = 0;
  virtual LatencyResult latency(const LatencyRequest& r) = 0;
};

/**
 * 'cpu' → the CPU backend with `threads` workers (0 = hardware concurrency).
 * 'cuda' → E_BACKEND when the CUDA backend was not compiled in (its N-API surface,
 * cudaZenScore/cudaLatency from native/cuda/cuda_napi.h, serves CUDA requests when it was).
 */
std::unique_ptr<Backend> makeBackend(const std::string& name, int threads);

/** Why CUDA is unavailable in this build ("" when compiled in). */
std::string cudaBuildReason();
bool cudaCompiledIn();

}  // namespace zennas
