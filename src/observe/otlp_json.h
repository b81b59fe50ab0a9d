// The OTLP/HTTP JSON encoding of spans (opentelemetry-proto,
// ExportTraceServiceRequest): {"resourceSpans":[{"resource":{attributes},
// "scopeSpans":[{"scope":{"name"},"spans":[...]}]}]}, with trace and span
// ids as hex, times as unix nanoseconds in decimal strings, the kind
// INTERNAL (1) and the status code UNSET 0, OK 1, ERROR 2. Pure.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "observe/span.h"

namespace keel::observe {

// One export request for `spans`, from the service `serviceName`.
nlohmann::json otlpTraceRequest(const std::vector<Span>& spans, const std::string& serviceName);

}  // namespace keel::observe
