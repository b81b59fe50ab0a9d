#include "incidents/escalation.h"

#include <gtest/gtest.h>

#include "incidents/lifecycle.h"

namespace keel::incidents {
namespace {

using namespace std::chrono_literals;

const WallTime kEscT0 = fromUnixMillis(1'767'225'600'000);  // 2026-01-01T00:00:00Z

EscalationPolicy twoLevels() { return {3min, {{3min, kNotifyOwner}, {15min, "ops-leads"}}}; }

Incident incident(const char* symptom) {
  Incident i;
  i.id = "inc-000001";
  i.symptom = symptom;
  i.ownerTeam = "data";
  i.firstSeen = kEscT0;
  return i;
}

TEST(Escalation, AStepNotRecoveredCountsFromItsFirstFailedAttempt) {
  // Opened at kEscT0 = 3 minutes after the first failed attempt.
  Incident i = incident(kStepNotRecovered);
  auto d = decideEscalation(i, twoLevels(), kEscT0);
  EXPECT_EQ(d.verdict, EscalationVerdict::kFire);
  EXPECT_EQ(d.level, 1);
  recordEscalation(i, 1, kNotifyOwner, {"data-hook"}, "", kEscT0);
  d = decideEscalation(i, twoLevels(), kEscT0);
  EXPECT_EQ(d.verdict, EscalationVerdict::kWait);
  EXPECT_EQ(d.level, 2);
  EXPECT_EQ(d.due, kEscT0 + 12min);  // first failed attempt + 15m
}

TEST(Escalation, RecoveryOverFiresTheFirstLevelAtOnce) {
  Incident i = incident("run_failed");
  auto d = decideEscalation(i, twoLevels(), kEscT0);
  EXPECT_EQ(d.verdict, EscalationVerdict::kFire);
  EXPECT_EQ(d.level, 1);
  recordEscalation(i, 1, kNotifyOwner, {}, "no channel serves team data", kEscT0);
  EXPECT_EQ(firedLevels(i), std::set<int>{1});
  EXPECT_TRUE(escalatedChannels(i).empty());
  EXPECT_NE(i.timeline.back().note.find("no channel serves team data"), std::string::npos);
  d = decideEscalation(i, twoLevels(), kEscT0 + 15min);
  EXPECT_EQ(d.verdict, EscalationVerdict::kFire);
  EXPECT_EQ(d.level, 2);
}

TEST(Escalation, StopsOnceAcknowledgedAndEndsAfterTheLastLevel) {
  Incident i = incident("run_failed");
  recordEscalation(i, 1, kNotifyOwner, {"a", "b"}, "", kEscT0);
  ASSERT_TRUE(acknowledge(i, "alice", "", kEscT0 + 1min).ok());
  EXPECT_EQ(decideEscalation(i, twoLevels(), kEscT0 + 1h).verdict, EscalationVerdict::kStopped);
  Incident j = incident("run_failed");
  recordEscalation(j, 1, kNotifyOwner, {"a", "b"}, "", kEscT0);
  recordEscalation(j, 2, "ops-leads", {"ops-leads", "a"}, "", kEscT0);
  EXPECT_EQ(decideEscalation(j, twoLevels(), kEscT0 + 1h).verdict, EscalationVerdict::kDone);
  EXPECT_EQ(escalatedChannels(j), (std::vector<std::string>{"a", "b", "ops-leads"}));
}

}  // namespace
}  // namespace keel::incidents
