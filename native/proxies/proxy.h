// Proxies on the CPU executor: each one says which plan it needs (images, BN groups, backward)
// and runs its math on top of forward / backward passes. The registry (registry.cc) is the only
// list of them: a new proxy is one file here plus one line there (and its TS table entry).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "../common/errors.h"
#include "../common/thread_pool.h"
#include "../engine/backend.h"
#include "../cpu/executor.h"

namespace zennas {

namespace cpu {

struct CpuProxy {
  const char* name;
  /** The plan the proxy runs on (cached per descriptor + config). */
  ExecutorConfig (*config)(const ProxyRequest& r);
  void (*run)(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out);
};

/** The proxy named `name`, or nullptr. */
const CpuProxy* findCpuProxy(const std::string& name);
/** Comma-separated names (for errors). */
std::string cpuProxyNames();

/** Throws E_CANCELLED when the request was cancelled (AbortSignal or Engine.close()). */
inline void checkCancelled(const ProxyRequest& r) {
  if (r.cancelled && r.cancelled()) fail("E_CANCELLED", "the call was cancelled (AbortSignal or engine.close())");
}

/** Fills images [img0, img1) of value 0 with N(0,1) from Philox (stream, repeat), NCHW element order of a [B][C][H][W] tensor. */
void drawGaussianImages(Executor& x, uint64_t seed, uint32_t stream, uint32_t repeat, int64_t img0, int64_t img1, ThreadPool& pool);

}  // namespace cpu
}  // namespace zennas
