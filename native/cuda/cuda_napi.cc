#include "cuda_napi.h"

#include "cuda_engine.h"

#include <cmath>
#include <string>

namespace zennas {
namespace cuda {
namespace {

Napi::Error zennasError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("name", Napi::String::New(env, "ZennasError"));
  e.Set("code", Napi::String::New(env, code));
  return e;
}

/** Reads options with range checks; a bad value becomes an E_OPTION failure naming the option. */
class Options {
 public:
  explicit Options(const Napi::Value& v) : obj_(v.IsObject() ? v.As<Napi::Object>() : Napi::Object()) {}
  double number(const char* key, double def, double lo, double hi, bool integer) const {
    if (obj_.IsEmpty() || !obj_.Has(key) || obj_.Get(key).IsUndefined()) return def;
    const Napi::Value v = obj_.Get(key);
    const double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
    if (!std::isfinite(x) || x < lo || x > hi || (integer && std::floor(x) != x))
      throw CudaFailure("E_OPTION", std::string("option '") + key + "' must be " + (integer ? "an integer" : "a number") + " in " +
                                        num(lo) + ".." + num(hi));
    return x;
  }
  std::string string(const char* key, const std::string& def) const {
    if (obj_.IsEmpty() || !obj_.Has(key) || obj_.Get(key).IsUndefined()) return def;
    const Napi::Value v = obj_.Get(key);
    if (!v.IsString()) throw CudaFailure("E_OPTION", std::string("option '") + key + "' must be a string");
    return v.As<Napi::String>().Utf8Value();
  }

 private:
  static std::string num(double x) {
    std::string s = std::to_string(x);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }
  Napi::Object obj_;
};

std::vector<int32_t> descriptorArg(const Napi::Value& v) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw CudaFailure("E_DESCRIPTOR", "invalid descriptor: expected an Int32Array");
  const Napi::Int32Array a = v.As<Napi::Int32Array>();
  return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}

Napi::Array doubles(Napi::Env env, const std::vector<double>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, v[i]));
  return a;
}

/** One GPU request off the JS thread; Execute() touches no JS (sharp's baton pattern). */
template <typename Request, typename Result>
class CudaWorker : public Napi::AsyncWorker {
 public:
  using Run = Result (*)(const Request&);
  using Convert = Napi::Object (*)(Napi::Env, const Result&);
  CudaWorker(Napi::Env env, Request req, Run run, Convert convert)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), req_(std::move(req)), run_(run), convert_(convert) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      result_ = run_(req_);
    } catch (const CudaFailure& e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const std::bad_alloc&) {
      code_ = "E_OUT_OF_MEMORY";
      SetError("CUDA backend: out of host memory");
    } catch (const std::exception& e) {
      code_ = "E_INTERNAL";
      SetError(std::string("CUDA backend: ") + e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(convert_(Env(), result_)); }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(zennasError(Env(), code_, e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Request req_;
  Result result_;
  Run run_;
  Convert convert_;
  std::string code_ = "E_BACKEND";
};

ZenScoreResponse runZen(const ZenScoreRequest& r) { return CudaEngine::instance().zenScore(r); }
LatencyResult runLatency(const LatencyRequest& r) { return CudaEngine::instance().latency(r); }

Napi::Object zenToJs(Napi::Env env, const ZenScoreResponse& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("scores", doubles(env, r.scores));
  o.Set("logDelta", doubles(env, r.logDelta));
  o.Set("logSigmaSum", doubles(env, r.logSigmaSum));
  o.Set("seconds", r.seconds);
  return o;
}

Napi::Object latencyToJs(Napi::Env env, const LatencyResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("meanMs", r.meanMs);
  o.Set("medianMs", r.medianMs);
  o.Set("p90Ms", r.p90Ms);
  o.Set("minMs", r.minMs);
  o.Set("imagesPerSecond", r.imagesPerSecond);
  o.Set("samplesMs", doubles(env, r.samplesMs));
  o.Set("device", probeDevice().name);
  return o;
}

Napi::Value rejected(Napi::Env env, const CudaFailure& e) {
  Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
  d.Reject(zennasError(env, e.code(), e.what()).Value());
  return d.Promise();
}

Napi::Value CudaStatus(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const DeviceInfo& d = probeDevice();
  Napi::Object o = Napi::Object::New(env);
  o.Set("compiled", true);
  o.Set("available", d.available);
  o.Set("reason", d.reason);
  o.Set("device", d.name);
  o.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
  o.Set("cudnnVersion", d.cudnnVersion);
  return o;
}

Napi::Value CudaZenScore(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  try {
    ZenScoreRequest r;
    r.descriptor = descriptorArg(info[0]);
    const Options o(info[1]);
    r.batch = static_cast<int>(o.number("batchSize", 16, 1, 4096, true));
    r.resolution = static_cast<int>(o.number("resolution", 224, 1, 4096, true));
    r.run.repeats = static_cast<uint32_t>(o.number("repeats", 1, 1, 1e6, true));
    r.run.seed = static_cast<uint64_t>(o.number("seed", 0, 0, 9007199254740991.0, true));
    r.run.firstRepeat = static_cast<uint32_t>(o.number("firstRepeat", 0, 0, 4294967295.0 - r.run.repeats, true));
    r.run.alpha = o.number("alpha", 0.01, 1e-6, 1e6, false);  // below 1e-6 x+α·ε == x in float32 (Δ = 0)
    r.run.bnEps = o.number("bnEps", 1e-5, 1e-12, 1.0, false);
    const std::string mode = o.string("mode", "paper");
    if (mode != "paper" && mode != "official") throw CudaFailure("E_OPTION", "option 'mode' must be 'paper' or 'official'");
    r.run.official = mode == "official";
    // Validate before queueing so a bad descriptor is E_DESCRIPTOR even without a GPU.
    decodeNet(r.descriptor.data(), r.descriptor.size(), r.resolution);
    auto* w = new CudaWorker<ZenScoreRequest, ZenScoreResponse>(env, std::move(r), runZen, zenToJs);
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  } catch (const CudaFailure& e) {
    return rejected(env, e);
  }
}

Napi::Value CudaLatency(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  try {
    LatencyRequest r;
    r.descriptor = descriptorArg(info[0]);
    const Options o(info[1]);
    r.options.batch = static_cast<int>(o.number("batchSize", 64, 1, 4096, true));
    r.resolution = static_cast<int>(o.number("resolution", 224, 1, 4096, true));
    r.options.warmup = static_cast<int>(o.number("warmup", 10, 0, 100000, true));
    r.options.iterations = static_cast<int>(o.number("iterations", 30, 1, 100000, true));
    r.options.bnEps = o.number("bnEps", 1e-5, 1e-12, 1.0, false);
    const std::string precision = o.string("precision", "fp16");
    if (precision != "fp16" && precision != "fp32") throw CudaFailure("E_OPTION", "option 'precision' must be 'fp16' or 'fp32'");
    r.options.dtype = precision == "fp16" ? DType::F16 : DType::F32;
    // TensorRT runs through trtexec from TypeScript (src/latency/tensorrt.ts); this addon is cuDNN only.
    if (o.string("engine", "cudnn") != "cudnn") throw CudaFailure("E_OPTION", "option 'engine' must be 'cudnn' here (TensorRT is measured through trtexec by the TypeScript layer)");
    decodeNet(r.descriptor.data(), r.descriptor.size(), r.resolution);
    auto* w = new CudaWorker<LatencyRequest, LatencyResult>(env, std::move(r), runLatency, latencyToJs);
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  } catch (const CudaFailure& e) {
    return rejected(env, e);
  }
}

}  // namespace

void RegisterCudaExports(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaStatus", Napi::Function::New(env, CudaStatus, "cudaStatus"));
  exports.Set("cudaZenScore", Napi::Function::New(env, CudaZenScore, "cudaZenScore"));
  exports.Set("cudaLatency", Napi::Function::New(env, CudaLatency, "cudaLatency"));
}

}  // namespace cuda
}  // namespace zennas
