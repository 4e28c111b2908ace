// A per-backend pool of device memory (the caching-allocator idea of PyTorch's CUDA allocator,
// kept small): plan buffers come from here instead of one cudaMalloc each, and a freed plan's
// blocks go back to the pool for the next candidate's plan. Idle blocks are bounded (beyond the
// bound the largest idle blocks are cudaFree'd) and all of them are freed by the destructor (the
// backend's: Engine.close()). cudaFree synchronises the whole device, so a search that plans one
// candidate after another no longer stalls every stream on each plan eviction.
// Thread-safe. A block handed out is not touched by the pool until it is released; callers
// release only blocks no queued work uses any more (every plan synchronises its stream before
// its buffers can be freed).
#pragma once
#include <cstddef>
#include <map>
#include <mutex>
#include <unordered_map>

namespace zennas {
namespace cuda {

class DevicePool {
 public:
  /** `idleLimitBytes`: the most idle (cached, unused) bytes kept; 0 frees every block on release. */
  explicit DevicePool(size_t idleLimitBytes);
  ~DevicePool();
  DevicePool(const DevicePool&) = delete;
  DevicePool& operator=(const DevicePool&) = delete;

  /**
   * A block of at least `bytes` (256-byte aligned): an idle block of a close size, else
   * cudaMalloc; when that fails, every idle block is freed and cudaMalloc tried once more.
   * Throws Failure E_OUT_OF_MEMORY (naming `what`) / E_BACKEND.
   */
  void* allocate(size_t bytes, const char* what);
  /** Returns a block from allocate() to the pool. Never throws. */
  void release(void* p) noexcept;
  /** cudaFree every idle block (before retrying a plan that did not fit). */
  void trim() noexcept;

  size_t idleBytes() const;
  size_t liveBytes() const;
  size_t idleLimit() const { return idleLimit_; }
  /** Block size a request is rounded to (size classes: fewer distinct sizes, more reuse). */
  static size_t roundUp(size_t bytes);

 private:
  void freeIdleLocked(size_t keepAtMost) noexcept;

  const size_t idleLimit_;
  mutable std::mutex mu_;
  std::multimap<size_t, void*> idle_;         // size → block
  std::unordered_map<void*, size_t> live_;    // block → size
  size_t idleBytes_ = 0, liveBytes_ = 0;
};

/** The idle bound of a backend's pool: ZENNAS_CUDA_POOL_MIB (MiB, 0 = no caching), else min(2 GiB, 1/8 of the device). */
size_t defaultPoolIdleLimit(size_t deviceBytes);

}  // namespace cuda
}  // namespace zennas
