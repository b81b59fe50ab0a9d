// backoffDelay: how long to wait before a retry, from a RetryPolicy.
//
// Pure decision code: it reads no clock and draws no random number; the
// caller passes the draw (a number in [0, 1), from keel::Random) and the
// previous delay, so every delay is reproducible in tests. Any thread may
// call it.
#pragma once

#include <chrono>

#include "core/retry_policy.h"

namespace keel::resilience {

// The delay before retry number `retryNumber` (1 = the first retry, after the
// first attempt failed).
//
// The base is `initial` (fixed) or initial * 2^(retryNumber-1) (exponential),
// capped at `max` without ever overflowing. The jitter then spreads it:
//   none          the base
//   full          draw * base                      (AWS "full jitter")
//   equal         base/2 + draw * base/2
//   decorrelated  min(max, initial + draw * (previousDelay*3 - initial)),
//                 where previousDelay is `initial` on the first retry. This
//                 mode grows from the previous delay, so it ignores `backoff`.
// The result is never negative and never exceeds `max`. Out-of-range inputs
// are clamped: a draw outside [0, 1) (or NaN), a retryNumber below 1, a
// negative initial or max, an initial above max.
std::chrono::milliseconds backoffDelay(const RetryPolicy& p, int retryNumber,
                                       std::chrono::milliseconds previousDelay, double draw);

}  // namespace keel::resilience
