#include "engine_napi.h"

#include <cmath>
#include <functional>
#include <new>

#include "../common/errors.h"
#include "napi_util.h"

namespace zennas {

namespace {

Napi::Array doubles(Napi::Env env, const std::vector<double>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, v[i]));
  return a;
}

/** Runs `work` off the JS thread; `convert` builds the resolution value on the JS thread. */
template <typename Result>
class Worker : public Napi::AsyncWorker {
 public:
  Worker(Napi::Env env, std::shared_ptr<Backend> backend, std::function<Result(Backend&)> work,
         std::function<Napi::Value(Napi::Env, const Result&)> convert)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), backend_(std::move(backend)),
        work_(std::move(work)), convert_(std::move(convert)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      result_ = work_(*backend_);
    } catch (const Failure& e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const std::bad_alloc&) {
      code_ = "E_OUT_OF_MEMORY";
      SetError("out of memory while running the plan (lower batchSize or resolution)");
    } catch (const std::exception& e) {
      code_ = "E_INTERNAL";
      SetError(std::string("internal error: ") + e.what());
    } catch (...) {
      code_ = "E_INTERNAL";
      SetError("internal error: unknown exception");
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(convert_(env, result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(zennasError(Env(), code_, e.Message()).Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Backend> backend_;
  std::function<Result(Backend&)> work_;
  std::function<Napi::Value(Napi::Env, const Result&)> convert_;
  Result result_;
  std::string code_ = "E_INTERNAL";
};

Napi::Value rejected(Napi::Env env, const std::string& code, const std::string& msg) {
  auto d = Napi::Promise::Deferred::New(env);
  d.Reject(zennasError(env, code, msg).Value());
  return d.Promise();
}

constexpr double kMaxSeed = 9007199254740991.0;  // 2^53 − 1

}  // namespace

void EngineWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function f = DefineClass(env, "Engine",
                                 {InstanceMethod("run", &EngineWrap::Run), InstanceMethod("latency", &EngineWrap::Latency),
                                  InstanceMethod("close", &EngineWrap::Close), InstanceAccessor("threads", &EngineWrap::Threads, nullptr)});
  exports.Set("Engine", f);
}

EngineWrap::EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {
  Napi::Env env = info.Env();
  try {
    OptionReader o(info.Length() > 0 ? info[0] : env.Undefined(), "Engine options");
    const std::string backend = o.choice("backend", "cpu", {"cpu", "cuda"});
    const int threads = static_cast<int>(o.number("threads", 0, 0, 1024, true));
    backend_ = std::shared_ptr<Backend>(makeBackend(backend, threads));
  } catch (const Failure& e) {
    zennasError(env, e.code(), e.what()).ThrowAsJavaScriptException();
  } catch (const std::bad_alloc&) {
    zennasError(env, "E_OUT_OF_MEMORY", "out of memory creating the engine").ThrowAsJavaScriptException();
  } catch (const std::exception& e) {
    zennasError(env, "E_INTERNAL", std::string("internal error: ") + e.what()).ThrowAsJavaScriptException();
  }
}

Napi::Value EngineWrap::Threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), backend_ ? backend_->threads() : 0);
}

Napi::Value EngineWrap::Close(const Napi::CallbackInfo& info) {
  backend_.reset();  // calls in flight hold their own reference and finish normally
  return info.Env().Undefined();
}

Napi::Value EngineWrap::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!backend_) return rejected(env, "E_BACKEND", "the engine is closed");
  ProxyRequest r;
  try {
    if (info.Length() < 1 || !info[0].IsString()) fail("E_OPTION", "run: the proxy name must be a string");
    r.proxy = info[0].As<Napi::String>().Utf8Value();
    r.descriptor = descriptorArg(info.Length() > 1 ? info[1] : env.Undefined());
    // Ranges were validated in TypeScript from the one option table (src/engine/options.ts); these
    // bounds only keep a direct caller of the addon from reaching undefined behaviour.
    OptionReader o(info.Length() > 2 ? info[2] : env.Undefined(), "run options");
    r.batch = static_cast<int>(o.number("batchSize", 64, 1, 4096, true));
    r.resolution = static_cast<int>(o.number("resolution", 32, 1, 4096, true));
    r.repeats = static_cast<uint32_t>(o.number("repeats", 1, 1, 100000, true));
    r.firstRepeat = static_cast<uint32_t>(o.number("firstRepeat", 0, 0, 4294967295.0 - r.repeats, true));
    r.seed = static_cast<uint64_t>(o.number("seed", 0, 0, kMaxSeed, true));
    r.official = o.choice("mode", "paper", {"paper", "official"}) == "official";
    r.alpha = o.number("alpha", 0.01, 1e-6, 1e6, false);
    r.bnEps = o.number("bnEps", 1e-5, 0, 1e6, false, true);
    r.bnStatistics = o.flag("bnStatistics", false);
    r.loss = o.choice("loss", "sum", {"sum", "cross-entropy"});
    r.returnGradients = o.flag("returnGradients", false);
    r.inputGradient = o.flag("inputGradient", false);
    r.labels = o.int32Array("labels");
  } catch (const Failure& e) {
    return rejected(env, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    return rejected(env, "E_OUT_OF_MEMORY", "out of memory copying the descriptor");
  }
  auto* w = new Worker<ProxyResult>(
      env, backend_, [r](Backend& b) { return b.run(r); },
      [](Napi::Env env, const ProxyResult& res) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("scores", doubles(env, res.scores));
        Napi::Object series = Napi::Object::New(env);
        for (const auto& s : res.series) series.Set(s.first, doubles(env, s.second));
        o.Set("series", series);
        o.Set("seconds", res.seconds);
        // Typed arrays: one copy out of the worker's vectors, none per element.
        const auto i32 = [&](const std::vector<int32_t>& v) {
          auto a = Napi::Int32Array::New(env, v.size());
          std::copy(v.begin(), v.end(), a.Data());
          return a;
        };
        const auto f64 = [&](const std::vector<double>& v) {
          auto a = Napi::Float64Array::New(env, v.size());
          std::copy(v.begin(), v.end(), a.Data());
          return a;
        };
        const auto f32 = [&](const std::vector<float>& v) {
          auto a = Napi::Float32Array::New(env, v.size());
          std::copy(v.begin(), v.end(), a.Data());
          return a;
        };
        if (!res.bnOps.empty()) {
          Napi::Object bn = Napi::Object::New(env);
          bn.Set("ops", i32(res.bnOps));
          bn.Set("channels", i32(res.bnChannels));
          bn.Set("mean", f64(res.bnMean));
          bn.Set("variance", f64(res.bnVar));
          o.Set("bnStatistics", bn);
        }
        if (!res.gradients.empty()) {
          Napi::Array g = Napi::Array::New(env, res.gradients.size());
          for (size_t i = 0; i < res.gradients.size(); ++i) {
            Napi::Object e = Napi::Object::New(env);
            e.Set("op", res.gradients[i].first);
            e.Set("data", f32(res.gradients[i].second));
            g.Set(static_cast<uint32_t>(i), e);
          }
          o.Set("gradients", g);
        }
        if (!res.inputGradient.empty()) o.Set("inputGradient", f32(res.inputGradient));
        return o;
      });
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Value EngineWrap::Latency(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!backend_) return rejected(env, "E_BACKEND", "the engine is closed");
  LatencyRequest r;
  try {
    r.descriptor = descriptorArg(info.Length() > 0 ? info[0] : env.Undefined());
    OptionReader o(info.Length() > 1 ? info[1] : env.Undefined(), "latency options");
    r.batch = static_cast<int>(o.number("batchSize", 64, 1, 4096, true));
    r.resolution = static_cast<int>(o.number("resolution", 224, 1, 4096, true));
    r.warmup = static_cast<int>(o.number("warmup", 3, 0, 100000, true));
    r.iterations = static_cast<int>(o.number("iterations", 10, 1, 100000, true));
    const std::string precision = o.choice("precision", "fp32", {"fp32", "fp16"});
    if (precision != "fp32") fail("E_OPTION", "option 'precision': the CPU backend measures fp32 only");
    o.choice("engine", "cudnn", {"cudnn"});  // TensorRT runs through trtexec (src/latency/), never here
  } catch (const Failure& e) {
    return rejected(env, e.code(), e.what());
  }
  auto* w = new Worker<LatencyResult>(
      env, backend_, [r](Backend& b) { return b.latency(r); },
      [](Napi::Env env, const LatencyResult& res) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("meanMs", res.meanMs);
        o.Set("medianMs", res.medianMs);
        o.Set("p90Ms", res.p90Ms);
        o.Set("minMs", res.minMs);
        o.Set("imagesPerSecond", res.imagesPerSecond);
        o.Set("samplesMs", doubles(env, res.samplesMs));
        o.Set("device", "cpu");
        return o;
      });
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

}  // namespace zennas
