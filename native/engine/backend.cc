#include "backend.h"

#include "../common/errors.h"
#ifdef ZENNAS_CUDA_BACKEND
#include "../cuda/cuda_backend.h"  // this file compiled into zennas_cuda.node
#else
#include "../cpu/cpu_backend.h"
#endif

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
#ifdef ZENNAS_CUDA_BACKEND
  // zennas_cuda.node: the same Engine class as zennas.node, over the CUDA backend only.
  if (name == "cuda") return cuda::makeCudaBackend(threads);
  if (name == "cpu") fail("E_BACKEND", "backend 'cpu' is zennas.node's, not the CUDA addon's (zennas_cuda.node)");
#else
  if (name == "cpu") return cpu::makeCpuBackend(threads);
  if (name == "cuda") {
    // ── CUDA backend ── served by its own addon, zennas_cuda.node (native/cuda/cuda_addon.cc),
    // whose Engine class is this one compiled with ZENNAS_CUDA_BACKEND; src/engine/native.ts
    // loads it for backend 'cuda'. Here the factory only reports its absence.
    if (!cudaCompiledIn()) fail("E_BACKEND", cudaBuildReason());
    fail("E_BACKEND", "the CUDA backend lives in zennas_cuda.node, not in the CPU Engine class");
  }
#endif
  fail("E_OPTION", "option 'backend' must be 'cpu' or 'cuda', got '" + name + "'");
}

}  // namespace zennas
