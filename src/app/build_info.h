// keel_build_info: which keel answers /metrics, as a gauge that is always 1
// with the facts as labels (version, compiler), the Prometheus convention
// for joining them onto other series.
#pragma once

#include <string>

#include "observe/metrics.h"

namespace keel::app {

// "gcc 12.2.0" or "clang 14.0.6": the compiler that built this binary.
std::string compilerName();
void registerBuildInfo(observe::MetricsRegistry& metrics);

}  // namespace keel::app
