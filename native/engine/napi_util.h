// Conversions at the N-API boundary: option parsing with range checks (E_OPTION naming the
// option), descriptor copying (E_DESCRIPTOR) and ZennasError-shaped JS errors.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace zennas {

/** An Error named 'ZennasError' with `.code` (mapped to ZennasError by src/engine/). */
Napi::Error zennasError(Napi::Env env, const std::string& code, const std::string& message);

class OptionReader {
 public:
  /** `v` must be undefined or a plain object (else E_OPTION). */
  OptionReader(const Napi::Value& v, const char* what);
  double number(const char* key, double def, double lo, double hi, bool integer, bool loOpen = false) const;
  std::string choice(const char* key, const std::string& def, const std::vector<std::string>& allowed) const;
  bool flag(const char* key, bool def) const;
  /** An Int32Array option (empty when absent). */
  std::vector<int32_t> int32Array(const char* key) const;

 private:
  Napi::Value get(const char* key) const;
  Napi::Object obj_;
  bool has_ = false;
};

std::vector<int32_t> descriptorArg(const Napi::Value& v);

}  // namespace zennas
