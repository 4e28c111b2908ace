#include "cuda_engine.h"

#include <cuda_runtime.h>

#include <chrono>
#include <condition_variable>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

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

struct CudaEngine::Impl {
  struct Lane {
    cudaStream_t stream = nullptr;
    cudnnHandle_t handle = nullptr;
  };
  std::vector<Lane> lanes;
  std::vector<int> freeLanes;
  std::mutex laneMu;
  std::condition_variable laneCv;

  std::mutex planMu;
  std::map<PlanKey, std::shared_ptr<ZenPlan>> zenPlans;
  std::list<PlanKey> zenLru;  // front = most recent

  /** Borrow a stream + handle for the duration of one request. */
  class LaneLease {
   public:
    explicit LaneLease(Impl& impl) : impl_(impl) {
      std::unique_lock<std::mutex> lock(impl_.laneMu);
      impl_.laneCv.wait(lock, [&] { return !impl_.freeLanes.empty(); });
      index_ = impl_.freeLanes.back();
      impl_.freeLanes.pop_back();
    }
    ~LaneLease() {
      {
        std::lock_guard<std::mutex> lock(impl_.laneMu);
        impl_.freeLanes.push_back(index_);
      }
      impl_.laneCv.notify_one();
    }
    const Lane& lane() const { return impl_.lanes[index_]; }

   private:
    Impl& impl_;
    int index_;
  };

  std::shared_ptr<ZenPlan> zenPlan(const ZenScoreRequest& r, const Lane& lane) {
    PlanKey key{r.descriptor, r.batch, r.resolution, 0};
    {
      std::lock_guard<std::mutex> lock(planMu);
      auto it = zenPlans.find(key);
      if (it != zenPlans.end()) {
        zenLru.remove(key);
        zenLru.push_front(key);
        return it->second;
      }
    }
    Net net = decodeNet(r.descriptor.data(), r.descriptor.size(), r.resolution);
    std::shared_ptr<ZenPlan> plan;
    try {
      plan = std::make_shared<ZenPlan>(std::move(net), r.batch, lane.handle, kWorkspaceLimit);
    } catch (const CudaFailure& e) {
      if (e.code() != "E_OUT_OF_MEMORY") throw;
      // Cached plans of earlier candidates may hold the memory: drop them and try once more.
      {
        std::lock_guard<std::mutex> lock(planMu);
        zenPlans.clear();
        zenLru.clear();
      }
      plan = std::make_shared<ZenPlan>(decodeNet(r.descriptor.data(), r.descriptor.size(), r.resolution), r.batch,
                                       lane.handle, kWorkspaceLimit);
    }
    std::lock_guard<std::mutex> lock(planMu);
    // Another request may have built the same plan meanwhile: share that one (one LRU entry per key).
    auto raced = zenPlans.find(key);
    if (raced != zenPlans.end()) return raced->second;
    zenPlans[key] = plan;
    zenLru.push_front(key);
    while (zenLru.size() > kZenPlanCacheEntries) {
      zenPlans.erase(zenLru.back());  // in-flight users keep their shared_ptr
      zenLru.pop_back();
    }
    return plan;
  }
};

CudaEngine& CudaEngine::instance() {
  const DeviceInfo& d = probeDevice();
  if (!d.available) throw CudaFailure("E_BACKEND", "CUDA backend unavailable: " + d.reason);
  static CudaEngine* engine = new CudaEngine();  // never destroyed: CUDA teardown at exit is unordered
  return *engine;
}

CudaEngine::CudaEngine() : impl_(new Impl()) {
  checkCuda(cudaSetDevice(0), "cudaSetDevice(0)");
  for (int i = 0; i < kStreams; ++i) {
    Impl::Lane lane;
    checkCuda(cudaStreamCreateWithFlags(&lane.stream, cudaStreamNonBlocking), "cudaStreamCreate");
    checkCudnn(cudnnCreate(&lane.handle), "cudnnCreate");
    checkCudnn(cudnnSetStream(lane.handle, lane.stream), "cudnnSetStream");
    impl_->lanes.push_back(lane);
    impl_->freeLanes.push_back(i);
  }
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
}  // namespace

void CudaEngine::clearPlans() {
  std::lock_guard<std::mutex> lock(impl_->planMu);
  impl_->zenPlans.clear();
  impl_->zenLru.clear();
}

ZenScoreResponse CudaEngine::zenScore(const ZenScoreRequest& r) {
  // Engine worker threads are not the thread that called cudaSetDevice in the constructor.
  checkCuda(cudaSetDevice(0), "cudaSetDevice(0)");
  const auto t0 = std::chrono::steady_clock::now();
  Impl::LaneLease lease(*impl_);
  std::shared_ptr<ZenPlan> plan = impl_->zenPlan(r, lease.lane());
  ZenScoreResponse out;
  {
    std::lock_guard<std::mutex> lock(plan->mutex());
    drainOnFailure(lease.lane().stream, [&] { plan->run(r.run, lease.lane().stream, lease.lane().handle, out.logDelta, out.logSigmaSum); });
  }
  out.scores.resize(out.logDelta.size());
  for (size_t i = 0; i < out.scores.size(); ++i) out.scores[i] = out.logDelta[i] + out.logSigmaSum[i];
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

LatencyResult CudaEngine::latency(const LatencyRequest& r) {
  checkCuda(cudaSetDevice(0), "cudaSetDevice(0)");
  Impl::LaneLease lease(*impl_);
  // Latency plans are not cached: measuring is rare and the timed trials should see a quiet GPU.
  LatencyResult result;
  drainOnFailure(lease.lane().stream, [&] {
    LatencyPlan plan(decodeNet(r.descriptor.data(), r.descriptor.size(), r.resolution), r.options, lease.lane().handle,
                     lease.lane().stream, kWorkspaceLimit);
    result = plan.measure(lease.lane().stream, lease.lane().handle);
  });
  return result;
}

}  // namespace cuda
}  // namespace zennas
