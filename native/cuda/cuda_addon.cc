// Module init of zennas_cuda.node: the CUDA backend as its own addon. It is a separate shared
// object so that a machine without cuDNN on the loader path (or a moved Python environment)
// loses only this module — src/engine/native.ts loads it lazily and reports why it failed —
// never the CPU engine in zennas.node.
//
// Exports the same surface as zennas.node's engine (native/engine/engine_napi.cc, compiled into
// this module with ZENNAS_CUDA_BACKEND so that makeBackend('cuda') is native/cuda/cuda_backend.h):
//   new Engine({ backend: 'cuda' })   run('zen' | 'gradients', descriptor, options), latency(descriptor, options),
//                                     close() (frees the backend's GPU memory), threads (0)
//   cudaStatus() → { compiled: true, available, reason, device, computeCapability, cudnnVersion }
//   setErrorClass(ZennasError)        as zennas.node's: native errors are that class
//   _cudaPlan(descriptor, resolution[, { backward }]) test hook: validate + plan as the CUDA
//                                     backend would (no GPU needed) → { ops, slots, output: [c, h, w] },
//                                     with backward (a 'gradients' plan, keepAll) also
//                                     gradients: [{ op, size }] (the parameter-gradient layout, op order)
//                                     and unreachable: [op] (ops no output depends on: exact zeros); or throws
// Errors come from the shared N-API layer (native/engine/napi_util.h), with a `code`.
#include <napi.h>

#include <new>
#include <string>
#include <vector>

#include "../common/errors.h"
#include "../engine/engine_napi.h"
#include "../engine/napi_util.h"
#include "cuda_backend.h"
#include "cuda_common.h"
#include "grad_plan.h"

namespace {

Napi::Value CudaStatus(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const zennas::cuda::DeviceInfo& d = zennas::cuda::probeDevice();
  Napi::Object o = Napi::Object::New(env);
  o.Set("compiled", true);
  o.Set("available", d.available);
  o.Set("reason", d.reason);
  o.Set("device", d.name);
  o.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
  o.Set("cudnnVersion", d.cudnnVersion);
  return o;
}

/** _cudaPlan(descriptor, resolution[, { backward }]): the planning a GPU call runs first, without a device. */
Napi::Value CudaPlanHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const std::vector<int32_t> words = zennas::descriptorArg(info.Length() > 0 ? info[0] : env.Undefined());
    const double res = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
    if (!(res >= 1 && res <= 4096) || res != static_cast<int>(res)) zennas::fail("E_OPTION", "_cudaPlan: resolution must be an integer in [1, 4096]");
    bool backward = false;
    if (info.Length() > 2 && info[2].IsObject()) {
      const Napi::Value b = info[2].As<Napi::Object>().Get("backward");
      backward = b.IsBoolean() && b.As<Napi::Boolean>().Value();
    }
    Napi::Object o = Napi::Object::New(env);
    Napi::Array out = Napi::Array::New(env, 3);
    if (!backward) {
      const zennas::cuda::Net net = zennas::cuda::decodeNet(words.data(), words.size(), static_cast<int>(res));
      o.Set("ops", static_cast<double>(net.ops.size()));
      o.Set("slots", net.numSlots);
      out.Set(0u, net.outC);
      out.Set(1u, net.outH);
      out.Set(2u, net.outW);
      o.Set("output", out);
      return o;
    }
    const zennas::Descriptor d = zennas::cuda::decodeGradNet(words.data(), words.size(), static_cast<int>(res));
    const zennas::cuda::GradLayout L = zennas::cuda::planGradients(d);
    o.Set("ops", static_cast<double>(d.ops.size()));
    o.Set("slots", d.nSlots);
    out.Set(0u, static_cast<double>(d.outputShape.c));
    out.Set(1u, static_cast<double>(d.outputShape.h));
    out.Set(2u, static_cast<double>(d.outputShape.w));
    o.Set("output", out);
    Napi::Array grads = Napi::Array::New(env);
    Napi::Array unreachable = Napi::Array::New(env);
    for (size_t i = 0; i < d.ops.size(); ++i) {
      if (L.wgradOffset[i] >= 0) {
        Napi::Object g = Napi::Object::New(env);
        g.Set("op", static_cast<double>(i));
        g.Set("size", static_cast<double>(L.wgradSize[i]));
        grads.Set(grads.Length(), g);
      }
      if (!L.needsGrad[static_cast<size_t>(d.ops[i].value)]) unreachable.Set(unreachable.Length(), static_cast<double>(i));
    }
    o.Set("gradients", grads);
    o.Set("unreachable", unreachable);
    return o;
  } catch (const zennas::Failure& e) {
    zennas::zennasError(env, e.code(), e.what()).ThrowAsJavaScriptException();
  } catch (const std::bad_alloc&) {
    zennas::zennasError(env, "E_OUT_OF_MEMORY", "out of memory planning the descriptor").ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Object InitZennasCuda(Napi::Env env, Napi::Object exports) {
  zennas::EngineWrap::Init(env, exports);
  exports.Set("setErrorClass", Napi::Function::New(env, zennas::SetErrorClass, "setErrorClass"));
  exports.Set("cudaStatus", Napi::Function::New(env, CudaStatus, "cudaStatus"));
  exports.Set("_cudaPlan", Napi::Function::New(env, CudaPlanHook, "_cudaPlan"));
  return exports;
}

}  // namespace

NODE_API_MODULE(zennas_cuda, InitZennasCuda)
