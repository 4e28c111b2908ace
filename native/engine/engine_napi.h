// The JS-visible `Engine` class: owns one Backend; run / latency execute on the addon's request
// threads (not libuv's pool) and settle their promises on the JS thread through a thread-safe
// function. Work off the JS thread touches no JS; all conversion happens on the JS thread.
#pragma once
#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>

#include "backend.h"
#include "napi_util.h"

namespace zennas {

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit EngineWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value Run(const Napi::CallbackInfo& info);
  Napi::Value Latency(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Threads(const Napi::CallbackInfo& info);
  std::function<bool()> cancellation(OptionReader& o, std::shared_ptr<void>& keepAlive);
  std::shared_ptr<Backend> backend_;
  std::shared_ptr<std::atomic<bool>> closed_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace zennas
