// decideRetry: whether a failed attempt is retried, and after how long.
//
// Pure decision code (no clock, no randomness of its own): the engine passes
// the attempt count, the failure, the previous delay and a random draw, and
// gets back a named verdict with the delay and a sentence for humans, which
// the engine shows as the step's reason. Any thread may call it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/retry_policy.h"
#include "core/states.h"

namespace keel::resilience {

enum class RetryVerdict {
  kRetry,         // schedule another attempt after `delay`
  kExhausted,     // the failure is retryable, but every attempt has been used
  kNotRetryable,  // the policy (or the nature of the failure) forbids a retry
};

// "retry", "exhausted", "not_retryable".
std::string_view toString(RetryVerdict v);

struct RetryDecision {
  RetryVerdict verdict = RetryVerdict::kNotRetryable;
  std::chrono::milliseconds delay{0};  // meaningful for kRetry only
  // A sentence for humans: "attempt 2 of 5 failed (timeout); retrying in 4s",
  // "bad_input is not retried (policy)", "5 of 5 attempts failed".
  std::string reason;
};

// Decides after attempt number `attemptsMade` (1 = the first attempt) failed
// with class `cls` and, for a process, `exitCode`. The rules, first match wins:
//   1. cancelled is never retried, even if listed in retry_on or its exit
//      code is: a cancel is a human's (or the engine's) decision to stop.
//      kNone (not a failure) is not retried either.
//   2. the exit code is in noRetryOnExitCodes          -> kNotRetryable
//   3. the class is in noRetryOn                        -> kNotRetryable
//   4. the exit code is in retryOnExitCodes             -> eligible
//   5. the class is in retryOn, or, when retryOn is empty, in the default set
//      (timeout, crash, lost, error, dependency_unavailable, rate_limited;
//      so bad_input is not retried by default)          -> eligible
//   6. otherwise                                        -> kNotRetryable
// An eligible failure is kExhausted once attemptsMade >= maxAttempts, and
// otherwise kRetry after backoffDelay(p, attemptsMade, previousDelay, draw).
RetryDecision decideRetry(const RetryPolicy& p, int attemptsMade, FailureClass cls,
                          std::optional<int> exitCode, std::chrono::milliseconds previousDelay,
                          double draw);

// The default retry_on set, in the order above.
bool retriedByDefault(FailureClass cls);

// A delay as people write it: "250ms", "4s", "1.5s", "1m30s", "2h".
std::string formatDelay(std::chrono::milliseconds d);

}  // namespace keel::resilience
