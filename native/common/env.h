// Development switches read from the environment once per process (A/B runs and tests).
#pragma once
#include <cstdlib>
#include <cstring>

namespace zennas {

/** The variable `name` is set to "0" (a switch that is on unless turned off). */
inline bool envOff(const char* name) {
  const char* v = std::getenv(name);
  return v && std::strcmp(v, "0") == 0;
}

}  // namespace zennas
