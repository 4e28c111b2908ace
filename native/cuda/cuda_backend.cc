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
#include "device_pool.h"
#include "grad_plan.h"
#include "latency_plan.h"
#include "zen_plan.h"

namespace zennas {
namespace cuda {
namespace {

constexpr int kStreams = 4;                          // requests in flight on the GPU at once
constexpr size_t kPlanCacheEntries = 8;              // LRU per proxy; a search scores many distinct candidates
constexpr size_t kWorkspaceLimit = size_t(256) << 20;  // per conv (every pass)

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
    // No context is created here (this runs on the JS thread, from cudaStatus() and the Engine
    // constructor): the context, streams and cuDNN handles are made on the first call's request
    // thread (CudaBackend::start), which reports a cuDNN that cannot start.
    if (d.cudnnVersion < 8000) {
      d.reason = "cuDNN " + std::to_string(d.cudnnVersion) + " is older than this build supports (8 or newer)";
      return d;
    }
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

template <class Plan>
struct PlanCache {
  std::map<PlanKey, std::shared_ptr<Plan>> plans;
  std::list<PlanKey> lru;  // front = most recent
  void clear() {
    plans.clear();
    lru.clear();
  }
};

class CudaBackend final : public Backend {
 public:
  /**
   * Touches no CUDA API: the context, streams, cuDNN handles and memory pool are created by the
   * first call, on its request thread (start()), never on the JS thread that builds the Engine.
   */
  CudaBackend() = default;

  /** Frees every plan (activations, weights, workspaces), the pool, the cuDNN handles and the streams. */
  ~CudaBackend() override {
    std::lock_guard<std::mutex> lock(startMu_);
    if (!started_) return;  // nothing was created (and no context is made just to tear down)
    cudaSetDevice(0);
    {
      std::lock_guard<std::mutex> plock(planMu_);
      zenPlans_.clear();  // no request is in flight: each holds a reference to this backend
      gradPlans_.clear();
    }
    pool_.reset();  // after the plans, whose buffers it holds
    destroyLanes();
    cudaGetLastError();  // errors at teardown (e.g. a lost context) are not reported anywhere
  }

  const char* name() const override { return "cuda"; }
  int threads() const override { return 0; }

  ProxyResult run(const ProxyRequest& r) override {
    if (r.proxy != "zen" && r.proxy != "gradients") fail("E_OPTION", "unknown proxy '" + r.proxy + "' (the CUDA backend runs: zen, gradients)");
    if (r.bnStatistics) fail("E_OPTION", "option 'bnStatistics' is served by the CPU backend only");
    if (r.proxy == "gradients" && r.loss != "sum" && r.loss != "cross-entropy")
      fail("E_OPTION", "loss must be 'sum' or 'cross-entropy', got '" + r.loss + "'");
    if (r.proxy == "gradients" && !r.init.empty() && r.init != "normal" && r.init != "torch")
      fail("E_OPTION", "init must be 'normal' or 'torch', got '" + r.init + "'");
    if (r.cancelled && r.cancelled()) fail("E_CANCELLED", "the call was cancelled (AbortSignal or engine.close())");
    start();
    // Engine request threads are not the thread that started the backend: bind the device here.
    checkCuda(cudaSetDevice(0), "cudaSetDevice(0)");
    return r.proxy == "zen" ? runZen(r) : runGradients(r);
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
    start();
    checkCuda(cudaSetDevice(0), "cudaSetDevice(0)");
    LaneLease lease(*this);
    if (r.cancelled && r.cancelled()) fail("E_CANCELLED", "the latency measurement was cancelled (AbortSignal or engine.close())");
    // Latency plans are not cached: measuring is rare and the timed trials should see a quiet GPU.
    LatencyResult result;
    drainOnFailure(lease.lane().stream, [&] {
      LatencyPlan plan(std::move(net), o, lease.lane().handle, lease.lane().stream, kWorkspaceLimit, *pool_);
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

  /**
   * Creates the CUDA context (cudaSetDevice), the streams with their cuDNN handles and the memory
   * pool, once, on the calling (request) thread. A failure is reported to this call and retried
   * by the next one.
   */
  void start() {
    std::lock_guard<std::mutex> lock(startMu_);
    if (started_) return;
    try {
      checkCuda(cudaSetDevice(0), "cudaSetDevice(0)");
      checkCuda(cudaFree(nullptr), "creating the CUDA context");  // the context now, not inside the first plan
      std::lock_guard<std::mutex> llock(laneMu_);
      for (int i = 0; i < kStreams; ++i) {
        lanes_.emplace_back();
        Lane& lane = lanes_.back();
        checkCuda(cudaStreamCreateWithFlags(&lane.stream, cudaStreamNonBlocking), "cudaStreamCreate");
        const cudnnStatus_t cs = cudnnCreate(&lane.handle);
        if (cs != CUDNN_STATUS_SUCCESS) {
          lane.handle = nullptr;
          fail("E_BACKEND", std::string("CUDA backend unavailable: cuDNN cannot start: ") + cudnnGetErrorString(cs));
        }
        checkCudnn(cudnnSetStream(lane.handle, lane.stream), "cudnnSetStream");
        freeLanes_.push_back(i);
      }
      pool_ = std::make_unique<DevicePool>(defaultPoolIdleLimit(probeDevice().totalBytes));
    } catch (...) {
      destroyLanes();
      throw;
    }
    started_ = true;
  }

  void destroyLanes() {
    std::lock_guard<std::mutex> lock(laneMu_);
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

  ProxyResult runZen(const ProxyRequest& r) {
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
    std::shared_ptr<ZenPlan> plan = cachedPlan(zenPlans_, r, [&] {
      return std::make_shared<ZenPlan>(decodeNet(r.descriptor.data(), r.descriptor.size(), r.resolution), r.batch, lease.lane().handle,
                                       kWorkspaceLimit, *pool_);
    });
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

  /** The 'gradients' proxy (DESCRIPTOR.md "Proxy gradients"), as native/proxies/gradients_proxy.cc. */
  ProxyResult runGradients(const ProxyRequest& r) {
    const auto t0 = std::chrono::steady_clock::now();
    GradRunOptions o;
    o.seed = r.seed;
    o.firstRepeat = r.firstRepeat;
    o.repeats = r.repeats;
    o.bnEps = r.bnEps;
    o.crossEntropy = r.loss == "cross-entropy";
    o.torchInit = r.init == "torch";
    o.labels = r.labels;
    o.inputGradient = r.inputGradient;
    o.returnGradients = r.returnGradients;
    o.cancelled = r.cancelled;
    LaneLease lease(*this);
    std::shared_ptr<GradPlan> plan = cachedPlan(gradPlans_, r, [&] {
      return std::make_shared<GradPlan>(decodeGradNet(r.descriptor.data(), r.descriptor.size(), r.resolution), r.batch,
                                        lease.lane().handle, kWorkspaceLimit, *pool_);
    });
    GradRunResult g;
    {
      std::lock_guard<std::mutex> lock(plan->mutex());
      drainOnFailure(lease.lane().stream, [&] { g = plan->run(o, lease.lane().stream, lease.lane().handle); });
    }
    ProxyResult out;
    out.scores = std::move(g.loss);
    out.series.emplace_back("gradNorm", std::move(g.gradNorm));
    out.gradients = std::move(g.gradients);
    out.inputGradient = std::move(g.inputGradient);
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
  }

  /**
   * The cached plan of (descriptor, batch, resolution) or a new one from `make` (LRU, ≤ 8 per
   * proxy). A plan that does not fit in GPU memory is retried once after every cached plan of
   * both proxies is dropped and the pool's idle blocks are freed.
   */
  template <class Plan, class Make>
  std::shared_ptr<Plan> cachedPlan(PlanCache<Plan>& cache, const ProxyRequest& r, Make make) {
    PlanKey key{r.descriptor, r.batch, r.resolution, 0};
    {
      std::lock_guard<std::mutex> lock(planMu_);
      auto it = cache.plans.find(key);
      if (it != cache.plans.end()) {
        cache.lru.remove(key);
        cache.lru.push_front(key);
        return it->second;
      }
    }
    std::shared_ptr<Plan> plan;
    try {
      plan = make();
    } catch (const Failure& e) {
      if (e.code() != "E_OUT_OF_MEMORY") throw;
      // Cached plans of earlier candidates may hold the memory: drop them and try once more.
      {
        std::lock_guard<std::mutex> lock(planMu_);
        zenPlans_.clear();
        gradPlans_.clear();
      }
      pool_->trim();
      plan = make();
    }
    std::lock_guard<std::mutex> lock(planMu_);
    // Another request may have built the same plan meanwhile: share that one (one LRU entry per key).
    auto raced = cache.plans.find(key);
    if (raced != cache.plans.end()) return raced->second;
    cache.plans[key] = plan;
    cache.lru.push_front(key);
    while (cache.lru.size() > kPlanCacheEntries) {
      cache.plans.erase(cache.lru.back());  // in-flight users keep their shared_ptr
      cache.lru.pop_back();
    }
    return plan;
  }

  std::mutex startMu_;
  bool started_ = false;

  std::vector<Lane> lanes_;
  std::vector<int> freeLanes_;
  std::mutex laneMu_;
  std::condition_variable laneCv_;

  // Declared before the plan caches: destroyed after them (their buffers are the pool's blocks).
  std::unique_ptr<DevicePool> pool_;
  std::mutex planMu_;
  PlanCache<ZenPlan> zenPlans_;
  PlanCache<GradPlan> gradPlans_;
};

}  // namespace

std::unique_ptr<Backend> makeCudaBackend(int /*threads*/) {
  const DeviceInfo& d = probeDevice();
  if (!d.available) fail("E_BACKEND", "CUDA backend unavailable: " + d.reason);
  return std::make_unique<CudaBackend>();
}

}  // namespace cuda
}  // namespace zennas
