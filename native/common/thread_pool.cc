#include "thread_pool.h"

#include <cstdlib>
#include <new>

namespace zennas {

void AlignedBuffer::resize(size_t n) {
  release();
  if (n == 0) return;
  void* p = nullptr;
  if (posix_memalign(&p, 64, n * sizeof(float)) != 0 || p == nullptr) throw std::bad_alloc();
  p_ = static_cast<float*>(p);
  n_ = n;
}

void AlignedBuffer::release() {
  std::free(p_);
  p_ = nullptr;
  n_ = 0;
}

ThreadPool::ThreadPool(int threads) {
  if (threads < 1) threads = 1;
  scratch_.resize(threads);
  for (auto& s : scratch_) s.resize(kScratchFloats);
  workers_.reserve(threads);
  for (int i = 0; i < threads; ++i) workers_.emplace_back([this, i] { loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> g(m_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::parallelFor(int64_t n, const std::function<void(int64_t, int, float*)>& fn) {
  if (n <= 0) return;
  Job job;
  job.fn = &fn;
  job.n = n;
  std::unique_lock<std::mutex> lk(m_);
  queue_.push_back(&job);
  if (n == 1) cv_.notify_one(); else cv_.notify_all();
  job.cv.wait(lk, [&] { return job.done == job.n; });
  lk.unlock();
  if (job.error) std::rethrow_exception(job.error);
}

void ThreadPool::loop(int id) {
  float* scratch = scratch_[id].data();
  std::unique_lock<std::mutex> lk(m_);
  for (;;) {
    cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_
    Job* job = queue_.front();
    const int64_t i = job->next++;
    if (job->next >= job->n) queue_.pop_front();  // every chunk claimed
    lk.unlock();
    std::exception_ptr err;
    try {
      (*job->fn)(i, id, scratch);
    } catch (...) {
      err = std::current_exception();
    }
    lk.lock();
    if (err && !job->error) job->error = err;
    if (++job->done == job->n) job->cv.notify_all();
  }
}

}  // namespace zennas
