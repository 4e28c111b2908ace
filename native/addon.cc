// Module init of zennas.node: the CPU Engine class, version(), cpuFeatures(), backends(), and a few
// test hooks (_philox, _gaussian) that let the tests check the RNG against the contract, and
// _convStride1 (one k×k stride-1 conv by the direct GEMM or Winograd kernels, for kernel tests).
#include <napi.h>

#include <algorithm>
#include <string>
#include <thread>

#include "common/errors.h"
#include "common/philox.h"
#include "common/thread_pool.h"
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
  o.Set("avx512f", f.avx512f);
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

/**
 * _convStride1(n, cin, cout, h, w, k, x: Float32Array NCHW, weights: Float32Array OIHW, algo: 'direct' | 'winograd',
 * simd?: 'scalar', tilesPerCall?, reps?) → Float32Array NCHW: one k×k (3, 5, 7) stride-1 "same" conv
 * through the engine's kernels on one thread (Winograd in calls of `tilesPerCall` tiles, default
 * the largest; `reps` runs it that many times, for kernel timings).
 */
Napi::Value ConvStride1Hook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto bad = [&](const char* why) {
    zennasError(env, "E_OPTION", std::string("_convStride1: ") + why).ThrowAsJavaScriptException();
    return env.Undefined();
  };
  if (info.Length() < 9 || !info[6].IsTypedArray() || !info[7].IsTypedArray() || !info[8].IsString()) return bad("bad arguments");
  const int64_t n = info[0].ToNumber().Int64Value(), cin = info[1].ToNumber().Int64Value(), cout = info[2].ToNumber().Int64Value();
  const int64_t h = info[3].ToNumber().Int64Value(), w = info[4].ToNumber().Int64Value(), kk = info[5].ToNumber().Int64Value();
  if (n < 1 || cin < 1 || cout < 1 || h < 1 || w < 1 || cin > 512 || cout > 512 || n * h * w > (1 << 20) || n * h * w * std::max(cin, cout) > (1 << 24) ||
      (kk != 3 && kk != 5 && kk != 7))
    return bad("sizes out of range");
  const Napi::Float32Array x = info[6].As<Napi::Float32Array>(), wt = info[7].As<Napi::Float32Array>();
  if (static_cast<int64_t>(x.ElementLength()) != n * cin * h * w || static_cast<int64_t>(wt.ElementLength()) != cout * cin * kk * kk) return bad("array lengths");
  const std::string algo = info[8].As<Napi::String>().Utf8Value();
  const bool scalar = info.Length() > 9 && info[9].IsString() && info[9].As<Napi::String>().Utf8Value() == "scalar";
  const cpu::Kernels& k = scalar ? cpu::kernelsScalar() : cpu::selectKernels();
  cpu::ConvGeom g;
  g.cin = cin; g.cout = cout; g.k = kk; g.stride = 1; g.pad = (kk - 1) / 2; g.n = n; g.h = h; g.w = w; g.oh = h; g.ow = w;
  const int64_t plane = h * w;
  g.inStride = g.outStride = (n * plane + 15) / 16 * 16;
  const int64_t tiles = cpu::winoTiles(g);
  int64_t chunk = info.Length() > 10 && info[10].IsNumber() ? info[10].ToNumber().Int64Value() : 256;
  chunk = std::max<int64_t>(1, std::min<int64_t>(chunk, 256));
  if (algo == "winograd" && cpu::winoScratchFloats(g, (chunk + 15) / 16 * 16) > static_cast<int64_t>(ThreadPool::kScratchFloats)) {
    chunk = static_cast<int64_t>(ThreadPool::kScratchFloats) / (cpu::kWinoXi * (cpu::winoK(g) + cout + 2)) / 16 * 16;
    if (chunk < 1) return bad("channels too many for the Winograd scratch");
  }
  if (algo != "direct" && algo != "winograd") return bad("algo must be 'direct' or 'winograd'");
  AlignedBuffer in, out, A, U, scratch;
  in.resize(static_cast<size_t>(cin * g.inStride));
  out.resize(static_cast<size_t>(cout * g.outStride));
  A.resize(static_cast<size_t>(cpu::packedASize(cout, g.K())));
  scratch.resize(ThreadPool::kScratchFloats);
  std::fill(A.data(), A.data() + A.size(), 0.f);
  std::fill(out.data(), out.data() + out.size(), 0.f);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < cin; ++c) std::copy(x.Data() + (i * cin + c) * plane, x.Data() + (i * cin + c + 1) * plane, in.data() + c * g.inStride + i * plane);
  for (int64_t o = 0; o < cout; ++o)
    for (int64_t q = 0; q < g.K(); ++q) A.data()[cpu::packedAIndex(o, q, g.K())] = wt.Data()[o * g.K() + q];
  const int64_t reps = info.Length() > 11 && info[11].IsNumber() ? std::max<int64_t>(1, std::min<int64_t>(1000, info[11].ToNumber().Int64Value())) : 1;
  if (algo == "winograd") {
    U.resize(static_cast<size_t>(cpu::winoWeightFloats(g)));
    std::fill(U.data(), U.data() + U.size(), 0.f);
    k.winoWeights(g, A.data(), U.data(), 0, cout);
  }
  for (int64_t rep = 0; rep < reps; ++rep) {  // reps > 1: kernel timing (benchmarks), same result
    if (algo == "direct") {
      for (int64_t c0 = 0; c0 < g.cols(); c0 += cpu::kMaxChunkCols) k.convGemm(g, A.data(), in.data(), out.data(), c0, std::min(g.cols(), c0 + cpu::kMaxChunkCols), scratch.data());
    } else {
      for (int64_t t0 = 0; t0 < tiles; t0 += chunk) k.winoConv(g, U.data(), in.data(), out.data(), t0, std::min(tiles, t0 + chunk), scratch.data());
    }
  }
  Napi::Float32Array y = Napi::Float32Array::New(env, static_cast<size_t>(n * cout * plane));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < cout; ++c) std::copy(out.data() + c * g.outStride + i * plane, out.data() + c * g.outStride + (i + 1) * plane, y.Data() + (i * cout + c) * plane);
  return y;
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
  exports.Set("_convStride1", Napi::Function::New(env, ConvStride1Hook, "_convStride1"));
  return exports;
}

}  // namespace zennas

static Napi::Object InitZennas(Napi::Env env, Napi::Object exports) { return zennas::Init(env, exports); }
NODE_API_MODULE(zennas_native, InitZennas)
