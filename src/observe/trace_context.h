// Trace context: W3C `traceparent` headers (https://www.w3.org/TR/trace-context/)
// and the request ids of the API, parsed and made. Pure functions; any
// thread (the Random& passed in belongs to the caller, who serialises it).
//
// A traceparent is "00-TRACEID-PARENTID-FLAGS": version 00, a trace id of
// 32 lower-case hex digits and a parent (span) id of 16, neither all zero,
// and 2 hex digits of flags. keel accepts only version 00 and, as the
// specification asks, ignores a header it cannot parse (it starts a new
// trace instead of refusing the request).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/random.h"

namespace keel::observe {

struct TraceContext {
  std::string traceId;  // 32 lower-case hex digits, not all zero
  std::string spanId;   // 16 lower-case hex digits, not all zero
  uint8_t flags = 1;    // bit 0: sampled

  bool operator==(const TraceContext&) const = default;
};

// The context a valid header carries; nullopt for anything else (another
// version, wrong lengths, upper-case or non-hex digits, all-zero ids).
std::optional<TraceContext> parseTraceparent(std::string_view header);

// "00-TRACEID-SPANID-FLAGS".
std::string formatTraceparent(const TraceContext& context);
std::string formatTraceparent(std::string_view traceId, std::string_view spanId, uint8_t flags = 1);

// Whether `id` is a trace id (32 lower-case hex, not all zero) or a span id
// (16 lower-case hex, not all zero).
bool isTraceId(std::string_view id);
bool isSpanId(std::string_view id);

// New random ids, never all zero.
std::string newTraceId(Random& random);
std::string newSpanId(Random& random);

// A span id derived from `key` (FNV-1a, never zero): the same key always
// gives the same id, so a step attempt's span is known without storing it.
std::string spanIdFor(std::string_view key);
// The span of one attempt of a step of a run: spanIdFor("RUN/STEP/N").
std::string attemptSpanId(std::string_view runId, std::string_view step, int attempt);

// The trace id of a run: `stored` when it is one (RunRow::traceId), else
// the one derived from the run's id, as keel did before runs stored theirs
// (a run id's 128 low bits as 32 hex, or a hash of an id of another form).
std::string runTraceId(std::string_view stored, std::string_view runId);
std::string derivedTraceId(std::string_view runId);

// A request id as the API accepts it from X-Request-Id: 1 to
// kMaxRequestIdBytes characters of [A-Za-z0-9._:-].
inline constexpr size_t kMaxRequestIdBytes = 64;
bool isValidRequestId(std::string_view id);
// A new request id: 32 lower-case hex digits.
std::string newRequestId(Random& random);

}  // namespace keel::observe
