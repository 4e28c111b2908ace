#include "backend.h"

#include "../common/errors.h"
#include "../cpu/cpu_backend.h"

#ifndef ZENNAS_CUDA_REASON
#define ZENNAS_CUDA_REASON "zennas was built without the CUDA backend (nvcc/cuDNN not found at build time)"
#endif

namespace zennas {

bool cudaCompiledIn() {
#ifdef ZENNAS_WITH_CUDA
  return true;
#else
  return false;
#endif
}

std::string cudaBuildReason() {
  if (cudaCompiledIn()) return "";
  const std::string detail = ZENNAS_CUDA_REASON;
  // The build's reason already names what was missing (nvcc or cuDNN): say it once.
  const std::string base = "zennas was built without the CUDA backend";
  if (detail.empty() || detail.rfind(base, 0) == 0) return detail.empty() ? base : detail;
  return base + ": " + detail;
}

std::unique_ptr<Backend> makeBackend(const std::string& name, int threads) {
  if (name == "cpu") return cpu::makeCpuBackend(threads);
  if (name == "cuda") {
    // ── CUDA backend ── served by its own addon, zennas_cuda.node (native/cuda/cuda_addon.cc);
    // src/engine/engine.ts routes backend 'cuda' there. This factory only reports its absence.
    if (!cudaCompiledIn()) fail("E_BACKEND", cudaBuildReason());
    fail("E_BACKEND", "the CUDA backend lives in zennas_cuda.node, not in the CPU Engine class");
  }
  fail("E_OPTION", "option 'backend' must be 'cpu' or 'cuda', got '" + name + "'");
}

}  // namespace zennas
