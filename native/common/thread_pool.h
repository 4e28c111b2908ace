// One pool per Engine of `threads` compute threads shared by every call in flight: threads − 1
// workers, and the caller (an AsyncWorker thread) as the last one. A caller that finds no other
// call inside parallelFor computes chunks of its own job beside the workers; a caller that finds
// one only waits, so 4 calls on 2 threads still keep 2 cores busy without oversubscription. A
// pass is hundreds of short parallelFor calls: a caller asleep on a condition variable costs a
// wake-up per call (tens of µs on a VM whose idle vCPU halted), which made 2 threads barely faster
// than 1 on small nets. Between jobs a worker spins a few microseconds before sleeping, and so does
// a caller waiting for the last chunks. `threads` = 1, or ZENNAS_CALLER_COMPUTES=0: `threads`
// workers and callers that only wait (the earlier pool).
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
  bool stop_ = false;
  std::vector<std::thread> workers_;
  std::vector<AlignedBuffer> scratch_;  // per worker, then the computing caller's
  std::atomic<int> inside_{0};          // callers inside parallelFor
  int threads_ = 1;
  bool callerComputes_ = false;
  bool inline_ = false;
};

}  // namespace zennas
