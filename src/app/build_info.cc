#include "app/build_info.h"

namespace keel::app {

std::string compilerName() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("gcc ") + __VERSION__;
#else
  return "unknown";
#endif
}

void registerBuildInfo(observe::MetricsRegistry& metrics) {
  metrics
      .gauge("keel_build_info", "Always 1; the labels say which keel this is.",
             {{"version", KEEL_VERSION}, {"compiler", compilerName()}})
      .set(1);
}

}  // namespace keel::app
