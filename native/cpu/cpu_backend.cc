#include "cpu_backend.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <list>
#include <mutex>
#include <string>
#include <thread>

#include "../common/descriptor.h"
#include "../common/errors.h"
#include "../common/philox.h"
#include "../common/thread_pool.h"
#include "../proxies/proxy.h"
#include "executor.h"

namespace zennas {
namespace cpu {

double planLimitBytes() {
  double limit = 16.0 * 1024 * 1024 * 1024;
  const long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && pageSize > 0) limit = std::min(limit, 0.75 * static_cast<double>(pages) * static_cast<double>(pageSize));
  return limit;
}

namespace {

constexpr size_t kMaxIdlePlans = 8;
constexpr double kMaxIdleBytes = 2.0 * 1024 * 1024 * 1024;

/**
 * Plans keyed by (descriptor words, executor config). A plan runs one request at a time; a
 * concurrent request for the same key compiles a second plan (both are cached afterwards).
 */
class PlanCache {
 public:
  std::shared_ptr<Executor> acquire(const std::vector<int32_t>& desc, const ExecutorConfig& c) {
    std::string key(reinterpret_cast<const char*>(desc.data()), desc.size() * sizeof(int32_t));
    const int64_t parts[4] = {c.images, c.groups, c.resolution, c.backward ? 1 : 0};
    key.append(reinterpret_cast<const char*>(parts), sizeof parts);
    {
      std::lock_guard<std::mutex> g(m_);
      for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (!it->busy && it->key == key) {
          it->busy = true;
          entries_.splice(entries_.begin(), entries_, it);
          return it->plan;
        }
      }
    }
    Descriptor d = parseDescriptor(desc.data(), desc.size(), c.resolution, c.backward);
    auto plan = std::make_shared<Executor>(std::move(d), c, planLimitBytes());
    std::lock_guard<std::mutex> g(m_);
    entries_.push_front({std::move(key), plan, true});
    return plan;
  }

  void release(const std::shared_ptr<Executor>& plan) {
    std::lock_guard<std::mutex> g(m_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->plan == plan) {
        it->busy = false;
        entries_.splice(entries_.begin(), entries_, it);
        break;
      }
    // Evict least recently used idle plans beyond the count / memory budget.
    size_t idle = 0;
    double bytes = 0;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->busy) { ++it; continue; }
      ++idle;
      bytes += static_cast<double>(it->plan->bytes());
      if (idle > kMaxIdlePlans || (bytes > kMaxIdleBytes && idle > 1)) it = entries_.erase(it);
      else ++it;
    }
  }

  /** Drops a plan that failed mid-run (its buffers may hold a half-finished repeat; harmless, but be tidy). */
  void discard(const std::shared_ptr<Executor>& plan) {
    std::lock_guard<std::mutex> g(m_);
    entries_.remove_if([&](const Entry& e) { return e.plan == plan; });
  }

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<Executor> plan;
    bool busy;
  };
  std::mutex m_;
  std::list<Entry> entries_;
};

class PlanLease {
 public:
  PlanLease(PlanCache& c, std::shared_ptr<Executor> p) : c_(c), p_(std::move(p)) {}
  ~PlanLease() {
    if (ok_) c_.release(p_); else c_.discard(p_);
  }
  Executor& operator*() { return *p_; }
  void ok() { ok_ = true; }

 private:
  PlanCache& c_;
  std::shared_ptr<Executor> p_;
  bool ok_ = false;
};

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) : pool_(threads) {}
  const char* name() const override { return "cpu"; }
  int threads() const override { return pool_.threads(); }

  ProxyResult run(const ProxyRequest& r) override {
    const CpuProxy* proxy = findCpuProxy(r.proxy);
    if (!proxy) fail("E_OPTION", "unknown proxy '" + r.proxy + "' (the CPU backend has: " + cpuProxyNames() + ")");
    const auto t0 = std::chrono::steady_clock::now();
    PlanLease plan(cache_, cache_.acquire(r.descriptor, proxy->config(r)));
    ProxyResult out;
    out.scores.reserve(r.repeats);
    proxy->run(*plan, r, pool_, out);
    plan.ok();
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
  }

  LatencyResult latency(const LatencyRequest& r) override {
    PlanLease plan(cache_, cache_.acquire(r.descriptor, {int64_t(r.batch), 1, r.resolution, false}));
    (*plan).drawWeights(0, 0, pool_);
    drawGaussianImages(*plan, 0, kStreamInput, 0, 0, r.batch, pool_);
    Executor::ForwardMode eval;
    eval.train = false;
    for (int i = 0; i < r.warmup; ++i) (*plan).forward(pool_, eval);
    LatencyResult out;
    for (int i = 0; i < r.iterations; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      (*plan).forward(pool_, eval);
      out.samplesMs.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    plan.ok();
    std::vector<double> s = out.samplesMs;
    std::sort(s.begin(), s.end());
    double sum = 0;
    for (double v : s) sum += v;
    out.meanMs = sum / s.size();
    // Quantiles interpolate linearly between closest ranks (numpy's default), as the CUDA backend and
    // the TensorRT path do, so p90 means the same thing on every backend.
    const auto quantile = [&s](double q) {
      const double pos = q * static_cast<double>(s.size() - 1);
      const size_t lo = static_cast<size_t>(std::floor(pos)), hi = std::min(lo + 1, s.size() - 1);
      return s[lo] + (s[hi] - s[lo]) * (pos - static_cast<double>(lo));
    };
    out.medianMs = quantile(0.5);
    out.p90Ms = quantile(0.9);
    out.minMs = s.front();
    out.imagesPerSecond = r.batch / (out.meanMs / 1000.0);
    return out;
  }

 private:
  ThreadPool pool_;
  PlanCache cache_;
};

}  // namespace

std::unique_ptr<Backend> makeCpuBackend(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::make_unique<CpuBackend>(threads);
}

}  // namespace cpu
}  // namespace zennas
