#include "thread_pool.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <new>
#include <string>

#include "errors.h"

namespace zennas {

namespace {

/**
 * Freed large blocks kept for reuse (≤ 512 MiB in all). A search compiles a new plan for almost
 * every candidate; recycling the previous plans' buffers avoids page-faulting (and zeroing)
 * fresh memory on every call, which costs ~20 % of a small CIFAR repeat.
 */
class BlockCache {
 public:
  static BlockCache& instance() {
    static BlockCache* c = new BlockCache();  // never destroyed: buffers may be freed at exit
    return *c;
  }
  /** A cached block of at least `bytes` (at most 2×), or nullptr; *cap receives its size. */
  void* take(size_t bytes, size_t* cap) {
    std::lock_guard<std::mutex> g(m_);
    auto it = blocks_.lower_bound(bytes);
    if (it == blocks_.end() || it->first > 2 * bytes) return nullptr;
    void* p = it->second;
    *cap = it->first;
    held_ -= it->first;
    blocks_.erase(it);
    return p;
  }
  /** Returns true when the block was kept. */
  bool give(void* p, size_t bytes) {
    if (bytes < kMin) return false;
    std::lock_guard<std::mutex> g(m_);
    if (held_ + bytes > kMax) return false;
    blocks_.emplace(bytes, p);
    held_ += bytes;
    return true;
  }

 private:
  static constexpr size_t kMin = size_t(1) << 20, kMax = size_t(512) << 20;
  std::mutex m_;
  std::multimap<size_t, void*> blocks_;
  size_t held_ = 0;
};

}  // namespace

void AlignedBuffer::resize(size_t n) {
  release();
  if (n == 0) return;
  const size_t bytes = n * sizeof(float);
  size_t cap = bytes;
  void* p = BlockCache::instance().take(bytes, &cap);
  if (!p && (posix_memalign(&p, 64, bytes) != 0 || p == nullptr)) throw std::bad_alloc();
  p_ = static_cast<float*>(p);
  n_ = n;
  capBytes_ = cap;
}

void AlignedBuffer::release() {
  if (p_ && !BlockCache::instance().give(p_, capBytes_)) std::free(p_);
  capBytes_ = 0;
  p_ = nullptr;
  n_ = 0;
}

ThreadPool::ThreadPool(int threads) {
  if (threads < 1) threads = 1;
  threads_ = threads;
  const char* env = std::getenv("ZENNAS_CALLER_COMPUTES");
  callerComputes_ = threads > 1 && !(env && std::string(env) == "0");
  scratch_.resize(static_cast<size_t>(threads) + 1);  // per worker, then the computing caller's
  for (auto& s : scratch_) s.resize(kScratchFloats);
  workers_.reserve(threads);
  try {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this, i] { loop(i); });
  } catch (const std::exception& e) {
    // Thread creation failed part-way (ulimit -u, memory): stop and join what started, then report.
    const size_t started = workers_.size();
    {
      std::lock_guard<std::mutex> g(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    fail("E_BACKEND", "could not start " + std::to_string(threads) + " worker threads (" + std::to_string(started) +
                          " started): " + e.what() + "; use fewer threads");
  }
}

ThreadPool::ThreadPool(Inline) : inline_(true) {
  threads_ = 1;
  scratch_.resize(1);
  scratch_[0].resize(kScratchFloats);
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> g(m_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

namespace {
/** A short busy wait for `ready()` (≈ 20 µs at most) before the caller sleeps on a condition variable. */
template <class Ready>
void spinBriefly(Ready ready) {
  for (int i = 0; i < 256 && !ready(); ++i) {
#if defined(__x86_64__) || defined(__i386__)
    for (int j = 0; j < 16; ++j) __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
  }
}
}  // namespace

int64_t ThreadPool::claim(Job* job) {
  const int64_t i = job->next++;
  if (job->next >= job->n) {  // every chunk claimed
    if (!queue_.empty() && queue_.front() == job) queue_.pop_front();
    else queue_.erase(std::find(queue_.begin(), queue_.end(), job));
    queued_.store(queue_.size(), std::memory_order_release);
  }
  return i;
}

void ThreadPool::runChunk(Job* job, int64_t i, int id, std::unique_lock<std::mutex>& lk) {
  lk.unlock();
  std::exception_ptr err;
  try {
    (*job->fn)(i, id, scratch_[static_cast<size_t>(id)].data());
  } catch (...) {
    err = std::current_exception();
  }
  lk.lock();
  if (err && !job->error) job->error = err;
  if (job->done.fetch_add(1, std::memory_order_acq_rel) + 1 == job->n) job->cv.notify_all();
}

void ThreadPool::parallelFor(int64_t n, const std::function<void(int64_t, int, float*)>& fn) {
  if (n <= 0) return;
  if (inline_) {
    for (int64_t i = 0; i < n; ++i) fn(i, 0, scratch_[0].data());
    return;
  }
  Job job;
  job.fn = &fn;
  job.n = n;
  std::unique_lock<std::mutex> lk(m_);
  queue_.push_back(&job);
  queued_.store(queue_.size(), std::memory_order_release);
  // This caller computes when it is the only call in flight (CallScope), no other caller computes
  // and a core is free; the workers then run at most threads − 1 chunks at once.
  const bool compute = callerComputes_ && !callerComputing_ && active_ < threads_ && calls_.load(std::memory_order_relaxed) <= 1;
  if (compute) {
    callerComputing_ = true;
    if (n > 1 && spinning_ == 0) cv_.notify_one();  // a spinning worker takes the next chunk without a wake-up
    const int id = threads_;
    while (job.next < job.n) runChunk(&job, claim(&job), id, lk);
    callerComputing_ = false;
    if (!queue_.empty()) cv_.notify_one();  // a worker held back by the limit may run other calls' chunks now
    if (job.done.load(std::memory_order_acquire) != job.n) {  // the workers' last chunks: spin briefly, then sleep
      lk.unlock();
      spinBriefly([&] { return job.done.load(std::memory_order_acquire) == job.n; });
      lk.lock();
    }
  } else if (n == 1) {
    cv_.notify_one();
  } else {
    cv_.notify_all();
  }
  job.cv.wait(lk, [&] { return job.done.load(std::memory_order_relaxed) == job.n; });
  lk.unlock();
  if (job.error) std::rethrow_exception(job.error);
}

void ThreadPool::loop(int id) {
  std::unique_lock<std::mutex> lk(m_);
  for (;;) {
    if (stop_) return;
    // At most `threads` compute threads: a computing caller takes one of them.
    if (!queue_.empty() && active_ + (callerComputing_ ? 1 : 0) < threads_) {
      Job* job = queue_.front();
      const int64_t i = claim(job);
      ++active_;
      runChunk(job, i, id, lk);
      --active_;
      continue;
    }
    if (queue_.empty()) {  // spin a little for the next job before sleeping (re-checked under the lock)
      ++spinning_;
      lk.unlock();
      spinBriefly([&] { return queued_.load(std::memory_order_acquire) > 0 || stop_.load(std::memory_order_relaxed); });
      lk.lock();
      --spinning_;
      if (!queue_.empty() || stop_) continue;
    }
    cv_.wait(lk);  // a new job, a caller that stopped computing, or stop (spurious wake-ups loop back)
  }
}

}  // namespace zennas
