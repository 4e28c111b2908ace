// The CPU backend: one thread pool per engine, a small LRU of compiled plans, and one memory
// budget for the whole process that every plan of every engine draws from.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "../common/descriptor.h"
#include "../engine/backend.h"
#include "executor.h"

namespace zennas {
namespace cpu {

std::unique_ptr<Backend> makeCpuBackend(int threads);

/**
 * The process-wide budget of plan bytes: ZENNAS_MEMORY_LIMIT (bytes, or with a K/M/G/KiB/MiB/GiB
 * suffix) when set, else min(16 GiB, 75 % of physical memory). Every compiled plan of every CPU
 * engine in the process holds its bytes against it for as long as it exists — plans running a
 * call and the plan caches' idle plans alike — so concurrent calls cannot add up past it.
 * A plan larger than the whole budget is refused at once (E_OUT_OF_MEMORY, saying whether its
 * activations or its weights dominate). A plan that fits the budget but not beside the plans
 * already held first evicts idle cached plans (of every engine), then waits, first come first
 * served, until calls in flight release theirs; a waiting call stays cancellable (AbortSignal,
 * Engine.close(): E_CANCELLED).
 */
double planLimitBytes();

/** The budget's state (test hook `_memory()`): limit, bytes held, the peak since the last reset, calls waiting. */
struct MemoryStats {
  double limitBytes = 0, usedBytes = 0, peakBytes = 0;
  int waiting = 0, plans = 0;
};
MemoryStats memoryStats(bool resetPeak);

/**
 * The E_OUT_OF_MEMORY message of a plan of `need` bytes over `limit` bytes: how much is activations
 * (and gradients) and how much is weights, which dominates, and the advice that follows (lower
 * batchSize / resolution only when the activations dominate).
 */
std::string planTooLargeMessage(const Descriptor& d, const ExecutorConfig& c, double need, double limit);

}  // namespace cpu
}  // namespace zennas
