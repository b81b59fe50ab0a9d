#include <set>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/ids.h"
#include "core/random.h"
#include "core/result.h"
#include "core/states.h"

namespace keel {
namespace {

TEST(Result, CarriesValueOrError) {
  Result<int> good = 7;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad = Error(ErrorCode::kUnavailable, "db busy", {"detail one"});
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.error().retryable());
  EXPECT_EQ(bad.error().toString(), "db busy\ndetail one");
  EXPECT_FALSE(Error(ErrorCode::kInvalidArgument, "x").retryable());
}

TEST(States, RoundTripEveryName) {
  for (auto s : {RunState::kPending, RunState::kRunning, RunState::kWaiting, RunState::kPaused,
                 RunState::kSucceeded, RunState::kFailed, RunState::kCancelled})
    EXPECT_EQ(parseRunState(toString(s)), s);
  for (auto s : {StepState::kPending, StepState::kReady, StepState::kRunning, StepState::kRetrying,
                 StepState::kWaiting, StepState::kSucceeded, StepState::kSkipped, StepState::kDead})
    EXPECT_EQ(parseStepState(toString(s)), s);
  for (auto c : {FailureClass::kTimeout, FailureClass::kDependencyUnavailable,
                 FailureClass::kRateLimited, FailureClass::kBadInput, FailureClass::kCrash,
                 FailureClass::kLost, FailureClass::kCancelled, FailureClass::kError})
    EXPECT_EQ(parseFailureClass(toString(c)), c);
  EXPECT_EQ(parseRunState("done"), std::nullopt);
  EXPECT_EQ(parseFailureClass(""), std::nullopt);
}

TEST(Clock, ManualClockMovesOnlyWhenAdvanced) {
  ManualClock clock;
  auto m0 = clock.monoNow();
  auto w0 = clock.wallNow();
  EXPECT_EQ(clock.monoNow(), m0);
  clock.advance(std::chrono::seconds(90));
  EXPECT_EQ(clock.monoNow() - m0, std::chrono::seconds(90));
  EXPECT_EQ(clock.wallNow() - w0, std::chrono::seconds(90));
}

TEST(Clock, FormatsRfc3339InUtc) {
  EXPECT_EQ(formatRfc3339(fromUnixMillis(1'767'225'600'123)), "2026-01-01T00:00:00.123Z");
  EXPECT_EQ(toUnixMillis(fromUnixMillis(42)), 42);
}

TEST(Ids, AreTimeOrderedAndWellFormed) {
  SeededRandom random(1);
  std::set<std::string> seen;
  std::string prev;
  for (int i = 0; i < 1000; ++i) {
    std::string id = newRunId(fromUnixMillis(1'767'225'600'000 + i), random);
    EXPECT_TRUE(looksLikeRunId(id)) << id;
    EXPECT_GT(id, prev);
    prev = id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_FALSE(looksLikeRunId("not-an-id"));
}

TEST(Ids, NextRunIdSortsInCreationOrderWithinAMillisecond) {
  SeededRandom random(1);
  WallTime at = fromUnixMillis(1'767'225'600'000);
  std::string prev = newRunId(at, random);
  for (int i = 0; i < 1000; ++i) {
    std::string id = nextRunId(at, random, prev);
    EXPECT_TRUE(looksLikeRunId(id)) << id;
    EXPECT_GT(id, prev);
    prev = id;
  }
  std::string top = prev.substr(0, 10) + std::string(16, 'Z');  // carries into the time
  std::string next = nextRunId(at, random, top);
  EXPECT_GT(next, top);
  EXPECT_EQ(next.substr(10), std::string(16, '0'));
  // A later millisecond starts afresh; an earlier one is the clock's order.
  EXPECT_LT(nextRunId(at - std::chrono::milliseconds(1), random, prev), prev);
}

}  // namespace
}  // namespace keel
