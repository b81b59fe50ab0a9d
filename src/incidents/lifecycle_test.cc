#include "incidents/lifecycle.h"

#include <gtest/gtest.h>

namespace keel::incidents {
namespace {

const WallTime kT0 = fromUnixMillis(1'767'225'600'000);  // 2026-01-01T00:00:00Z

Symptom symptom(std::string run) {
  Symptom s;
  s.kind = "run_failed";
  s.runId = std::move(run);
  s.workflow = "feed";
  s.step = "fetch";
  s.failureClass = "error";
  s.message = "exit status 3";
  s.ownerTeam = "data";
  s.runbook = "https://wiki/rb";
  return s;
}

ResolveRequest withItem(std::string due = "2026-01-10") {
  return {"disk full", {{0, "alert on disk", "data", due, {}, {}}}, ""};
}

TEST(Lifecycle, OpenThenJoinCountsRuns) {
  Incident i = openIncident(symptom("r1"), "inc-000001", "h", "n", {}, kT0);
  EXPECT_EQ(i.state, IncidentState::kOpen);
  EXPECT_EQ(i.count, 1);
  auto d = decideSymptom({&i}, "r2");
  ASSERT_EQ(d.kind, SymptomDecision::Kind::kJoin);
  joinIncident(i, symptom("r2"), kT0 + std::chrono::minutes(1));
  EXPECT_EQ(i.count, 2);
  EXPECT_EQ(i.runs, (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(i.lastSeen, kT0 + std::chrono::minutes(1));
  EXPECT_EQ(decideSymptom({&i}, "r2").kind, SymptomDecision::Kind::kAlreadyJoined);
}

// An SLO miss has no run, or the same late run again: the incident lists
// each run once and its notes name a run only when there is one.
TEST(Lifecycle, ASymptomWithoutARunOrWithAKnownRunAddsNoRun) {
  Incident i = openIncident(symptom(""), "inc-000001", "h", "n", {}, kT0);
  EXPECT_TRUE(i.runs.empty());
  EXPECT_EQ(i.timeline.back().note, "run_failed");
  joinIncident(i, symptom("r1"), kT0);
  joinIncident(i, symptom("r1"), kT0);
  joinIncident(i, symptom(""), kT0);
  EXPECT_EQ(i.count, 4);
  EXPECT_EQ(i.runs, (std::vector<std::string>{"r1"}));
  EXPECT_EQ(i.timeline.back().note, "run_failed");
  EXPECT_EQ(i.timeline[i.timeline.size() - 2].note, "run_failed in run r1");
}

TEST(Lifecycle, TransitionsFollowTheOrder) {
  Incident i = openIncident(symptom("r1"), "inc-000001", "h", "n", {}, kT0);
  ASSERT_TRUE(acknowledge(i, "alice", "looking", kT0).ok());
  EXPECT_EQ(acknowledge(i, "bob", "", kT0).error().code(), ErrorCode::kConflict);
  ASSERT_TRUE(mitigate(i, "alice", "", kT0).ok());
  EXPECT_EQ(mitigate(i, "alice", "", kT0).error().code(), ErrorCode::kConflict);
  ASSERT_TRUE(resolve(i, withItem(), "alice", "", kT0).ok());
  EXPECT_EQ(i.state, IncidentState::kResolved);
  EXPECT_EQ(acknowledge(i, "bob", "", kT0).error().code(), ErrorCode::kConflict);
  ASSERT_EQ(i.timeline.size(), 4u);
  EXPECT_EQ(i.timeline[1].actor, "alice");
  EXPECT_EQ(i.timeline[1].note, "looking");
  EXPECT_EQ(i.timeline[1].from, "open");
  EXPECT_EQ(i.timeline[1].to, "acknowledged");
}

TEST(Lifecycle, ResolveNeedsRootCauseAndActionsOrReason) {
  Incident i = openIncident(symptom("r1"), "inc-000001", "h", "n", {}, kT0);
  auto noCause = resolve(i, {"", {}, "none"}, "a", "", kT0);
  ASSERT_FALSE(noCause.ok());
  EXPECT_NE(noCause.error().message().find("root_cause"), std::string::npos);
  auto noItems = resolve(i, {"disk", {}, ""}, "a", "", kT0);
  ASSERT_FALSE(noItems.ok());
  EXPECT_NE(noItems.error().message().find("action item"), std::string::npos);
  auto badDue = resolve(i, withItem("2026-02-30"), "a", "", kT0);
  ASSERT_FALSE(badDue.ok());
  EXPECT_NE(badDue.error().message().find("2026-02-30"), std::string::npos);
  EXPECT_EQ(i.state, IncidentState::kOpen);
  EXPECT_TRUE(resolve(i, {"disk", {}, "one-off hardware fault"}, "a", "", kT0).ok());
}

TEST(Lifecycle, RecurrenceCarriesHistoryAndIneffectiveFixRaisesSeverity) {
  Incident first = openIncident(symptom("r1"), "inc-000001", "h", "n", {}, kT0);
  ASSERT_TRUE(resolve(first, withItem(), "a", "", kT0).ok());
  EXPECT_EQ(decideSymptom({&first}, "r2").kind, SymptomDecision::Kind::kOpen);
  Incident second = openIncident(symptom("r2"), "inc-000002", "h", "n", {&first}, kT0);
  EXPECT_TRUE(second.recurring);
  EXPECT_FALSE(second.fixIneffective);
  ASSERT_EQ(second.previous.size(), 1u);
  EXPECT_EQ(second.previous[0].rootCause, "disk full");
  EXPECT_EQ(second.severity, 3);

  ASSERT_TRUE(markActionDone(first, 1, "bob", "", kT0).ok());
  EXPECT_EQ(markActionDone(first, 1, "bob", "", kT0).error().code(), ErrorCode::kConflict);
  EXPECT_EQ(markActionDone(first, 7, "bob", "", kT0).error().code(), ErrorCode::kNotFound);
  Incident third = openIncident(symptom("r3"), "inc-000003", "h", "n", {&first}, kT0);
  EXPECT_TRUE(third.fixIneffective);
  EXPECT_EQ(third.severity, 2);
  EXPECT_EQ(raiseSeverity(1), 1);
}

TEST(Lifecycle, LapsedWorkaroundWithoutFixReopens) {
  Incident i = openIncident(symptom("r1"), "inc-000001", "h", "n", {}, kT0);
  ASSERT_TRUE(acknowledge(i, "a", "", kT0).ok());
  auto expires = kT0 + std::chrono::hours(2);
  EXPECT_FALSE(recordWorkaround(i, "restart it", kT0, "a", "", kT0).ok());
  ASSERT_TRUE(recordWorkaround(i, "restart it", expires, "a", "", kT0).ok());
  EXPECT_FALSE(workaroundLapsed(i, kT0 + std::chrono::hours(1)));
  ASSERT_TRUE(workaroundLapsed(i, expires));
  reopenForLapsedWorkaround(i, expires);
  EXPECT_EQ(i.state, IncidentState::kOpen);
  EXPECT_EQ(i.timeline.back().kind, "reopened");
  EXPECT_FALSE(workaroundLapsed(i, expires));
}

TEST(Lifecycle, OverdueAfterTheDueDay) {
  ActionItem a{1, "x", "o", "2026-01-01", {}, {}};
  EXPECT_FALSE(isOverdue(a, kT0 + std::chrono::hours(23)));
  EXPECT_TRUE(isOverdue(a, kT0 + std::chrono::hours(24)));
  a.doneAt = kT0;
  EXPECT_FALSE(isOverdue(a, kT0 + std::chrono::hours(48)));
  EXPECT_EQ(parseSeverity("sev2"), 2);
  EXPECT_FALSE(parseSeverity("SEV5"));
  EXPECT_EQ(lastLines("a\nb\nc\n", 2), "b\nc");
}

}  // namespace
}  // namespace keel::incidents
