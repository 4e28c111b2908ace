// Module init of zennas.node: the CPU Engine class, version(), cpuFeatures(), backends(), and a few
// test hooks (_philox, _gaussian) that let the tests check the RNG against the contract.
#include <napi.h>

#include <thread>

#include "common/errors.h"
#include "common/philox.h"
#include "cpu/kernels.h"
#include "engine/backend.h"
#include "engine/engine_napi.h"
#include "engine/napi_util.h"


#ifndef ZENNAS_VERSION
#define ZENNAS_VERSION "0.1.0"
#endif

namespace zennas {
namespace {

Napi::Value Version(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), ZENNAS_VERSION); }

Napi::Value CpuFeaturesJs(const Napi::CallbackInfo& info) {
  const cpu::CpuFeatures f = cpu::detectCpuFeatures();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("avx2", f.avx2);
  o.Set("fma", f.fma);
  o.Set("threads", static_cast<double>(std::max(1u, std::thread::hardware_concurrency())));
  o.Set("simd", cpu::selectKernels().simd);
  return o;
}

/**
 * What this addon knows about the backends: the CPU engine, and whether the build produced the
 * CUDA addon (zennas_cuda.node, loaded by src/engine/native.ts) or why not.
 */
Napi::Value Backends(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("cpu", true);
  o.Set("cuda", false);
  o.Set("cudaBuilt", cudaCompiledIn());
  if (!cudaCompiledIn()) o.Set("cudaReason", cudaBuildReason());
  return o;
}

/** _philox(c0, c1, c2, c3, k0, k1) → Uint32Array(4). */
Napi::Value PhiloxHook(const Napi::CallbackInfo& info) {
  uint32_t v[6] = {0, 0, 0, 0, 0, 0};
  for (size_t i = 0; i < 6 && i < info.Length(); ++i) v[i] = info[i].ToNumber().Uint32Value();
  uint32_t out[4];
  philox4x32_10(v, PhiloxKey{v[4], v[5]}, out);
  Napi::Uint32Array a = Napi::Uint32Array::New(info.Env(), 4);
  for (int i = 0; i < 4; ++i) a[i] = out[i];
  return a;
}

/** _gaussian(seed, stream, repeat, begin, end, simd?: 'scalar') → Float32Array of elements [begin, end). */
Napi::Value GaussianHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double seed = info.Length() > 0 ? info[0].ToNumber().DoubleValue() : 0;
  const uint32_t stream = info.Length() > 1 ? info[1].ToNumber().Uint32Value() : 0;
  const uint32_t repeat = info.Length() > 2 ? info[2].ToNumber().Uint32Value() : 0;
  const double begin = info.Length() > 3 ? info[3].ToNumber().DoubleValue() : 0;
  const double end = info.Length() > 4 ? info[4].ToNumber().DoubleValue() : 0;
  const bool scalar = info.Length() > 5 && info[5].IsString() && info[5].As<Napi::String>().Utf8Value() == "scalar";
  if (!(seed >= 0 && seed <= 9007199254740991.0) || !(begin >= 0) || !(end >= begin) || end - begin > (1 << 26)) {
    zennasError(env, "E_OPTION", "_gaussian: bad arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const size_t n = static_cast<size_t>(end - begin);
  Napi::Float32Array a = Napi::Float32Array::New(env, n);
  const PhiloxKey key = PhiloxKey::fromSeed(static_cast<uint64_t>(seed));
  if (scalar) gaussianFillScalar(key, stream, repeat, static_cast<size_t>(begin), static_cast<size_t>(end), a.Data());
  else cpu::selectKernels().gaussianFill(key, stream, repeat, static_cast<size_t>(begin), static_cast<size_t>(end), a.Data());
  return a;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  EngineWrap::Init(env, exports);
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  exports.Set("version", Napi::Function::New(env, Version, "version"));
  exports.Set("cpuFeatures", Napi::Function::New(env, CpuFeaturesJs, "cpuFeatures"));
  exports.Set("backends", Napi::Function::New(env, Backends, "backends"));
  exports.Set("_philox", Napi::Function::New(env, PhiloxHook, "_philox"));
  exports.Set("_gaussian", Napi::Function::New(env, GaussianHook, "_gaussian"));
  return exports;
}

}  // namespace zennas

static Napi::Object InitZennas(Napi::Env env, Napi::Object exports) { return zennas::Init(env, exports); }
NODE_API_MODULE(zennas_native, InitZennas)
