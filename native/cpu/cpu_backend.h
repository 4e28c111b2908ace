// The CPU backend: one thread pool per engine, a small LRU of compiled plans.
#pragma once
#include <memory>

#include "../engine/backend.h"

namespace zennas {
namespace cpu {

std::unique_ptr<Backend> makeCpuBackend(int threads);

/** Largest plan the CPU backend accepts: min(16 GiB, 75 % of physical memory). */
double planLimitBytes();

}  // namespace cpu
}  // namespace zennas
