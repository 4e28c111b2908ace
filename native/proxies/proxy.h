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

/**
 * More plans of the call's descriptor and config, for a proxy made of many independent reverse
 * passes (tenas_ntk: one per image): lane l runs its share of the passes on its own plan with a
 * one-thread inline pool, one lane per pool thread. Small nets gain most — a pass of ~300 short
 * parallel steps pays a hand-off between threads per step, a lane pays none. Results do not depend
 * on the lane a pass ran in (task splits never depend on the thread count).
 */
class Lanes {
 public:
  virtual ~Lanes() = default;
  /**
   * Opens up to `want` lanes (≥ 1) and returns how many are open: at most the pool's threads, and
   * fewer when the memory budget has no room now for another plan (it never waits for one). Lane 0
   * is the call's own plan. Each lane's plan must get the same weights and input before use.
   */
  virtual int open(int want) = 0;
  /** Lanes open now. */
  virtual int count() const = 0;
  virtual Executor& plan(int lane) = 0;
  /** Lane 0 … n−1's one-thread pool (for passes run inside a chunk of the call's pool). */
  virtual ThreadPool& pool(int lane) = 0;
};

struct CpuProxy {
  const char* name;
  /** The plan the proxy runs on (cached per descriptor + config). */
  ExecutorConfig (*config)(const ProxyRequest& r);
  void (*run)(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out);
  /** Set instead of `run` by a proxy that splits its passes over lanes (lanes.plan(0) is the call's plan). */
  void (*runLanes)(Lanes& lanes, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out) = nullptr;
  /**
   * Set beside both `run` and `runLanes` by a proxy whose lanes take another plan than `config`
   * (the Zen-score: one plan per forward): the lanes' config for this request on `threads`
   * threads, or images = 0 when `config` + `run` is the better choice.
   */
  ExecutorConfig (*laneConfig)(const ProxyRequest& r, int threads) = nullptr;
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
