// Conversions at the N-API boundary: option parsing with range checks (E_OPTION naming the
// option), descriptor copying (E_DESCRIPTOR) and ZennasError-shaped JS errors.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace zennas {

/**
 * The error native code throws: an instance of src/errors.ts ZennasError(code, message) once the
 * addon was handed the class (`setErrorClass`, as better-sqlite3 does with SqliteError), else an
 * Error named 'ZennasError' with `.code`.
 */
Napi::Error zennasError(Napi::Env env, const std::string& code, const std::string& message);
/** JS: setErrorClass(ZennasError). */
Napi::Value SetErrorClass(const Napi::CallbackInfo& info);

class OptionReader {
 public:
  /** `v` must be undefined or a plain object (else E_OPTION). */
  OptionReader(const Napi::Value& v, const char* what);
  double number(const char* key, double def, double lo, double hi, bool integer, bool loOpen = false) const;
  std::string choice(const char* key, const std::string& def, const std::vector<std::string>& allowed) const;
  bool flag(const char* key, bool def) const;
  /** The raw value of an option (empty Value when absent). */
  Napi::Value raw(const char* key) const { return get(key); }
  /** An Int32Array option (empty when absent). */
  std::vector<int32_t> int32Array(const char* key) const;

 private:
  Napi::Value get(const char* key) const;
  Napi::Object obj_;
  bool has_ = false;
};

std::vector<int32_t> descriptorArg(const Napi::Value& v);

}  // namespace zennas
