// RetryPolicy: how a failed step is retried. Part of a workflow spec, read
// by the pure retry decision in resilience/.
#pragma once

#include <chrono>
#include <vector>

#include "core/states.h"

namespace keel {

enum class Backoff { kFixed, kExponential };
enum class Jitter { kNone, kFull, kEqual, kDecorrelated };

struct RetryPolicy {
  int maxAttempts = 3;  // attempts in all, the first included
  Backoff backoff = Backoff::kExponential;
  std::chrono::milliseconds initial{1000};
  std::chrono::milliseconds max{60'000};
  Jitter jitter = Jitter::kFull;
  // Classes that are retried. Empty means the default set: timeout, crash,
  // lost, error, dependency_unavailable, rate_limited (never bad_input or
  // cancelled unless named here).
  std::vector<FailureClass> retryOn;
  std::vector<FailureClass> noRetryOn;
  std::vector<int> retryOnExitCodes;    // retried whatever the class
  std::vector<int> noRetryOnExitCodes;  // never retried
  bool defaulted = true;                // the step had no `retry:` block
};

}  // namespace keel
