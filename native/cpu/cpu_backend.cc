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
#include "../common/thread_pool.h"
#include "zen_plan.h"

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
 * Plans keyed by (descriptor words, batch, resolution, kind). A plan runs one request at a time;
 * a concurrent request for the same key compiles a second plan (both are cached afterwards).
 */
class PlanCache {
 public:
  std::shared_ptr<ZenPlan> acquire(const std::vector<int32_t>& desc, int batch, int resolution, bool eval) {
    std::string key(reinterpret_cast<const char*>(desc.data()), desc.size() * sizeof(int32_t));
    key.append(reinterpret_cast<const char*>(&batch), sizeof batch);
    key.append(reinterpret_cast<const char*>(&resolution), sizeof resolution);
    key.push_back(eval ? 'e' : 'z');
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
    Descriptor d = parseDescriptor(desc.data(), desc.size(), resolution);
    auto plan = std::make_shared<ZenPlan>(std::move(d), batch, resolution, planLimitBytes(), eval);
    std::lock_guard<std::mutex> g(m_);
    entries_.push_front({std::move(key), plan, true});
    return plan;
  }

  void release(const std::shared_ptr<ZenPlan>& plan) {
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
  void discard(const std::shared_ptr<ZenPlan>& plan) {
    std::lock_guard<std::mutex> g(m_);
    entries_.remove_if([&](const Entry& e) { return e.plan == plan; });
  }

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<ZenPlan> plan;
    bool busy;
  };
  std::mutex m_;
  std::list<Entry> entries_;
};

class PlanLease {
 public:
  PlanLease(PlanCache& c, std::shared_ptr<ZenPlan> p) : c_(c), p_(std::move(p)) {}
  ~PlanLease() {
    if (ok_) c_.release(p_); else c_.discard(p_);
  }
  ZenPlan& operator*() { return *p_; }
  void ok() { ok_ = true; }

 private:
  PlanCache& c_;
  std::shared_ptr<ZenPlan> p_;
  bool ok_ = false;
};

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) : pool_(threads) {}
  const char* name() const override { return "cpu"; }
  int threads() const override { return pool_.threads(); }

  ZenScoreResult zenScore(const ZenScoreRequest& r) override {
    const auto t0 = std::chrono::steady_clock::now();
    PlanLease plan(cache_, cache_.acquire(r.descriptor, r.batch, r.resolution, false));
    ZenScoreResult out;
    out.scores.reserve(r.repeats);
    (*plan).zenScore(r, pool_, out);
    plan.ok();
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
  }

  LatencyResult latency(const LatencyRequest& r) override {
    PlanLease plan(cache_, cache_.acquire(r.descriptor, r.batch, r.resolution, true));
    (*plan).drawAll(0, 0, 0.0, pool_);
    for (int i = 0; i < r.warmup; ++i) (*plan).evalForward(pool_);
    LatencyResult out;
    for (int i = 0; i < r.iterations; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      (*plan).evalForward(pool_);
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
