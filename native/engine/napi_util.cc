#include "napi_util.h"

#include <cmath>
#include <sstream>

#include "../common/errors.h"

namespace zennas {

namespace {
/** Per-environment addon state (worker threads each load their own). */
struct AddonData {
  Napi::FunctionReference errorClass;  // src/errors.ts ZennasError, handed over by setErrorClass
};
}  // namespace

Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(env, "setErrorClass(ZennasError): a class is required").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  AddonData* d = env.GetInstanceData<AddonData>();
  if (!d) {
    d = new AddonData();
    env.SetInstanceData(d);
  }
  d->errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return env.Undefined();
}

Napi::Error zennasError(Napi::Env env, const std::string& code, const std::string& message) {
  // The library's own class when the TS side handed it over (instanceof ZennasError holds);
  // else an Error shaped like it (name + code), which src/engine maps to ZennasError.
  AddonData* d = env.GetInstanceData<AddonData>();
  if (d && !d->errorClass.IsEmpty()) {
    Napi::Object e = d->errorClass.New({Napi::String::New(env, code), Napi::String::New(env, message)});
    return Napi::Error(env, e);
  }
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("name", Napi::String::New(env, "ZennasError"));
  e.Set("code", Napi::String::New(env, code));
  return e;
}

OptionReader::OptionReader(const Napi::Value& v, const char* what) {
  if (v.IsUndefined() || v.IsNull()) return;
  if (!v.IsObject() || v.IsArray() || v.IsFunction()) fail("E_OPTION", std::string(what) + " must be an object");
  obj_ = v.As<Napi::Object>();
  has_ = true;
}

Napi::Value OptionReader::get(const char* key) const {
  if (!has_) return Napi::Value();
  return obj_.Get(key);
}

static std::string fmt(double x) {
  std::ostringstream s;
  s.precision(17);
  s << x;
  return s.str();
}

double OptionReader::number(const char* key, double def, double lo, double hi, bool integer, bool loOpen) const {
  const Napi::Value v = get(key);
  if (v.IsEmpty() || v.IsUndefined()) return def;
  const double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  const bool inRange = std::isfinite(x) && (loOpen ? x > lo : x >= lo) && x <= hi;
  if (!inRange || (integer && std::floor(x) != x)) {
    std::string got = v.IsNumber() ? fmt(x) : (v.IsString() ? "'" + v.As<Napi::String>().Utf8Value() + "'" : "a non-number");
    fail("E_OPTION", std::string("option '") + key + "' must be " + (integer ? "an integer" : "a finite number") + " in " + (loOpen ? "(" : "[") +
                         fmt(lo) + ", " + fmt(hi) + "], got " + got);
  }
  return x;
}

std::string OptionReader::choice(const char* key, const std::string& def, const std::vector<std::string>& allowed) const {
  const Napi::Value v = get(key);
  if (v.IsEmpty() || v.IsUndefined()) return def;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "'" : ", '") + a + "'";
  if (!v.IsString()) fail("E_OPTION", std::string("option '") + key + "' must be one of " + list);
  const std::string s = v.As<Napi::String>().Utf8Value();
  for (const auto& a : allowed)
    if (a == s) return s;
  fail("E_OPTION", std::string("option '") + key + "' must be one of " + list + ", got '" + s + "'");
}

bool OptionReader::flag(const char* key, bool def) const {
  const Napi::Value v = get(key);
  if (v.IsEmpty() || v.IsUndefined()) return def;
  if (!v.IsBoolean()) fail("E_OPTION", std::string("option '") + key + "' must be true or false");
  return v.As<Napi::Boolean>().Value();
}

std::vector<int32_t> OptionReader::int32Array(const char* key) const {
  const Napi::Value v = get(key);
  if (v.IsEmpty() || v.IsUndefined()) return {};
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    fail("E_OPTION", std::string("option '") + key + "' must be an Int32Array");
  const Napi::Int32Array a = v.As<Napi::Int32Array>();
  if (a.ElementLength() > (size_t(1) << 24)) fail("E_OPTION", std::string("option '") + key + "' is too long");
  return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}

std::vector<int32_t> descriptorArg(const Napi::Value& v) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    fail("E_DESCRIPTOR", "invalid descriptor: expected an Int32Array");
  const Napi::Int32Array a = v.As<Napi::Int32Array>();
  if (a.ElementLength() > (size_t(1) << 26)) fail("E_DESCRIPTOR", "invalid descriptor: too long");
  return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}

}  // namespace zennas
