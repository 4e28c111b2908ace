// Errors that cross the N-API boundary: a code from src/errors.ts plus a specific message.
// Every native entry point catches these (and std::bad_alloc) so that no C++ exception escapes.
#pragma once
#include <stdexcept>
#include <string>

namespace zennas {

class Failure : public std::runtime_error {
 public:
  Failure(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

[[noreturn]] inline void fail(const char* code, const std::string& message) { throw Failure(code, message); }

}  // namespace zennas
