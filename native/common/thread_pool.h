// One pool per Engine: `threads` workers shared by every call in flight, and at most `threads`
// threads computing at once. A caller (an AsyncWorker thread) computes chunks of its own job when
// its call is the only one in flight (CallScope) and no other caller is computing; the workers then run at most threads − 1 chunks at once (a worker
// held back sleeps until a new job arrives or the caller stops computing). Other callers only
// wait, so 4 calls on 2 threads keep 2 cores busy without oversubscription, and a caller between
// two parallelFor calls leaves its core to the workers (a fixed threads − 1 workers left one core
// idle then: the quick-start search, 2 calls in flight, lost 18 %). A pass is hundreds of short
// parallelFor calls: a caller asleep on a condition variable paid a wake-up per call (tens of µs
// on a VM whose idle vCPU halted), which made 2 threads barely faster than 1 on small nets. Between
// jobs a worker spins a few microseconds before sleeping, and so does a caller waiting for the last
// chunks. `threads` = 1, or ZENNAS_CALLER_COMPUTES=0: callers that only wait.
// Results never depend on which worker runs a chunk: chunks write disjoint outputs and every
// reduction is done per channel in a fixed order.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace zennas {

/** 64-byte aligned float buffer (no initialisation). */
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t n) { resize(n); }
  ~AlignedBuffer() { release(); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& o) noexcept : p_(o.p_), n_(o.n_), capBytes_(o.capBytes_) { o.p_ = nullptr; o.n_ = 0; o.capBytes_ = 0; }
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this != &o) { release(); p_ = o.p_; n_ = o.n_; capBytes_ = o.capBytes_; o.p_ = nullptr; o.n_ = 0; o.capBytes_ = 0; }
    return *this;
  }
  /** Discards the contents; reuses a recycled block when one fits. Throws std::bad_alloc. */
  void resize(size_t n);
  float* data() const { return p_; }
  size_t size() const { return n_; }

 private:
  void release();
  float* p_ = nullptr;
  size_t n_ = 0;
  size_t capBytes_ = 0;
};

class ThreadPool {
 public:
  /** Floats of per-worker scratch (packed GEMM panels, RNG staging). */
  static constexpr size_t kScratchFloats = size_t(1) << 20;

  explicit ThreadPool(int threads);
  /**
   * A pool without workers: parallelFor runs every chunk on the calling thread, in order, with
   * this pool's scratch. For a lane of a call that splits its independent passes over the cores
   * (CpuBackend's lanes): one pass per core needs no hand-off between threads at all.
   */
  struct Inline {};
  explicit ThreadPool(Inline);
  ~ThreadPool();
  int threads() const { return threads_; }

  /**
   * A call in flight (the backend holds one per request): a caller computes chunks only while its
   * call is the only one. With two in flight (the search's default) computing callers measured 5 %
   * slower than waiting ones, whose cores the workers keep busy with both calls' chunks.
   */
  class CallScope {
   public:
    explicit CallScope(ThreadPool& p) : p_(p) { p_.calls_.fetch_add(1, std::memory_order_relaxed); }
    ~CallScope() { p_.calls_.fetch_sub(1, std::memory_order_relaxed); }
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;

   private:
    ThreadPool& p_;
  };

  /**
   * Run fn(i, worker, scratch) for i in [0, n) on the workers (and the caller, see above) and
   * wait. The first exception a chunk throws is rethrown here after all chunks finished.
   */
  void parallelFor(int64_t n, const std::function<void(int64_t, int, float*)>& fn);

 private:
  struct Job {
    const std::function<void(int64_t, int, float*)>* fn;
    int64_t n = 0;
    int64_t next = 0;
    std::atomic<int64_t> done{0};
    std::exception_ptr error;
    std::condition_variable cv;
  };
  void loop(int id);
  /** Claims chunk job->next (m_ held); the last claim takes the job off the queue. */
  int64_t claim(Job* job);
  /** Runs chunk i and counts it done; the first exception is kept for the caller. */
  void runChunk(Job* job, int64_t i, int id, std::unique_lock<std::mutex>& lk);

  std::mutex m_;
  std::condition_variable cv_;
  std::deque<Job*> queue_;
  std::atomic<size_t> queued_{0};  // queue_.size(), for workers spinning without the mutex
  std::atomic<bool> stop_{false};  // written under m_; spinning workers read it without
  std::vector<std::thread> workers_;
  std::vector<AlignedBuffer> scratch_;  // per worker, then the computing caller's
  bool callerComputing_ = false;        // a caller is running chunks (m_)
  std::atomic<int> calls_{0};           // CallScope
  int active_ = 0;                      // workers running a chunk (m_)
  int spinning_ = 0;                    // workers spinning for the next job (m_)
  int threads_ = 1;
  bool callerComputes_ = false;
  bool inline_ = false;
};

}  // namespace zennas
