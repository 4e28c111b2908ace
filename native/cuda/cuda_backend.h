// The CUDA backend as a zennas::Backend (native/engine/backend.h): the JS `Engine` class of
// zennas_cuda.node (native/engine/engine_napi.cc, the same as zennas.node's) gets one from
// makeBackend('cuda') (native/engine/backend.cc). Each backend — one per Engine — owns its CUDA
// streams, cuDNN handles, device memory pool (device_pool.h) and plan caches; destroying it
// (Engine.close(), or the Engine being collected, once the calls in flight finish) frees their
// GPU memory. Nothing touches the GPU until the first call: the context, streams and handles are
// created then, on that call's request thread, never on the JS thread. Thread-safe: requests in
// flight each take a stream (+ its cuDNN handle) from a small pool; Zen-score and gradients
// plans are cached per (descriptor, batch, resolution) and run one request at a time each.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include "../engine/backend.h"

namespace zennas {
namespace cuda {

struct DeviceInfo {
  bool available = false;
  std::string reason;  // why not, when !available
  std::string name;
  int major = 0, minor = 0;
  size_t totalBytes = 0;
  int cudnnVersion = 0;
};

/**
 * Whether a usable device + cuDNN exist (probed once per process, cached; creates no CUDA
 * context, so a cuDNN that cannot start is reported by the first call); never throws.
 */
const DeviceInfo& probeDevice();

/**
 * A CUDA backend on device 0 (proxies 'zen' and 'gradients', latency); Failure("E_BACKEND",
 * reason) when no device is usable. `threads` is accepted for the common Engine options and unused (the work
 * runs on the GPU; threads() reports 0).
 */
std::unique_ptr<Backend> makeCudaBackend(int threads);

}  // namespace cuda
}  // namespace zennas
