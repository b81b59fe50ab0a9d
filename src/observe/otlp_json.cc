#include "observe/otlp_json.h"

namespace keel::observe {
namespace {

using nlohmann::json;

json stringAttribute(const std::string& key, const std::string& value) {
  return {{"key", key}, {"value", {{"stringValue", value}}}};
}

// OTLP JSON carries 64-bit integers as decimal strings.
json intAttribute(const std::string& key, int64_t value) {
  return {{"key", key}, {"value", {{"intValue", std::to_string(value)}}}};
}

int statusCode(SpanStatus status) {
  switch (status) {
    case SpanStatus::kOk:
      return 1;
    case SpanStatus::kError:
      return 2;
    case SpanStatus::kUnset:
      return 0;
  }
  return 0;
}

json spanJson(const Span& span) {
  json attributes = json::array();
  for (const auto& [k, v] : span.attributes) attributes.push_back(stringAttribute(k, v));
  for (const auto& [k, v] : span.intAttributes) attributes.push_back(intAttribute(k, v));
  json out{{"traceId", span.traceId},
           {"spanId", span.spanId},
           {"name", span.name},
           {"kind", span.kind == SpanKind::kServer ? 2 : 1},
           {"startTimeUnixNano", std::to_string(span.startUnixNanos)},
           {"endTimeUnixNano", std::to_string(span.endUnixNanos)},
           {"attributes", std::move(attributes)},
           {"status", {{"code", statusCode(span.status)}}}};
  if (!span.parentSpanId.empty()) out["parentSpanId"] = span.parentSpanId;
  if (!span.statusMessage.empty()) out["status"]["message"] = span.statusMessage;
  return out;
}

}  // namespace

json otlpTraceRequest(const std::vector<Span>& spans, const std::string& serviceName) {
  json list = json::array();
  for (const auto& s : spans) list.push_back(spanJson(s));
  json resource{{"attributes", json::array({stringAttribute("service.name", serviceName)})}};
  json scope{{"scope", {{"name", "keel"}}}, {"spans", std::move(list)}};
  return {{"resourceSpans", json::array({{{"resource", std::move(resource)},
                                          {"scopeSpans", json::array({std::move(scope)})}}})}};
}

}  // namespace keel::observe
