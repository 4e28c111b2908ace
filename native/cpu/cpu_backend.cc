#include "cpu_backend.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "../common/descriptor.h"
#include "../common/errors.h"
#include "../common/philox.h"
#include "../common/thread_pool.h"
#include "../proxies/proxy.h"
#include "executor.h"

namespace zennas {
namespace cpu {

namespace {

/** Bytes for a message: GiB from 1 GiB up, else MiB (KiB below 1 MiB), so small plans do not read "0.00 GiB". */
std::string gib(double bytes) {
  char buf[64];
  const double k = 1024.0;
  if (bytes >= k * k * k) std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / (k * k * k));
  else if (bytes >= k * k) std::snprintf(buf, sizeof buf, "%.2f MiB", bytes / (k * k));
  else std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / k);
  return buf;
}

double defaultLimitBytes() {
  double limit = 16.0 * 1024 * 1024 * 1024;
  const long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && pageSize > 0) limit = std::min(limit, 0.75 * static_cast<double>(pages) * static_cast<double>(pageSize));
  return limit;
}

/** ZENNAS_MEMORY_LIMIT → bytes; 0 with `error` set when it is not a positive size. */
double parseLimit(const char* v, std::string& error) {
  char* end = nullptr;
  errno = 0;
  double x = std::strtod(v, &end);
  std::string unit(end ? end : "");
  for (char& ch : unit) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const double k = 1024.0;
  const double scale = unit.empty() || unit == "b" ? 1 : unit == "k" || unit == "kib" ? k : unit == "m" || unit == "mib" ? k * k
                       : unit == "g" || unit == "gib" ? k * k * k : unit == "t" || unit == "tib" ? k * k * k * k : -1;
  if (end == v || errno != 0 || scale < 0 || !std::isfinite(x) || x * scale < 1) {
    error = std::string("ZENNAS_MEMORY_LIMIT must be a size in bytes (optionally with K, M, G or T, powers of 1024), got '") + v + "'";
    return 0;
  }
  return std::floor(x * scale);
}

class PlanCache;

/**
 * The process-wide budget of plan bytes (cpu_backend.h). Waiters are served in arrival order, so a
 * large plan is not starved by a stream of small ones; idle cached plans are evicted before anyone
 * waits. Never destroyed (plans may be released at exit).
 */
class MemoryBudget {
 public:
  static MemoryBudget& instance() {
    static MemoryBudget* b = new MemoryBudget();
    return *b;
  }
  double limit() const { return limit_; }
  const std::string& configError() const { return error_; }
  const std::string& source() const { return source_; }

  /** Holds `bytes` (≤ limit) for the caller: evicts idle plans, then waits in FIFO order; E_CANCELLED when `cancelled` fires first. */
  void reserve(double bytes, const std::function<bool()>& cancelled);
  /** Holds `bytes` now if they fit (after evicting idle plans) and nobody is waiting; never waits. */
  bool tryReserve(double bytes);
  /** Accounts `bytes` more at once (a plan's real size above its estimate). */
  void grow(double bytes) {
    std::lock_guard<std::mutex> g(m_);
    used_ += bytes;
    peak_ = std::max(peak_, used_);
  }
  void release(double bytes, bool plan) {
    std::lock_guard<std::mutex> g(m_);
    used_ = std::max(0.0, used_ - bytes);
    if (plan) --plans_;
    cv_.notify_all();
  }
  void addCache(PlanCache* c) {
    std::lock_guard<std::mutex> g(cachesM_);
    caches_.push_back(c);
  }
  void removeCache(PlanCache* c) {
    std::lock_guard<std::mutex> g(cachesM_);
    caches_.erase(std::remove(caches_.begin(), caches_.end(), c), caches_.end());
  }
  MemoryStats stats(bool resetPeak) {
    std::lock_guard<std::mutex> g(m_);
    MemoryStats s;
    s.limitBytes = limit_;
    s.usedBytes = used_;
    s.peakBytes = peak_;
    s.waiting = static_cast<int>(queue_.size());
    s.plans = plans_;
    if (resetPeak) peak_ = used_;
    return s;
  }

 private:
  MemoryBudget() {
    const char* v = std::getenv("ZENNAS_MEMORY_LIMIT");
    limit_ = v && *v ? parseLimit(v, error_) : defaultLimitBytes();
    source_ = v && *v ? "set by ZENNAS_MEMORY_LIMIT" : "min(16 GiB, 75 % of physical memory); ZENNAS_MEMORY_LIMIT sets it";
  }
  /** Evicts idle plans of every engine, least recently used first, until `want` bytes are free or none is left. */
  void evictIdle(double want);
  /** Counts a plan of `bytes` as held (m_ held). */
  void take(double bytes) {
    used_ += bytes;
    ++plans_;
    peak_ = std::max(peak_, used_);
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::deque<uint64_t> queue_;  // tickets of the waiting reservations, in arrival order
  uint64_t next_ = 0;
  double limit_ = 0, used_ = 0, peak_ = 0;
  int plans_ = 0;
  std::string error_, source_;
  std::mutex cachesM_;  // lock order: cachesM_ → a cache's mutex → m_
  std::vector<PlanCache*> caches_;
};

/** Bytes held against the budget, released when the plan (and so this) is destroyed. */
class Reservation {
 public:
  explicit Reservation(double bytes) : bytes_(bytes) {}
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  ~Reservation() { MemoryBudget::instance().release(bytes_, true); }
  void grow(double extra) {
    MemoryBudget::instance().grow(extra);
    bytes_ += extra;
  }

 private:
  double bytes_;
};

/** A plan and its reservation: the executor's buffers are freed before the budget is given back. */
struct PlanBox {
  Reservation reservation;
  Executor exec;
  PlanBox(double bytes, Descriptor d, const ExecutorConfig& c, double limit) : reservation(bytes), exec(std::move(d), c, limit) {}
};

constexpr size_t kMaxIdlePlans = 8;
constexpr double kMaxIdleBytes = 2.0 * 1024 * 1024 * 1024;

/**
 * Plans keyed by (descriptor words, executor config). A plan runs one request at a time; a
 * concurrent request for the same key compiles a second plan (both are cached afterwards).
 */
class PlanCache {
 public:
  PlanCache() { MemoryBudget::instance().addCache(this); }
  ~PlanCache() { MemoryBudget::instance().removeCache(this); }
  PlanCache(const PlanCache&) = delete;
  PlanCache& operator=(const PlanCache&) = delete;

  /** The idle cached plan of (desc, c), else a new one; with `wait` false, nullptr when the budget has no room now. */
  std::shared_ptr<Executor> acquire(const std::vector<int32_t>& desc, const ExecutorConfig& c, const std::function<bool()>& cancelled, bool wait = true) {
    std::string key(reinterpret_cast<const char*>(desc.data()), desc.size() * sizeof(int32_t));
    const int64_t parts[5] = {c.images, c.groups, c.resolution, c.backward ? 1 : 0, c.convDirect ? 1 : 0};
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
    const auto t0 = std::chrono::steady_clock::now();
    Descriptor d = parseDescriptor(desc.data(), desc.size(), c.resolution, c.backward);
    MemoryBudget& budget = MemoryBudget::instance();
    const double need = Executor::estimateBytes(d, c), limit = budget.limit();
    if (!wait) {
      if (need > limit || !budget.tryReserve(need)) return nullptr;
    } else {
      if (need > limit) fail("E_OUT_OF_MEMORY", planTooLargeMessage(d, c, need, limit));
      budget.reserve(need, cancelled);  // waits while other plans hold the budget
    }
    auto box = std::make_shared<PlanBox>(need, std::move(d), c, limit);  // the reservation is returned if this throws
    const double real = static_cast<double>(box->exec.bytes());
    if (real > need) box->reservation.grow(real - need);
    std::shared_ptr<Executor> plan(box, &box->exec);
    static const bool profile = std::getenv("ZENNAS_PROFILE") != nullptr;
    if (profile)  // parse + plan + buffers (what a new structure costs before its first repeat)
      std::fprintf(stderr, "zennas-profile plan compile %.3f ms (%.2f MiB)\n", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(),
                   real / (1024.0 * 1024.0));
    std::lock_guard<std::mutex> g(m_);
    entries_.push_front({std::move(key), plan, true});
    return plan;
  }

  void release(const std::shared_ptr<Executor>& plan) {
    std::vector<std::shared_ptr<Executor>> dropped;  // freed after the lock (their reservations take the budget's)
    {
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
        if (idle > kMaxIdlePlans || (bytes > kMaxIdleBytes && idle > 1)) {
          dropped.push_back(std::move(it->plan));
          it = entries_.erase(it);
        } else {
          ++it;
        }
      }
    }
  }

  /** Drops a plan that failed mid-run (its buffers may hold a half-finished repeat; harmless, but be tidy). */
  void discard(const std::shared_ptr<Executor>& plan) {
    std::vector<std::shared_ptr<Executor>> dropped;
    std::lock_guard<std::mutex> g(m_);
    for (auto it = entries_.begin(); it != entries_.end();)
      if (it->plan == plan) {
        dropped.push_back(std::move(it->plan));
        it = entries_.erase(it);
      } else {
        ++it;
      }
  }

  /** Moves idle plans, least recently used first, into `out` until their bytes reach `want`; returns their bytes. */
  double takeIdle(double want, std::vector<std::shared_ptr<Executor>>& out) {
    std::lock_guard<std::mutex> g(m_);
    double freed = 0;
    for (auto it = entries_.end(); it != entries_.begin() && freed < want;) {
      --it;
      if (it->busy) continue;
      freed += static_cast<double>(it->plan->bytes());
      out.push_back(std::move(it->plan));
      it = entries_.erase(it);
    }
    return freed;
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

void MemoryBudget::evictIdle(double want) {
  std::vector<std::shared_ptr<Executor>> dropped;
  {
    std::lock_guard<std::mutex> g(cachesM_);
    double freed = 0;
    for (PlanCache* c : caches_) {
      if (freed >= want) break;
      freed += c->takeIdle(want - freed, dropped);
    }
  }
  dropped.clear();  // the plans' reservations go back to the budget here
}

void MemoryBudget::reserve(double bytes, const std::function<bool()>& cancelled) {
  std::unique_lock<std::mutex> lk(m_);
  const uint64_t ticket = next_++;
  queue_.push_back(ticket);
  for (;;) {
    const bool first = queue_.front() == ticket;
    if (first && used_ + bytes <= limit_) {
      queue_.pop_front();
      take(bytes);
      cv_.notify_all();
      return;
    }
    if (cancelled && cancelled()) {
      queue_.erase(std::find(queue_.begin(), queue_.end(), ticket));
      cv_.notify_all();
      fail("E_CANCELLED", "the call was cancelled while it waited for memory (the process's plans held " + gib(used_) + " of the " +
                              gib(limit_) + " budget, this plan needs " + gib(bytes) + ")");
    }
    if (first) {  // idle cached plans make room before anyone waits
      const double want = used_ + bytes - limit_;
      lk.unlock();
      evictIdle(want);
      lk.lock();
      if (used_ + bytes <= limit_) continue;
    }
    cv_.wait_for(lk, std::chrono::milliseconds(20));  // polls `cancelled`
  }
}

bool MemoryBudget::tryReserve(double bytes) {
  std::unique_lock<std::mutex> lk(m_);
  if (!queue_.empty()) return false;  // others wait first
  if (used_ + bytes > limit_) {
    const double want = used_ + bytes - limit_;
    lk.unlock();
    evictIdle(want);
    lk.lock();
    if (!queue_.empty() || used_ + bytes > limit_) return false;
  }
  take(bytes);
  return true;
}

}  // namespace

double planLimitBytes() { return MemoryBudget::instance().limit(); }

MemoryStats memoryStats(bool resetPeak) { return MemoryBudget::instance().stats(resetPeak); }

namespace {

/** What a plan of `need` bytes is made of, and what to change so that it fits under `limit` bytes. */
struct PlanSize {
  std::string parts;   // "(activations of 64 images at 32×32: 0.01 GiB; weights: 0.00 GiB)"
  std::string advice;  // "the activations dominate: lower batchSize or resolution (…)"
};

PlanSize planSize(const Descriptor& d, const ExecutorConfig& c, double need, double limit) {
  // Activations (and, with a backward pass, their gradients) are what grows with the images: the
  // plan's estimate for zero images is the rest — weights, packed copies, weight gradients, BN
  // state — plus one 16-float row per channel of every buffer (a channel row is padded to 16
  // floats even when empty), taken off again here.
  ExecutorConfig none = c;
  none.images = 0;
  std::vector<double> slotChannels(static_cast<size_t>(d.nSlots), 0.0);
  double rows = 0;
  for (size_t v = 0; v < d.valueShape.size(); ++v) {
    double& slot = slotChannels[static_cast<size_t>(d.valueSlot[v])];
    slot = std::max(slot, static_cast<double>(d.valueShape[v].c));
    if (c.backward) rows += static_cast<double>(d.valueShape[v].c);
  }
  for (double ch : slotChannels) rows += ch;
  const double fixed = std::max(0.0, Executor::estimateBytes(d, none) - 64.0 * rows);
  const double act = std::max(0.0, need - fixed);
  const double weights = need - act;
  PlanSize p;
  p.parts = std::string("(activations") + (c.backward ? " and gradients" : "") + " of " + std::to_string(c.images) +
            (c.images == 1 ? " image" : " images") +
            (c.groups > 1 ? " (" + std::to_string(c.groups) + " forwards of " + std::to_string(c.images / c.groups) + " side by side)" : std::string()) + " at " + std::to_string(c.resolution) + "×" + std::to_string(c.resolution) + ": " +
            gib(act) + "; weights" + (c.backward ? " and their gradients" : "") + ": " + gib(weights) + ")";
  if (act >= weights)
    p.advice = "the activations dominate: lower batchSize or resolution (activations grow with batchSize × resolution²)";
  else if (weights > limit)
    p.advice = "the weights dominate and alone exceed the limit, so no batchSize or resolution fits: the network is too large (fewer or narrower layers)";
  else
    p.advice = "the weights dominate (batchSize and resolution barely change them): use a smaller network (fewer or narrower layers), "
               "then lower batchSize or resolution if it still does not fit";
  return p;
}

}  // namespace

std::string planTooLargeMessage(const Descriptor& d, const ExecutorConfig& c, double need, double limit) {
  const PlanSize p = planSize(d, c, need, limit);
  return "the plan needs " + gib(need) + " " + p.parts + ", more than the memory limit of " + gib(limit) +
         " (" + MemoryBudget::instance().source() + "), shared by every plan of the process: " + p.advice;
}

namespace {

class PlanLease {
 public:
  PlanLease(PlanCache& c, std::shared_ptr<Executor> p) : c_(c), p_(std::move(p)) {}
  ~PlanLease() {
    if (!p_) return;
    if (ok_) c_.release(p_); else c_.discard(p_);
  }
  PlanLease(PlanLease&& o) noexcept : c_(o.c_), p_(std::move(o.p_)), ok_(o.ok_) {}
  PlanLease(const PlanLease&) = delete;
  PlanLease& operator=(const PlanLease&) = delete;
  Executor& operator*() { return *p_; }
  void ok() { ok_ = true; }

 private:
  PlanCache& c_;
  std::shared_ptr<Executor> p_;
  bool ok_ = false;
};

/** Lanes (proxy.h) over one call's plan: extra plans leased from the cache without waiting for memory. */
class CallLanes final : public Lanes {
 public:
  CallLanes(PlanCache& cache, const ProxyRequest& r, const ExecutorConfig& c, Executor& first, int threads)
      : cache_(cache), r_(r), c_(c), threads_(threads) {
    plans_.push_back(&first);
  }
  int open(int want) override {
    want = std::max(1, std::min(want, threads_));
    while (static_cast<int>(plans_.size()) < want) {
      std::shared_ptr<Executor> p = cache_.acquire(r_.descriptor, c_, r_.cancelled, false);
      if (!p) break;
      leases_.emplace_back(cache_, std::move(p));
      plans_.push_back(&*leases_.back());
    }
    while (pools_.size() < plans_.size()) pools_.push_back(std::make_unique<ThreadPool>(ThreadPool::Inline{}));
    return static_cast<int>(plans_.size());
  }
  int count() const override { return static_cast<int>(plans_.size()); }
  Executor& plan(int lane) override { return *plans_[static_cast<size_t>(lane)]; }
  ThreadPool& pool(int lane) override { return *pools_[static_cast<size_t>(lane)]; }
  /** The call succeeded: the extra plans go back to the cache for the next call. */
  void ok() {
    for (PlanLease& l : leases_) l.ok();
  }

 private:
  PlanCache& cache_;
  const ProxyRequest& r_;
  ExecutorConfig c_;
  int threads_;
  std::vector<Executor*> plans_;
  std::deque<PlanLease> leases_;  // stable addresses
  std::vector<std::unique_ptr<ThreadPool>> pools_;
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
    const ThreadPool::CallScope inFlight(pool_);
    ExecutorConfig config = proxy->config(r);
    bool useLanes = proxy->runLanes && !proxy->run;
    if (proxy->laneConfig) {
      const ExecutorConfig lc = proxy->laneConfig(r, pool_.threads());
      if (lc.images > 0) config = lc, useLanes = true;
    }
    config.convDirect = r.conv == "direct";
    try {
      PlanLease plan(cache_, cache_.acquire(r.descriptor, config, r.cancelled));
      ProxyResult out;
      out.scores.reserve(r.repeats);
      if (useLanes) {
        CallLanes lanes(cache_, r, config, *plan, pool_.threads());
        proxy->runLanes(lanes, r, pool_, out);
        lanes.ok();
      } else {
        proxy->run(*plan, r, pool_, out);
      }
      plan.ok();
      out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      return out;
    } catch (const std::bad_alloc&) {
      fail("E_OUT_OF_MEMORY", outOfMemory(r.descriptor, config));
    }
  }

  LatencyResult latency(const LatencyRequest& r) override {
    const ThreadPool::CallScope inFlight(pool_);  // a call in flight like any other (a proxy call beside it does not compute as its caller)
    try {
      return measure(r);
    } catch (const std::bad_alloc&) {
      fail("E_OUT_OF_MEMORY", outOfMemory(r.descriptor, {int64_t(r.batch), 1, r.resolution, false}));
    }
  }

 private:
  /** The message of a std::bad_alloc: the allocator refused below the budget (other allocations of the process, a cgroup limit). */
  static std::string outOfMemory(const std::vector<int32_t>& desc, const ExecutorConfig& c) {
    try {
      const Descriptor d = parseDescriptor(desc.data(), desc.size(), c.resolution, c.backward);
      const double need = Executor::estimateBytes(d, c), limit = planLimitBytes();
      const PlanSize p = planSize(d, c, need, limit);
      return "out of memory: the allocator refused while compiling or running a plan of " + gib(need) + " " + p.parts +
             ", below the memory limit of " + gib(limit) + " (the rest of the process or a container limit holds the memory): " + p.advice +
             ", or run fewer calls at once";
    } catch (...) {
      return "out of memory while compiling or running the plan: fewer calls at once, a lower batchSize or resolution, or a smaller network";
    }
  }

  LatencyResult measure(const LatencyRequest& r) {
    PlanLease plan(cache_, cache_.acquire(r.descriptor, {int64_t(r.batch), 1, r.resolution, false}, r.cancelled));
    // A big net at batch 64 runs for seconds per forward: check for cancellation between runs.
    const auto checkCancelled = [&r] {
      if (r.cancelled && r.cancelled()) fail("E_CANCELLED", "the latency measurement was cancelled (AbortSignal or engine.close())");
    };
    (*plan).drawWeights(0, 0, pool_);
    drawGaussianImages(*plan, 0, kStreamInput, 0, 0, r.batch, pool_);
    Executor::ForwardMode eval;
    eval.train = false;
    for (int i = 0; i < r.warmup; ++i) {
      checkCancelled();
      (*plan).forward(pool_, eval);
    }
    LatencyResult out;
    for (int i = 0; i < r.iterations; ++i) {
      checkCancelled();
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

  ThreadPool pool_;
  PlanCache cache_;
};

}  // namespace

std::unique_ptr<Backend> makeCpuBackend(int threads) {
  if (!MemoryBudget::instance().configError().empty()) fail("E_OPTION", MemoryBudget::instance().configError());
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::make_unique<CpuBackend>(threads);
}

}  // namespace cpu
}  // namespace zennas
