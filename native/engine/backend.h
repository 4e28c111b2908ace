// The backend abstraction (ATen style: a proxy request is backend-independent, each backend
// compiles and caches its own plans). The CPU backend lives in native/cpu/ (zennas.node); the
// CUDA backend in native/cuda/ (zennas_cuda.node, built only when cmake found nvcc + cuDNN, see
// native/cuda/cuda.cmake).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace zennas {

/** A proxy run (the Zen-score is the proxy 'zen'); options validated once in TypeScript (src/engine/options.ts). */
struct ProxyRequest {
  std::string proxy;
  std::vector<int32_t> descriptor;
  int batch = 64, resolution = 32;
  uint32_t repeats = 1, firstRepeat = 0;
  uint64_t seed = 0;
  double bnEps = 1e-5;
  std::string conv = "auto";       // 'auto' (the planner picks direct / indirect GEMM / Winograd per layer) | 'direct' (no Winograd)
  // Zen-score
  bool official = false;
  double alpha = 0.01;
  bool bnStatistics = false;       // also return the clean forward's per-BN batch statistics
  // Gradient proxies
  std::string loss = "sum";        // 'sum' (∂Σ outputs) | 'cross-entropy' (softmax CE, mean over the batch)
  std::vector<int32_t> labels;      // CE labels (drawn from Philox when empty)
  bool returnGradients = false;     // copy every weight gradient (and the input gradient) out
  bool inputGradient = false;
  // Zero-shot proxies (native/proxies/*_proxy.cc, src/proxies/table.ts)
  std::string init;                 // '' (the proxy's default) | 'normal' (N(0,1)) | 'torch' (PyTorch's default, DESCRIPTOR.md)
  int numBatches = 8;               // gsnr: gradient samples (batches of `batch` images)
  double xi = 1e-8;                 // gsnr: ξ in mean² / (var + ξ)
  std::string gsnrMode = "batch";   // gsnr: 'batch' | 'official' (running sums) | 'sample' (per-image gradients)
  int sampleBatches = 1;            // tenas_lr, tenas: batches of `batch` images whose ReLU patterns are counted
  std::string hvpPrecision = "float32";  // grasp: its Hessian-vector product in 'float32' (plan kernels) | 'float64' (own buffers)
  std::vector<float> input;         // data images NCHW instead of the Gaussian input (empty: Philox)
  /** True once the call should stop (AbortSignal, Engine.close()); proxies check it between repeats. */
  std::function<bool()> cancelled;
};

struct ProxyResult {
  std::vector<double> scores;                                        // one per repeat
  std::vector<std::pair<std::string, std::vector<double>>> series;  // named per-repeat values
  std::vector<std::pair<int32_t, std::vector<float>>> gradients;    // returnGradients: (op index, gradient) of the last repeat
  std::vector<float> inputGradient;                                  // NCHW
  // bnStatistics: per BN op (descriptor op index, channels), the clean forward's batch mean and
  // biased variance, channels of all BNs concatenated in op order.
  std::vector<int32_t> bnOps, bnChannels;
  std::vector<double> bnMean, bnVar;
  /** Why a result is degenerate (too few values per BN channel, Δ below float32 resolution, …); empty when sound. */
  std::vector<std::string> warnings;
  double seconds = 0;
};

struct LatencyRequest {
  std::vector<int32_t> descriptor;
  int batch = 64, resolution = 224;
  int warmup = 3, iterations = 10;
  double bnEps = 1e-5;
  std::string precision = "fp32";  // 'fp32' | 'fp16' (CUDA only)
  std::function<bool()> cancelled;  // AbortSignal or Engine.close(): polled while waiting for memory and between runs
};

struct LatencyResult {
  double meanMs = 0, medianMs = 0, p90Ms = 0, minMs = 0, imagesPerSecond = 0;
  std::vector<double> samplesMs;
  std::string device;  // what measured it ("" = the backend's name)
};

/** A compute backend. Thread-safe: many requests may run at once. Errors are zennas::Failure. */
class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual int threads() const = 0;
  virtual ProxyResult run(const ProxyRequest& r) = 0;
  virtual LatencyResult latency(const LatencyRequest& r) = 0;
};

/**
 * In zennas.node: 'cpu' → the CPU backend with `threads` workers (0 = hardware concurrency);
 * 'cuda' → E_BACKEND (the CUDA backend is zennas_cuda.node's, or was not built: why).
 * In zennas_cuda.node (compiled with ZENNAS_CUDA_BACKEND): 'cuda' → the CUDA backend
 * (native/cuda/cuda_backend.h; E_BACKEND when no GPU is usable); 'cpu' → E_BACKEND.
 * Both addons export the same Engine class (native/engine/engine_napi.cc) over this factory.
 */
std::unique_ptr<Backend> makeBackend(const std::string& name, int threads);

/** Why CUDA is unavailable in this build ("" when compiled in). */
std::string cudaBuildReason();
bool cudaCompiledIn();

}  // namespace zennas
