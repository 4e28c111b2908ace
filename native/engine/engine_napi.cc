#include "engine_napi.h"

#include <cmath>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <new>
#include <thread>

#include "../common/errors.h"
#include "napi_util.h"
#ifndef ZENNAS_CUDA_BACKEND
#include "../cpu/cpu_backend.h"
#endif

namespace zennas {

namespace {

Napi::Array doubles(Napi::Env env, const std::vector<double>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, v[i]));
  return a;
}

/**
 * The threads that run engine calls: neither the JS thread nor libuv's shared pool (an
 * AsyncWorker would hold one of Node's 4 libuv workers for a whole call and starve fs, dns and
 * zlib). They only orchestrate — the compute runs on each engine's ThreadPool — so a few serve
 * every engine of the process; calls beyond them wait in FIFO order. Never destroyed (calls may
 * be in flight at exit).
 */
class RequestThreads {
 public:
  static RequestThreads& instance() {
    static RequestThreads* r = new RequestThreads();
    return *r;
  }
  void submit(std::function<void()> job) {
    std::lock_guard<std::mutex> g(m_);
    queue_.push_back(std::move(job));
    if (idle_ == 0 && threads_ < kMaxThreads) {
      ++threads_;
      std::thread([this] { loop(); }).detach();
    } else {
      cv_.notify_one();
    }
  }

 private:
  static constexpr int kMaxThreads = 8;
  void loop() {
    std::unique_lock<std::mutex> lk(m_);
    for (;;) {
      ++idle_;
      cv_.wait(lk, [&] { return !queue_.empty(); });
      --idle_;
      std::function<void()> job = std::move(queue_.front());
      queue_.pop_front();
      lk.unlock();
      job();
      lk.lock();
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  int threads_ = 0, idle_ = 0;
};

/** A finished call, handed to the JS thread through a thread-safe function. */
template <typename Result>
struct Completion {
  Napi::Promise::Deferred deferred;
  std::function<Napi::Value(Napi::Env, const Result&)> convert;
  Result result{};
  bool ok = false;
  std::string code = "E_INTERNAL", message;
  std::shared_ptr<void> keepAlive;  // e.g. a cancellation token's reference, released on the JS thread
};

template <typename Result>
void settle(Napi::Env env, Napi::Function, std::nullptr_t*, Completion<Result>* c) {
  if (env != nullptr) {  // null while the environment is torn down: nothing to resolve
    try {
      if (c->ok) c->deferred.Resolve(c->convert(env, c->result));
      else c->deferred.Reject(zennasError(env, c->code, c->message).Value());
    } catch (const Napi::Error& e) {
      c->deferred.Reject(e.Value());
    }
  }
  delete c;
}

/** Runs `work` on a request thread and settles the returned promise on the JS thread. */
template <typename Result>
Napi::Promise launch(Napi::Env env, std::shared_ptr<Backend> backend, std::function<Result(Backend&)> work,
                     std::function<Napi::Value(Napi::Env, const Result&)> convert, std::shared_ptr<void> keepAlive = nullptr) {
  auto* c = new Completion<Result>{Napi::Promise::Deferred::New(env), std::move(convert)};
  c->keepAlive = std::move(keepAlive);
  Napi::Promise promise = c->deferred.Promise();
  using Tsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, Completion<Result>, settle<Result>>;
  Tsfn tsfn = Tsfn::New(env, "zennas", 0, 1);  // keeps the event loop alive until released
  RequestThreads::instance().submit([tsfn, c, backend = std::move(backend), work = std::move(work)]() mutable {
    try {
      c->result = work(*backend);
      c->ok = true;
    } catch (const Failure& e) {
      c->code = e.code();
      c->message = e.what();
    } catch (const std::bad_alloc&) {
      c->code = "E_OUT_OF_MEMORY";
      c->message = "out of memory: the process could not allocate while running the call (fewer calls at once, a lower batchSize or resolution, or a smaller network)";
    } catch (const std::exception& e) {
      c->message = std::string("internal error: ") + e.what();
    } catch (...) {
      c->message = "internal error: unknown exception";
    }
    backend.reset();  // a closed engine's backend is freed here, off the JS thread
    // If the environment is already gone the completion is leaked on purpose: its JS handles may
    // only be touched on the JS thread.
    tsfn.BlockingCall(c);
    tsfn.Release();
  });
  return promise;
}

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
#ifndef ZENNAS_CUDA_BACKEND
  // _memory(resetPeak?) → the process-wide plan budget of the CPU backend (native/cpu/cpu_backend.h).
  exports.Set("_memory", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    const cpu::MemoryStats m = cpu::memoryStats(info.Length() > 0 && info[0].ToBoolean().Value());
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("limitBytes", m.limitBytes);
    o.Set("usedBytes", m.usedBytes);
    o.Set("peakBytes", m.peakBytes);
    o.Set("waiting", m.waiting);
    o.Set("plans", m.plans);
    return o;
  }, "_memory"));
#endif
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
  closed_->store(true);  // calls in flight stop at their next repeat (E_CANCELLED)
  backend_.reset();      // they hold their own reference; the last one frees the backend
  return info.Env().Undefined();
}

/**
 * A call's cancellation check: token[0] ≠ 0 (its AbortSignal fired) or the engine was closed. The
 * token's reference goes into `keepAlive` (released on the JS thread when the call settles), so the
 * worker may read the token's memory for the whole call.
 */
std::function<bool()> EngineWrap::cancellation(OptionReader& o, std::shared_ptr<void>& keepAlive) {
  const Napi::Value tok = o.raw("cancelToken");
  const int32_t* flag = nullptr;
  if (!tok.IsEmpty() && !tok.IsUndefined()) {
    if (!tok.IsTypedArray() || tok.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array || tok.As<Napi::Int32Array>().ElementLength() < 1)
      fail("E_OPTION", "option 'cancelToken' must be an Int32Array of length ≥ 1");
    keepAlive = std::make_shared<Napi::ObjectReference>(Napi::Persistent(tok.As<Napi::Object>()));
    flag = tok.As<Napi::Int32Array>().Data();
  }
  std::shared_ptr<std::atomic<bool>> closed = closed_;
  return [flag, closed] { return closed->load(std::memory_order_relaxed) || (flag && __atomic_load_n(flag, __ATOMIC_RELAXED) != 0); };
}

Napi::Value EngineWrap::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!backend_) return rejected(env, "E_BACKEND", "the engine is closed");
  ProxyRequest r;
  std::shared_ptr<void> keepAlive;
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
    r.conv = o.choice("conv", "auto", {"auto", "direct"});
    r.bnStatistics = o.flag("bnStatistics", false);
    r.loss = o.choice("loss", "sum", {"sum", "cross-entropy"});
    r.returnGradients = o.flag("returnGradients", false);
    r.inputGradient = o.flag("inputGradient", false);
    r.labels = o.int32Array("labels");
    r.init = o.choice("init", "", {"normal", "torch"});
    r.numBatches = static_cast<int>(o.number("numBatches", 8, 1, 4096, true));
    r.xi = o.number("xi", 1e-8, 0, 1e6, false, true);
    r.gsnrMode = o.choice("gsnrMode", "batch", {"batch", "official", "sample"});
    r.sampleBatches = static_cast<int>(o.number("sampleBatches", 1, 1, 4096, true));
    r.hvpPrecision = o.choice("hvpPrecision", "float32", {"float32", "float64"});
    {
      const Napi::Value in = o.raw("input");
      if (!in.IsEmpty() && !in.IsUndefined()) {
        if (!in.IsTypedArray() || in.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
          fail("E_OPTION", "option 'input' must be a Float32Array");
        const Napi::Float32Array a = in.As<Napi::Float32Array>();
        if (a.ElementLength() > (size_t(1) << 30)) fail("E_OPTION", "option 'input' is too long");
        r.input.assign(a.Data(), a.Data() + a.ElementLength());
      }
    }
    // Cancellation: proxies check it between repeats.
    r.cancelled = cancellation(o, keepAlive);
  } catch (const Failure& e) {
    return rejected(env, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    return rejected(env, "E_OUT_OF_MEMORY", "out of memory copying the descriptor");
  }
  return launch<ProxyResult>(
      env, backend_, [r](Backend& b) { return b.run(r); },
      [](Napi::Env env, const ProxyResult& res) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("scores", doubles(env, res.scores));
        Napi::Object series = Napi::Object::New(env);
        for (const auto& s : res.series) series.Set(s.first, doubles(env, s.second));
        o.Set("series", series);
        o.Set("seconds", res.seconds);
        if (!res.warnings.empty()) {
          Napi::Array w = Napi::Array::New(env, res.warnings.size());
          for (size_t i = 0; i < res.warnings.size(); ++i) w.Set(static_cast<uint32_t>(i), Napi::String::New(env, res.warnings[i]));
          o.Set("warnings", w);
        }
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
      }, keepAlive);
}

Napi::Value EngineWrap::Latency(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!backend_) return rejected(env, "E_BACKEND", "the engine is closed");
  LatencyRequest r;
  std::shared_ptr<void> keepAlive;
  try {
    r.descriptor = descriptorArg(info.Length() > 0 ? info[0] : env.Undefined());
    OptionReader o(info.Length() > 1 ? info[1] : env.Undefined(), "latency options");
    r.batch = static_cast<int>(o.number("batchSize", 64, 1, 4096, true));
    r.resolution = static_cast<int>(o.number("resolution", 224, 1, 4096, true));
    r.warmup = static_cast<int>(o.number("warmup", 3, 0, 100000, true));
    r.iterations = static_cast<int>(o.number("iterations", 10, 1, 100000, true));
    // The CPU backend measures fp32 only; the CUDA backend defaults to fp16 (tensor cores).
    const bool cpu = std::string(backend_->name()) == "cpu";
    r.precision = o.choice("precision", cpu ? "fp32" : "fp16", {"fp32", "fp16"});
    if (cpu && r.precision != "fp32") fail("E_OPTION", "option 'precision': the CPU backend measures fp32 only");
    o.choice("engine", "cudnn", {"cudnn"});  // TensorRT runs through trtexec (src/latency/), never here
    r.cancelled = cancellation(o, keepAlive);
  } catch (const Failure& e) {
    return rejected(env, e.code(), e.what());
  }
  return launch<LatencyResult>(
      env, backend_, [r](Backend& b) { return b.latency(r); },
      [](Napi::Env env, const LatencyResult& res) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("meanMs", res.meanMs);
        o.Set("medianMs", res.medianMs);
        o.Set("p90Ms", res.p90Ms);
        o.Set("minMs", res.minMs);
        o.Set("imagesPerSecond", res.imagesPerSecond);
        o.Set("samplesMs", doubles(env, res.samplesMs));
        o.Set("device", res.device.empty() ? std::string("cpu") : res.device);
        return o;
      }, keepAlive);
}

}  // namespace zennas
