// N-API surface of the CUDA backend, for the engine to register in one line (addon.cc):
//
//   #ifdef ZENNAS_WITH_CUDA
//   #include "cuda/cuda_napi.h"
//   ...  zennas::cuda::RegisterCudaExports(env, exports);
//   #endif
//
// Adds (only in builds with the CUDA backend; without it the engine reports ZENNAS_CUDA_REASON):
//   cudaStatus()                 → { compiled: true, available, reason, device, computeCapability,
//                                    cudnnVersion }
//   cudaZenScore(desc, options)  → Promise<{ scores, logDelta, logSigmaSum, seconds }>
//       options: batchSize, resolution, repeats, seed, firstRepeat, alpha, bnEps, mode
//   cudaLatency(desc, options)   → Promise<{ meanMs, medianMs, p90Ms, minMs, imagesPerSecond,
//                                            samplesMs, device }>
//       options: batchSize, resolution, precision ('fp16'|'fp32'), warmup, iterations,
//                engine ('cudnn' only: TensorRT runs through trtexec, src/latency/), bnEps
// Work runs on Napi::AsyncWorker threads; rejections are Errors named 'ZennasError' with a
// `code` (E_BACKEND, E_OUT_OF_MEMORY, E_DESCRIPTOR, E_OPTION, E_INTERNAL).
#pragma once
#include <napi.h>

namespace zennas {
namespace cuda {

void RegisterCudaExports(Napi::Env env, Napi::Object exports);

}  // namespace cuda
}  // namespace zennas
