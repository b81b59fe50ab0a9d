// classify: what an HTTP step's result means to keel. Pure: no I/O, no
// clock of its own (`now` is an argument).
//
// In order, first match wins:
//   status inside `expect` (empty `expect`: 200-299)     -> kNone (success)
//   transport: connection refused, DNS, TLS               -> kDependencyUnavailable
//   transport: timeout                                    -> kTimeout
//   transport: cancelled                                  -> kCancelled
//   transport: invalid request                            -> kBadInput
//   transport: anything else (too many redirects, reset)  -> kError
//   429                                                   -> kRateLimited
//   502, 503, 504                                         -> kDependencyUnavailable
//   other 5xx                                             -> kError
//   other 4xx                                             -> kBadInput
//   anything else (an unexpected 1xx, 2xx or 3xx)         -> kError
// On a 429 or a 503, a valid Retry-After header (delay in seconds, or an HTTP
// date) gives the earliest time of the next attempt; a malformed one is
// ignored.
#pragma once

#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/states.h"
#include "http/client.h"

namespace keel::http {

// Inclusive status ranges, e.g. {{200, 299}, {404, 404}}.
using StatusRanges = std::vector<std::pair<int, int>>;

struct Classification {
  FailureClass failureClass = FailureClass::kNone;  // kNone: success
  std::optional<WallTime> notBefore;                // from Retry-After
  bool operator==(const Classification&) const = default;
};

Classification classify(const HttpResult& result, const StatusRanges& expect, WallTime now);

// The time a Retry-After value names (RFC 9110 section 10.2.3): a delay in
// seconds after `now`, or an HTTP date (IMF-fixdate, or the obsolete RFC 850
// and asctime forms). A date in the past gives `now`. Empty when malformed,
// or when the delay is over 10^9 seconds.
std::optional<WallTime> parseRetryAfter(std::string_view value, WallTime now);

// An HTTP date (the three forms above) as a time; empty when malformed.
// `now` resolves RFC 850's two-digit year (never more than 50 years ahead).
std::optional<WallTime> parseHttpDate(std::string_view value, WallTime now);

}  // namespace keel::http
