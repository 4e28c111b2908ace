#include "device_pool.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <sstream>
#include <string>

#include "../common/errors.h"

namespace zennas {
namespace cuda {

DevicePool::DevicePool(size_t idleLimitBytes) : idleLimit_(idleLimitBytes) {}

DevicePool::~DevicePool() {
  std::lock_guard<std::mutex> lock(mu_);
  freeIdleLocked(0);
  // Live blocks at this point belong to buffers that outlive the backend (a bug); free them too
  // rather than leak device memory past Engine.close().
  for (auto& kv : live_) cudaFree(kv.first);
  live_.clear();
  liveBytes_ = 0;
}

size_t DevicePool::roundUp(size_t bytes) {
  if (bytes <= 512) return 512;
  if (bytes <= (size_t(1) << 20)) {  // small: powers of two
    size_t s = 512;
    while (s < bytes) s <<= 1;
    return s;
  }
  // Large: 8 classes per octave (≤ 12.5 % waste), rounded to 2 MiB (the driver's page size).
  size_t octave = size_t(1) << 20;
  while (octave * 2 <= bytes) octave <<= 1;
  const size_t step = std::max<size_t>(octave / 8, size_t(2) << 20);
  return (bytes + step - 1) / step * step;
}

void* DevicePool::allocate(size_t bytes, const char* what) {
  const size_t size = roundUp(bytes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = idle_.lower_bound(size);
    if (it != idle_.end() && it->first <= size + size / 4) {  // close enough: reuse
      void* p = it->second;
      const size_t got = it->first;
      idle_.erase(it);
      idleBytes_ -= got;
      live_[p] = got;
      liveBytes_ += got;
      return p;
    }
  }
  void* p = nullptr;
  cudaError_t st = cudaMalloc(&p, size);
  if (st == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    trim();  // idle blocks of other sizes may be what is missing
    st = cudaMalloc(&p, size);
  }
  if (st != cudaSuccess) {
    cudaGetLastError();
    std::ostringstream msg;
    if (st == cudaErrorMemoryAllocation) {
      size_t freeB = 0, totalB = 0;
      cudaMemGetInfo(&freeB, &totalB);
      cudaGetLastError();
      msg << "CUDA backend: out of GPU memory allocating " << (size >> 20) << " MiB for " << what << " (" << (freeB >> 20) << " of "
          << (totalB >> 20) << " MiB free): reduce the batch size or resolution";
      throw Failure("E_OUT_OF_MEMORY", msg.str());
    }
    msg << "CUDA backend: cudaMalloc(" << what << ") failed: " << cudaGetErrorString(st);
    throw Failure("E_BACKEND", msg.str());
  }
  std::lock_guard<std::mutex> lock(mu_);
  live_[p] = size;
  liveBytes_ += size;
  return p;
}

void DevicePool::release(void* p) noexcept {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(p);
  if (it == live_.end()) return;  // not ours (cannot happen): leave it alone
  const size_t size = it->second;
  live_.erase(it);
  liveBytes_ -= size;
  idle_.emplace(size, p);
  idleBytes_ += size;
  if (idleBytes_ > idleLimit_) freeIdleLocked(idleLimit_);
}

void DevicePool::freeIdleLocked(size_t keepAtMost) noexcept {
  while (idleBytes_ > keepAtMost && !idle_.empty()) {
    auto it = std::prev(idle_.end());  // the largest first: fewest cudaFree calls
    cudaFree(it->second);
    idleBytes_ -= it->first;
    idle_.erase(it);
  }
  cudaGetLastError();
}

void DevicePool::trim() noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  freeIdleLocked(0);
}

size_t DevicePool::idleBytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idleBytes_;
}

size_t DevicePool::liveBytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return liveBytes_;
}

size_t defaultPoolIdleLimit(size_t deviceBytes) {
  if (const char* v = std::getenv("ZENNAS_CUDA_POOL_MIB")) {
    char* end = nullptr;
    const unsigned long long mib = std::strtoull(v, &end, 10);
    if (end != v) return static_cast<size_t>(mib) << 20;
  }
  return std::min<size_t>(size_t(2) << 30, deviceBytes / 8);
}

}  // namespace cuda
}  // namespace zennas
