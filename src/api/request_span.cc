#include "api/request_span.h"

#include <algorithm>

#include <fmt/format.h>

namespace keel::api {
namespace {

int64_t unixNanos(WallTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

observe::Span requestSpan(const RequestStamp& stamp, const std::string& method,
                          const std::string& route, int status, WallTime end) {
  observe::Span span;
  span.traceId = stamp.trace.traceId;
  span.spanId = stamp.trace.spanId;
  if (observe::isSpanId(stamp.parentSpanId)) span.parentSpanId = stamp.parentSpanId;
  span.kind = observe::SpanKind::kServer;
  span.name = method + " " + route;
  span.startUnixNanos = unixNanos(stamp.startedAt);
  span.endUnixNanos = unixNanos(std::max(stamp.startedAt, end));
  if (status >= 500) {
    span.status = observe::SpanStatus::kError;
    span.statusMessage = fmt::format("HTTP {}", status);
  }
  span.attributes = {
      {"http.request.method", method}, {"http.route", route}, {"keel.request_id", stamp.requestId}};
  span.intAttributes = {{"http.response.status_code", status}};
  return span;
}

}  // namespace keel::api
