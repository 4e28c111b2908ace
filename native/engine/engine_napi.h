// The JS-visible `Engine` class: owns one Backend; zenScore / latency run on AsyncWorkers and
// resolve promises. Execute() touches no JS; all conversion happens in the constructor/OnOK.
#pragma once
#include <napi.h>

#include <memory>

#include "backend.h"

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
  std::shared_ptr<Backend> backend_;
};

}  // namespace zennas
