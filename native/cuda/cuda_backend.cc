#include "cuda_backend.h"

#include <cuda_runtime.h>

#include <chrono>
#include <condition_variable>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include "cuda_common.h"
#include "latency_plan.h"
#include "zen_plan.h"

namespace zennas {
namespace cuda {
namespace {

constexpr int kStreams = 4;                          // requests in flight on the GPU at once
constexpr size_t kZenPlanCacheEntries = 8;           // LRU; a search scores many distinct candidates
constexpr size_t kWorkspaceLimit = size_t(256) << 20;  // per conv

struct PlanKey {
  std::vector<int32_t> descriptor;
  int batch, resolution, extra;
  bool operator<(const PlanKey& o) const {
    if (batch != o.batch) return batch < o.batch;
    if (resolution != o.resolution) return resolution < o.resolution;
    if (extra != o.extra) return extra < o.extra;
    return descriptor < o.descriptor;
  }
  bool operator==(const PlanKey& o) const {
    return batch == o.batch && resolution == o.resolution && extra == o.extra && descriptor == o.descriptor;
  }
};

}  // namespace

const DeviceInfo& probeDevice() {
  static const DeviceInfo info = [] {
    DeviceInfo d;
    int count = 0;
    const cudaError_t st = cudaGetDeviceCount(&count);
    if (st != cudaSuccess || count == 0) {
      cudaGetLastError();
      if (st == cudaSuccess || st == cudaErrorNoDevice)
        d.reason = "no CUDA GPU found";
      else if (st == cudaErrorInsufficientDriver)
        d.reason = "no usable CUDA GPU: the NVIDIA driver is missing or older than this build's CUDA " +
                   std::to_string(CUDART_VERSION / 1000) + " runtime needs (cudaErrorInsufficientDriver)";
      else
        d.reason = std::string("no usable CUDA GPU (") + cudaGetErrorName(st) + ": " + cudaGetErrorString(st) + ")";
      return d;
    }
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) {
      cudaGetLastError();
      d.reason = "cannot query CUDA device 0";
      return d;
    }
    d.name = prop.name;
    d.major = prop.major;
    d.minor = prop.minor;
    d.totalBytes = prop.totalGlobalMem;
    d.cudnnVersion = static_cast<int>(cudnnGetVersion());
    if (prop.major < 7) {
      d.reason = std::string("CUDA device ") + prop.name + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) +
                 ") is older than this build supports";
      return d;
    }
    cudnnHandle_t h = nullptr;
    const cudnnStatus_t cs = cudnnCreate(&h);
    if (cs != CUDNN_STATUS_SUCCESS) {
      d.reason = std::string("cuDNN cannot start: ") + cudnnGetErrorString(cs);
      return d;
    }
    cudnnDestroy(h);
    d.available = true;
    return d;
  }();
  return info;
}

namespace {

/**
 * Run `work`, which queues kernels on `stream`; if it throws, wait for what it already queued
 * before the error leaves: the plan's buffers and the lane are released with the exception,
 * and another request must not reuse them while this stream still writes to them.
 */
template <class F>
void drainOnFailure(cudaStream_t stream, F&& work) {
  try {
    work();
  } catch (...) {
    cudaStreamSynchronize(stream);
    cudaGetLastError();  // clear a non-sticky error; a sticky one keeps failing every call (see checkCuda)
    throw;
  }
}

class CudaBackend final : public Backend {
 public:
  CudaBackend() {
    try {
      checkCuda(cudaSetDevice(0), "cudaSetDevice(0)");
      for (int i = 0; i < kStreams; ++i) {
        lanes_.emplace_back();
        Lane& lane = lanes_.back();
        checkCuda(cudaStreamCreateWithFlags(&lane.stream, cudaStreamNonBlocking), "cudaStreamCreate");
        checkCudnn(cudnnCreate(&lane.handle), "cudnnCreate");
        checkCudnn(cudnnSetStream(lane.handle, lane.stream), "cudnnSetStream");
        freeLanes_.push_back(i);
      }
    } catch (...) {
      destroyLanes();  // a throwing constructor runs no destructor
      throw;
    }
  }

  /** Frees every plan (activations, weights, workspaces), the cuDNN handles and the streams. */
  ~CudaBackend() override {
    cudaSetDevice(0);
    {
      std::lock_guard<std::mutex> lock(planMu_);
      zenPlans_.clear();  // no request is in flight: each holds a reference to this backend
      zenLru_.clear();
    }
    destroyLanes();
    cudaGetLastError();  // errors at teardown (e.g. a lost context) are not reported anywhere
  }

  const char* name() const override { return "cuda"; }
  int threads() const override { return 0; }

  ProxyResult run(const ProxyRequest& r) override {
    if (r.proxy != "zen") {
      if (r.proxy == "gradients")
        fail("E_BACKEND", "proxy 'gradients' runs on the CPU backend: use an Engine with backend 'cpu' (the CUDA backend runs: zen)");
      fail("E_OPTION", "unknown proxy '" + r.proxy + "' (the CUDA backend runs: zen)");
    }
    if (r.bnStatistics) fail("E_OPTION", "option 'bnStatistics' is served by the CPU backend only");
    if (r.cancelled && r.cancelled()) fail("E_CANCELLED", "the call was cancelled (AbortSignal or engine.close())");
    // Engine worker threads are not the thread that called cudaSetDevice in the constructor.
    checkCuda(cudaSetDevice(0), "cudaSetDevice(0)");
    const auto t0 = std::chrono::steady_clock::now();
    ZenRunOptions o;
    o.seed = r.seed;
    o.firstRepeat = r.firstRepeat;
    o.repeats = r.repeats;
    o.alpha = r.alpha;
    o.bnEps = r.bnEps;
    o.official = r.official;
    o.cancelled = r.cancelled;
    LaneLease lease(*this);
    std::shared_ptr<ZenPlan> plan = zenPlan(r, lease.lane());
    std::vector<double> logDelta, logSigmaSum;
    {
      std::lock_guard<std::mutex> lock(plan->mutex());
      drainOnFailure(lease.lane().stream, [&] { plan->run(o, lease.lane().stream, lease.lane().handle, logDelta, logSigmaSum); });
    }
    ProxyResult out;
    out.scores.resize(logDelta.size());
    for (size_t i = 0; i < out.scores.size(); ++i) out.scores[i] = logDelta[i] + logSigmaSum[i];
    out.series.emplace_back("logDelta", std::move(logDelta));
    out.series.emplace_back("logSigmaSum", std::move(logSigmaSum));
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
  }

  LatencyResult latency(const LatencyRequest& r) override {
    if (r.precision != "fp16" && r.precision != "fp32")
      fail("E_OPTION", "option 'precision' must be one of 'fp16', 'fp32', got '" + r.precision + "'");
    LatencyOptions o;
    o.batch = r.batch;
    o.dtype = r.precision == "fp16" ? DType::F16 : DType::F32;
    o.warmup = r.warmup;
    o.iterations = r.iterations;
    o.bnEps = r.bnEps;
    Net net = decodeNet(r.descriptor.data(), r.descriptor.size(), r.resolution);
    checkCuda(cudaSetDevice(0), "cudaSetDevice(0)");
    LaneLease lease(*this);
    // Latency plans are not cached: measuring is rare and the timed trials should see a quiet GPU.
    LatencyResult result;
    drainOnFailure(lease.lane().stream, [&] {
      LatencyPlan plan(std::move(net), o, lease.lane().handle, lease.lane().stream, kWorkspaceLimit);
      result = plan.measure(lease.lane().stream, lease.lane().handle);
    });
    result.device = probeDevice().name;
    return result;
  }

 private:
  struct Lane {
    cudaStream_t stream = nullptr;
    cudnnHandle_t handle = nullptr;
  };

  /** Borrow a stream + handle for the duration of one request. */
  class LaneLease {
   public:
    explicit LaneLease(CudaBackend& b) : b_(b) {
      std::unique_lock<std::mutex> lock(b_.laneMu_);
      b_.laneCv_.wait(lock, [&] { return !b_.freeLanes_.empty(); });
      index_ = b_.freeLanes_.back();
      b_.freeLanes_.pop_back();
    }
    ~LaneLease() {
      {
        std::lock_guard<std::mutex> lock(b_.laneMu_);
        b_.freeLanes_.push_back(index_);
      }
      b_.laneCv_.notify_one();
    }
    LaneLease(const LaneLease&) = delete;
    LaneLease& operator=(const LaneLease&) = delete;
    const Lane& lane() const { return b_.lanes_[static_cast<size_t>(index_)]; }

   private:
    CudaBackend& b_;
    int index_;
  };

  void destroyLanes() {
    for (Lane& lane : lanes_) {
      if (lane.stream) cudaStreamSynchronize(lane.stream);
      if (lane.handle) cudnnDestroy(lane.handle);
      if (lane.stream) cudaStreamDestroy(lane.stream);
      lane.handle = nullptr;
      lane.stream = nullptr;
    }
    lanes_.clear();
    freeLanes_.clear();
  }

  std::shared_ptr<ZenPlan> zenPlan(const ProxyRequest& r, const Lane& lane) {
    PlanKey key{r.descriptor, r.batch, r.resolution, 0};
    {
      std::lock_guard<std::mutex> lock(planMu_);
      auto it = zenPlans_.find(key);
      if (it != zenPlans_.end()) {
        zenLru_.remove(key);
        zenLru_.push_front(key);
        return it->second;
      }
    }
    Net net = decodeNet(r.descriptor.data(), r.descriptor.size(), r.resolution);
    std::shared_ptr<ZenPlan> plan;
    try {
      plan = std::make_shared<ZenPlan>(net, r.batch, lane.handle, kWorkspaceLimit);
    } catch (const Failure& e) {
      if (e.code() != "E_OUT_OF_MEMORY") throw;
      // Cached plans of earlier candidates may hold the memory: drop them and try once more.
      {
        std::lock_guard<std::mutex> lock(planMu_);
        zenPlans_.clear();
        zenLru_.clear();
      }
      plan = std::make_shared<ZenPlan>(std::move(net), r.batch, lane.handle, kWorkspaceLimit);
    }
    std::lock_guard<std::mutex> lock(planMu_);
    // Another request may have built the same plan meanwhile: share that one (one LRU entry per key).
    auto raced = zenPlans_.find(key);
    if (raced != zenPlans_.end()) return raced->second;
    zenPlans_[key] = plan;
    zenLru_.push_front(key);
    while (zenLru_.size() > kZenPlanCacheEntries) {
      zenPlans_.erase(zenLru_.back());  // in-flight users keep their shared_ptr
      zenLru_.pop_back();
    }
    return plan;
  }

  std::vector<Lane> lanes_;
  std::vector<int> freeLanes_;
  std::mutex laneMu_;
  std::condition_variable laneCv_;

  std::mutex planMu_;
  std::map<PlanKey, std::shared_ptr<ZenPlan>> zenPlans_;
  std::list<PlanKey> zenLru_;  // front = most recent
};

}  // namespace

std::unique_ptr<Backend> makeCudaBackend(int /*threads*/) {
  const DeviceInfo& d = probeDevice();
  if (!d.available) fail("E_BACKEND", "CUDA backend unavailable: " + d.reason);
  return std::make_unique<CudaBackend>();
}

}  // namespace cuda
}  // namespace zennas
