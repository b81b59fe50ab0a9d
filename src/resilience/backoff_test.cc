#include "resilience/backoff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/random.h"

namespace keel::resilience {
namespace {

using std::chrono::milliseconds;

RetryPolicy policy(Backoff b, Jitter j, int64_t initialMs, int64_t maxMs) {
  RetryPolicy p;
  p.backoff = b;
  p.jitter = j;
  p.initial = milliseconds(initialMs);
  p.max = milliseconds(maxMs);
  return p;
}

struct BaseCase {
  Backoff backoff;
  int retry;
  int64_t want;  // ms, jitter none, initial 1000, max 60000
};

TEST(BackoffTest, BaseScheduleWithoutJitter) {
  const std::vector<BaseCase> cases = {
      {Backoff::kFixed, 1, 1000},         {Backoff::kFixed, 7, 1000},
      {Backoff::kExponential, 1, 1000},   {Backoff::kExponential, 2, 2000},
      {Backoff::kExponential, 3, 4000},   {Backoff::kExponential, 6, 32000},
      {Backoff::kExponential, 7, 60000},  // 64000 capped
      {Backoff::kExponential, 40, 60000}, {Backoff::kExponential, 1000, 60000},
      {Backoff::kExponential, 0, 1000},  // clamped to the first retry
  };
  for (const auto& c : cases) {
    auto p = policy(c.backoff, Jitter::kNone, 1000, 60000);
    EXPECT_EQ(backoffDelay(p, c.retry, milliseconds(0), 0.5).count(), c.want)
        << "retry " << c.retry;
  }
}

TEST(BackoffTest, NoOverflowAtHugeRetryNumbersOrCaps) {
  const int64_t huge = std::numeric_limits<int64_t>::max();
  for (Jitter j : {Jitter::kNone, Jitter::kFull, Jitter::kEqual, Jitter::kDecorrelated}) {
    auto p = policy(Backoff::kExponential, j, 1000, huge);
    for (int retry : {62, 63, 64, 100, 1000, std::numeric_limits<int>::max()}) {
      auto d = backoffDelay(p, retry, milliseconds(huge), 0.999);
      EXPECT_GE(d.count(), 0) << retry;
      EXPECT_LE(d.count(), huge) << retry;
    }
    EXPECT_EQ(backoffDelay(policy(Backoff::kExponential, Jitter::kNone, 3, huge), 1000,
                           milliseconds(0), 0.0)
                  .count(),
              huge);
  }
  auto capped = policy(Backoff::kExponential, Jitter::kNone, 1000, 300'000);
  EXPECT_EQ(backoffDelay(capped, 1000, milliseconds(0), 0.0).count(), 300'000);
}

struct JitterCase {
  Jitter jitter;
  double draw;
  int64_t base;  // the exponential base for the retry number used
  int64_t want;
};

TEST(BackoffTest, JitterModesAtEdgeDraws) {
  // initial 1000, retry 3 -> base 4000, max 60000.
  const std::vector<JitterCase> cases = {
      {Jitter::kNone, 0.0, 4000, 4000},    {Jitter::kNone, 0.999, 4000, 4000},
      {Jitter::kFull, 0.0, 4000, 0},       {Jitter::kFull, 0.999, 4000, 3996},
      {Jitter::kFull, 0.5, 4000, 2000},    {Jitter::kEqual, 0.0, 4000, 2000},
      {Jitter::kEqual, 0.999, 4000, 3998}, {Jitter::kEqual, 0.5, 4000, 3000},
  };
  for (const auto& c : cases) {
    auto p = policy(Backoff::kExponential, c.jitter, 1000, 60000);
    EXPECT_EQ(backoffDelay(p, 3, milliseconds(0), c.draw).count(), c.want)
        << static_cast<int>(c.jitter) << " draw " << c.draw;
  }
}

TEST(BackoffTest, OutOfRangeDrawsAreClamped) {
  auto p = policy(Backoff::kFixed, Jitter::kFull, 1000, 60000);
  EXPECT_EQ(backoffDelay(p, 1, milliseconds(0), -3.0).count(), 0);
  EXPECT_EQ(backoffDelay(p, 1, milliseconds(0), std::nan("")).count(), 0);
  EXPECT_EQ(backoffDelay(p, 1, milliseconds(0), 1.0).count(), 999);
  EXPECT_EQ(backoffDelay(p, 1, milliseconds(0), 42.0).count(), 999);
}

TEST(BackoffTest, DecorrelatedFormula) {
  auto p = policy(Backoff::kExponential, Jitter::kDecorrelated, 1000, 60000);
  // First retry: previousDelay counts as initial, so the range is [1000, 3000).
  EXPECT_EQ(backoffDelay(p, 1, milliseconds(0), 0.0).count(), 1000);
  EXPECT_EQ(backoffDelay(p, 1, milliseconds(0), 0.5).count(), 2000);
  EXPECT_EQ(backoffDelay(p, 1, milliseconds(0), 0.999).count(), 2998);
  // Later: initial + draw * (prev*3 - initial).
  EXPECT_EQ(backoffDelay(p, 2, milliseconds(2000), 0.5).count(), 1000 + 2500);
  EXPECT_EQ(backoffDelay(p, 4, milliseconds(30000), 0.999).count(), 60000);
  // A previous delay of 0 (no delay recorded yet) counts as initial.
  EXPECT_EQ(backoffDelay(p, 3, milliseconds(0), 0.5).count(), 2000);
}

TEST(BackoffTest, DecorrelatedStaysWithinInitialAndMax) {
  SeededRandom random(42);
  auto p = policy(Backoff::kExponential, Jitter::kDecorrelated, 500, 20000);
  milliseconds prev(0);
  for (int retry = 1; retry <= 500; ++retry) {
    prev = backoffDelay(p, retry, prev, random.uniform01());
    ASSERT_GE(prev.count(), 500) << retry;
    ASSERT_LE(prev.count(), 20000) << retry;
  }
}

TEST(BackoffTest, SeededDrawsStayInEachModesRange) {
  SeededRandom random(7);
  for (int retry = 1; retry <= 30; ++retry) {
    const int64_t base = std::min<int64_t>(60000, int64_t{1000} << std::min(retry - 1, 20));
    double draw = random.uniform01();
    auto full = backoffDelay(policy(Backoff::kExponential, Jitter::kFull, 1000, 60000), retry,
                             milliseconds(0), draw);
    auto equal = backoffDelay(policy(Backoff::kExponential, Jitter::kEqual, 1000, 60000), retry,
                              milliseconds(0), draw);
    EXPECT_GE(full.count(), 0);
    EXPECT_LT(full.count(), base);
    EXPECT_EQ(full.count(), static_cast<int64_t>(draw * static_cast<double>(base)));
    EXPECT_GE(equal.count(), base / 2);
    EXPECT_LE(equal.count(), base);
  }
}

TEST(BackoffTest, SameSeedSameDelays) {
  auto p = policy(Backoff::kExponential, Jitter::kFull, 1000, 60000);
  SeededRandom a(99), b(99);
  for (int retry = 1; retry <= 10; ++retry)
    EXPECT_EQ(backoffDelay(p, retry, milliseconds(0), a.uniform01()),
              backoffDelay(p, retry, milliseconds(0), b.uniform01()));
}

TEST(BackoffTest, DegeneratePoliciesAreClamped) {
  // initial above max: the cap wins.
  EXPECT_EQ(
      backoffDelay(policy(Backoff::kFixed, Jitter::kNone, 5000, 2000), 1, milliseconds(0), 0.0)
          .count(),
      2000);
  // Negative values never produce a negative delay.
  EXPECT_EQ(
      backoffDelay(policy(Backoff::kExponential, Jitter::kNone, -5, 100), 3, milliseconds(0), 0.0)
          .count(),
      0);
  EXPECT_EQ(backoffDelay(policy(Backoff::kExponential, Jitter::kDecorrelated, 10, -1), 3,
                         milliseconds(-50), 0.5)
                .count(),
            0);
  // Zero initial with exponential backoff stays at zero, without looping.
  EXPECT_EQ(backoffDelay(policy(Backoff::kExponential, Jitter::kEqual, 0, 100), 1000,
                         milliseconds(0), 0.5)
                .count(),
            0);
}

}  // namespace
}  // namespace keel::resilience
