#include "resilience/retry.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace keel::resilience {
namespace {

using std::chrono::milliseconds;
using FC = FailureClass;
using RV = RetryVerdict;

// Five attempts, exponential from 1s, no jitter: delays are predictable.
RetryPolicy basePolicy() {
  RetryPolicy p;
  p.maxAttempts = 5;
  p.backoff = Backoff::kExponential;
  p.initial = milliseconds(1000);
  p.max = milliseconds(60000);
  p.jitter = Jitter::kNone;
  return p;
}

struct Case {
  const char* name;
  RetryPolicy policy;
  int attemptsMade;
  FC cls;
  std::optional<int> exitCode;
  RV want;
  int64_t wantDelayMs;
  const char* wantReason;
};

RetryPolicy with(void (*edit)(RetryPolicy&)) {
  RetryPolicy p = basePolicy();
  edit(p);
  return p;
}

TEST(RetryTest, DecisionTable) {
  const std::vector<Case> cases = {
      // The default retry_on set.
      {"timeout default", basePolicy(), 2, FC::kTimeout, std::nullopt, RV::kRetry, 2000,
       "attempt 2 of 5 failed (timeout); retrying in 2s"},
      {"crash default", basePolicy(), 1, FC::kCrash, std::nullopt, RV::kRetry, 1000,
       "attempt 1 of 5 failed (crash); retrying in 1s"},
      {"lost default", basePolicy(), 3, FC::kLost, std::nullopt, RV::kRetry, 4000, nullptr},
      {"error with code", basePolicy(), 1, FC::kError, 3, RV::kRetry, 1000,
       "attempt 1 of 5 failed (error, exit code 3); retrying in 1s"},
      {"dependency default", basePolicy(), 1, FC::kDependencyUnavailable, std::nullopt, RV::kRetry,
       1000, nullptr},
      {"rate limited default", basePolicy(), 1, FC::kRateLimited, std::nullopt, RV::kRetry, 1000,
       nullptr},
      {"bad_input default", basePolicy(), 1, FC::kBadInput, 65, RV::kNotRetryable, 0,
       "bad_input is not retried (policy)"},
      {"cancelled default", basePolicy(), 1, FC::kCancelled, std::nullopt, RV::kNotRetryable, 0,
       "cancelled is never retried"},
      {"none", basePolicy(), 1, FC::kNone, 0, RV::kNotRetryable, 0, "the attempt did not fail"},
      // Exhaustion.
      {"exhausted", basePolicy(), 5, FC::kTimeout, std::nullopt, RV::kExhausted, 0,
       "5 of 5 attempts failed"},
      {"beyond max", basePolicy(), 7, FC::kTimeout, std::nullopt, RV::kExhausted, 0,
       "7 attempts failed (max_attempts is 5)"},
      {"single attempt", with([](RetryPolicy& p) { p.maxAttempts = 1; }), 1, FC::kError, 1,
       RV::kExhausted, 0, "the only attempt failed (max_attempts is 1)"},
      {"max attempts zero means one", with([](RetryPolicy& p) { p.maxAttempts = 0; }), 1,
       FC::kError, 1, RV::kExhausted, 0, nullptr},
      {"not retryable beats exhausted", basePolicy(), 5, FC::kBadInput, std::nullopt,
       RV::kNotRetryable, 0, "bad_input is not retried (policy)"},
      // An explicit retry_on replaces the default set.
      {"retry_on lists bad_input", with([](RetryPolicy& p) { p.retryOn = {FC::kBadInput}; }), 1,
       FC::kBadInput, 65, RV::kRetry, 1000, nullptr},
      {"retry_on omits timeout", with([](RetryPolicy& p) { p.retryOn = {FC::kBadInput}; }), 1,
       FC::kTimeout, std::nullopt, RV::kNotRetryable, 0,
       "timeout is not retried (not in retry_on)"},
      {"cancelled even if listed", with([](RetryPolicy& p) { p.retryOn = {FC::kCancelled}; }), 1,
       FC::kCancelled, std::nullopt, RV::kNotRetryable, 0, "cancelled is never retried"},
      {"cancelled even if code listed", with([](RetryPolicy& p) { p.retryOnExitCodes = {143}; }), 1,
       FC::kCancelled, 143, RV::kNotRetryable, 0, "cancelled is never retried"},
      // no_retry_on.
      {"no_retry_on class", with([](RetryPolicy& p) { p.noRetryOn = {FC::kTimeout}; }), 1,
       FC::kTimeout, std::nullopt, RV::kNotRetryable, 0, "timeout is not retried (no_retry_on)"},
      {"no_retry_on code", with([](RetryPolicy& p) { p.noRetryOnExitCodes = {3}; }), 1, FC::kError,
       3, RV::kNotRetryable, 0, "exit code 3 is not retried (no_retry_on)"},
      {"no_retry_on other code", with([](RetryPolicy& p) { p.noRetryOnExitCodes = {3}; }), 1,
       FC::kError, 4, RV::kRetry, 1000, nullptr},
      // Exit codes in retry_on retry whatever the class.
      {"retry code beats class", with([](RetryPolicy& p) { p.retryOnExitCodes = {65}; }), 1,
       FC::kBadInput, 65, RV::kRetry, 1000,
       "attempt 1 of 5 failed (bad_input, exit code 65); retrying in 1s"},
      {"retry code beats retry_on", with([](RetryPolicy& p) {
         p.retryOn = {FC::kTimeout};
         p.retryOnExitCodes = {2};
       }),
       1, FC::kError, 2, RV::kRetry, 1000, nullptr},
      {"retry code still exhausts", with([](RetryPolicy& p) { p.retryOnExitCodes = {65}; }), 5,
       FC::kBadInput, 65, RV::kExhausted, 0, "5 of 5 attempts failed"},
      // Precedence between the lists.
      {"no code beats retry code", with([](RetryPolicy& p) {
         p.retryOnExitCodes = {3};
         p.noRetryOnExitCodes = {3};
       }),
       1, FC::kError, 3, RV::kNotRetryable, 0, "exit code 3 is not retried (no_retry_on)"},
      {"no class beats retry code", with([](RetryPolicy& p) {
         p.retryOnExitCodes = {3};
         p.noRetryOn = {FC::kError};
       }),
       1, FC::kError, 3, RV::kNotRetryable, 0, "error is not retried (no_retry_on)"},
      {"no code beats retry class", with([](RetryPolicy& p) {
         p.retryOn = {FC::kError};
         p.noRetryOnExitCodes = {9};
       }),
       1, FC::kError, 9, RV::kNotRetryable, 0, nullptr},
      {"no class beats retry class", with([](RetryPolicy& p) {
         p.retryOn = {FC::kCrash};
         p.noRetryOn = {FC::kCrash};
       }),
       1, FC::kCrash, std::nullopt, RV::kNotRetryable, 0, "crash is not retried (no_retry_on)"},
      {"code rule ignored without a code", with([](RetryPolicy& p) { p.retryOnExitCodes = {1}; }),
       1, FC::kBadInput, std::nullopt, RV::kNotRetryable, 0, nullptr},
      // Delays follow the backoff with retryNumber = attemptsMade.
      {"fixed", with([](RetryPolicy& p) {
         p.backoff = Backoff::kFixed;
         p.initial = milliseconds(1500);
       }),
       4, FC::kError, 1, RV::kRetry, 1500,
       "attempt 4 of 5 failed (error, exit code 1); retrying in 1.5s"},
      {"capped", with([](RetryPolicy& p) {
         p.maxAttempts = 100;
         p.max = milliseconds(90000);
       }),
       50, FC::kTimeout, std::nullopt, RV::kRetry, 90000,
       "attempt 50 of 100 failed (timeout); retrying in 1m30s"},
  };
  for (const auto& c : cases) {
    auto d = decideRetry(c.policy, c.attemptsMade, c.cls, c.exitCode, milliseconds(0), 0.5);
    EXPECT_EQ(d.verdict, c.want) << c.name << ": " << d.reason;
    EXPECT_EQ(d.delay.count(), c.wantDelayMs) << c.name;
    if (c.wantReason) {
      EXPECT_EQ(d.reason, c.wantReason) << c.name;
    }
    EXPECT_FALSE(d.reason.empty()) << c.name;
  }
}

TEST(RetryTest, DelayUsesDrawAndPreviousDelay) {
  RetryPolicy p = basePolicy();
  p.jitter = Jitter::kDecorrelated;
  auto d = decideRetry(p, 2, FC::kTimeout, std::nullopt, milliseconds(2000), 0.5);
  ASSERT_EQ(d.verdict, RV::kRetry);
  EXPECT_EQ(d.delay.count(), 3500);  // 1000 + 0.5 * (6000 - 1000)
  p.jitter = Jitter::kFull;
  d = decideRetry(p, 3, FC::kTimeout, std::nullopt, milliseconds(0), 0.25);
  EXPECT_EQ(d.delay.count(), 1000);  // 0.25 * 4000
  EXPECT_EQ(d.reason, "attempt 3 of 5 failed (timeout); retrying in 1s");
}

TEST(RetryTest, VerdictNames) {
  EXPECT_EQ(toString(RV::kRetry), "retry");
  EXPECT_EQ(toString(RV::kExhausted), "exhausted");
  EXPECT_EQ(toString(RV::kNotRetryable), "not_retryable");
}

TEST(RetryTest, DefaultSet) {
  for (FC c : {FC::kTimeout, FC::kCrash, FC::kLost, FC::kError, FC::kDependencyUnavailable,
               FC::kRateLimited})
    EXPECT_TRUE(retriedByDefault(c)) << toString(c);
  for (FC c : {FC::kNone, FC::kBadInput, FC::kCancelled})
    EXPECT_FALSE(retriedByDefault(c)) << toString(c);
}

TEST(RetryTest, FormatDelay) {
  const std::vector<std::pair<int64_t, const char*>> cases = {
      {0, "0ms"},      {250, "250ms"},      {1000, "1s"},     {1500, "1.5s"},
      {1250, "1.25s"}, {59999, "59.999s"},  {60000, "1m"},    {90000, "1m30s"},
      {3600000, "1h"}, {3661000, "1h1m1s"}, {-1500, "-1.5s"},
  };
  for (const auto& [ms, want] : cases) EXPECT_EQ(formatDelay(milliseconds(ms)), want) << ms;
}

}  // namespace
}  // namespace keel::resilience
