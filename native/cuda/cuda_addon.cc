// Module init of zennas_cuda.node: the CUDA backend as its own addon. It is a separate shared
// object so that a machine without cuDNN on the loader path (or a moved Python environment)
// loses only this module — src/engine/native.ts loads it lazily and reports why it failed —
// never the CPU engine in zennas.node.
#include <napi.h>

#include "cuda_napi.h"

static Napi::Object InitZennasCuda(Napi::Env env, Napi::Object exports) {
  zennas::cuda::RegisterCudaExports(env, exports);
  return exports;
}
NODE_API_MODULE(zennas_cuda, InitZennasCuda)
