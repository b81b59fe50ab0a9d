#include "resilience/retry.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "resilience/backoff.h"

namespace keel::resilience {
namespace {

template <typename T>
bool contains(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

RetryDecision notRetryable(std::string reason) {
  return RetryDecision{RetryVerdict::kNotRetryable, std::chrono::milliseconds(0),
                       std::move(reason)};
}

// "timeout" or "error, exit code 3": what failed, for the sentences below.
std::string describeFailure(FailureClass cls, std::optional<int> exitCode) {
  if (!exitCode) return std::string(toString(cls));
  return fmt::format("{}, exit code {}", toString(cls), *exitCode);
}

std::string exhaustedReason(int attemptsMade, int maxAttempts) {
  if (attemptsMade > maxAttempts)
    return fmt::format("{} attempts failed (max_attempts is {})", attemptsMade, maxAttempts);
  if (maxAttempts == 1) return "the only attempt failed (max_attempts is 1)";
  return fmt::format("{} of {} attempts failed", attemptsMade, maxAttempts);
}

}  // namespace

std::string_view toString(RetryVerdict v) {
  switch (v) {
    case RetryVerdict::kRetry:
      return "retry";
    case RetryVerdict::kExhausted:
      return "exhausted";
    case RetryVerdict::kNotRetryable:
      return "not_retryable";
  }
  return "unknown";
}

bool retriedByDefault(FailureClass cls) {
  switch (cls) {
    case FailureClass::kTimeout:
    case FailureClass::kCrash:
    case FailureClass::kLost:
    case FailureClass::kError:
    case FailureClass::kDependencyUnavailable:
    case FailureClass::kRateLimited:
      return true;
    case FailureClass::kNone:
    case FailureClass::kBadInput:
    case FailureClass::kCancelled:
      return false;
  }
  return false;
}

RetryDecision decideRetry(const RetryPolicy& p, int attemptsMade, FailureClass cls,
                          std::optional<int> exitCode, std::chrono::milliseconds previousDelay,
                          double draw) {
  const std::string name(toString(cls));
  if (cls == FailureClass::kCancelled) return notRetryable("cancelled is never retried");
  if (cls == FailureClass::kNone) return notRetryable("the attempt did not fail");
  if (exitCode && contains(p.noRetryOnExitCodes, *exitCode))
    return notRetryable(fmt::format("exit code {} is not retried (no_retry_on)", *exitCode));
  if (contains(p.noRetryOn, cls)) return notRetryable(name + " is not retried (no_retry_on)");

  const bool byExitCode = exitCode && contains(p.retryOnExitCodes, *exitCode);
  if (!byExitCode) {
    if (p.retryOn.empty() && !retriedByDefault(cls))
      return notRetryable(name + " is not retried (policy)");
    if (!p.retryOn.empty() && !contains(p.retryOn, cls))
      return notRetryable(name + " is not retried (not in retry_on)");
  }

  const int maxAttempts = std::max(1, p.maxAttempts);
  if (attemptsMade >= maxAttempts)
    return RetryDecision{RetryVerdict::kExhausted, std::chrono::milliseconds(0),
                         exhaustedReason(attemptsMade, maxAttempts)};

  const auto delay = backoffDelay(p, attemptsMade, previousDelay, draw);
  return RetryDecision{
      RetryVerdict::kRetry, delay,
      fmt::format("attempt {} of {} failed ({}); retrying in {}", attemptsMade, maxAttempts,
                  describeFailure(cls, exitCode), formatDelay(delay))};
}

std::string formatDelay(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms < 0) return "-" + formatDelay(std::chrono::milliseconds(-ms));
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms < 60'000) {
    if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
    std::string s = fmt::format("{:.3f}", static_cast<double>(ms) / 1000.0);
    s.erase(s.find_last_not_of('0') + 1);  // "1.500" -> "1.5"
    return s + "s";
  }
  // Minutes and above: whole seconds are precise enough for a human.
  int64_t secs = ms / 1000;
  const int64_t h = secs / 3600, m = (secs / 60) % 60, s = secs % 60;
  std::string out;
  if (h) out += fmt::format("{}h", h);
  if (m) out += fmt::format("{}m", m);
  if (s) out += fmt::format("{}s", s);
  return out;
}

}  // namespace keel::resilience
