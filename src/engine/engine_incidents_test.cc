// Incidents opened by the engine: one per fingerprint while open, joined by
// later symptoms (also after a restart), recurring after resolution,
// mitigated when an affected run recovers, reopened when a workaround
// lapses.
#include <gtest/gtest.h>

#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

using incidents::IncidentState;

constexpr const char* kFeed = R"(
severity: SEV2
steps:
  - { name: fetch, run: "fetch", timeout: 1m, retry: { max_attempts: 1 } }
)";

constexpr const char* kReport = R"(
triggers:
  - after: { workflow: feed }
steps:
  - { name: build, run: "build", timeout: 1m }
)";

class IncidentsTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    apply(workflow("feed", kFeed));
    apply(workflow("report", kReport));
  }
  // A run of feed whose one step fails for good; its id.
  std::string failingRun(FailureClass cls = FailureClass::kError) {
    auto id = trigger("feed");
    exec_.fail(exec_.started.size() - 1, cls, 3);
    engine_->pump();
    return id;
  }
  std::vector<incidents::Incident> all() {
    auto list = store_->listIncidents({});
    EXPECT_TRUE(list.ok());
    return list.ok() ? *list : std::vector<incidents::Incident>{};
  }
  Result<incidents::Incident> act(IncidentRequest r, std::string reason = "note") {
    RequestContext who;
    who.token = "ops";
    who.reason = std::move(reason);
    auto f = engine_->incidentAction(std::move(r), who);
    engine_->pump();
    return f.get();
  }
  Result<incidents::Incident> resolveWithItem(const std::string& id) {
    IncidentRequest r{id, IncidentAction::kResolve};
    r.resolve = {
        "the upstream file was late", {{0, "alert when late", "data", "2026-02-01", {}, {}}}, ""};
    return act(r);
  }
};

TEST_F(IncidentsTest, TwoFailingRunsJoinOneIncidentThatCarriesWhatOnCallNeeds) {
  auto r1 = failingRun();
  auto r2 = failingRun();
  auto list = all();
  ASSERT_EQ(list.size(), 1u);
  const auto& i = list[0];
  EXPECT_EQ(i.state, IncidentState::kOpen);
  EXPECT_EQ(i.count, 2);
  EXPECT_EQ(i.runs, (std::vector<std::string>{r1, r2}));
  EXPECT_EQ(i.severity, 2);
  EXPECT_EQ(i.workflow, "feed");
  EXPECT_EQ(i.step, "fetch");
  EXPECT_EQ(i.failureClass, "error");
  EXPECT_EQ(i.ownerTeam, "data");
  EXPECT_EQ(i.ownerContact, "oncall@example.com");
  EXPECT_EQ(i.runbook, "https://wiki.example.com/rb");
  EXPECT_EQ(i.downstream, (std::vector<std::string>{"report"}));
  EXPECT_NE(i.attemptsJson.find("\"exit_code\":3"), std::string::npos) << i.attemptsJson;
  EXPECT_FALSE(i.recurring);
  // The run's timeline names it.
  auto events = store_->runEvents(r1);
  ASSERT_TRUE(events.ok());
  bool named = false;
  for (const auto& e : *events) named |= e.kind == "incident_opened" && e.message.find(i.id) == 0;
  EXPECT_TRUE(named);
}

TEST_F(IncidentsTest, ACancelledRunOpensNone) {
  auto id = trigger("feed");
  auto f = engine_->cancel(id, {});
  engine_->pump();
  ASSERT_TRUE(f.get().ok());
  exec_.fail(exec_.started.size() - 1, FailureClass::kCancelled, 143);
  engine_->pump();
  EXPECT_TRUE(all().empty());
}

TEST_F(IncidentsTest, ARestartKeepsTheOpenIndex) {
  failingRun();
  stopAndRestart();
  failingRun();
  auto list = all();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].count, 2);
}

TEST_F(IncidentsTest, RecurrenceAfterResolutionOpensARecurringIncidentWithTheHistory) {
  failingRun();
  auto first = all()[0].id;
  ASSERT_TRUE(resolveWithItem(first).ok());
  failingRun();
  auto list = all();
  ASSERT_EQ(list.size(), 2u);
  const auto& again = list[0];  // newest first
  EXPECT_NE(again.id, first);
  EXPECT_TRUE(again.recurring);
  EXPECT_FALSE(again.fixIneffective);
  ASSERT_EQ(again.previous.size(), 1u);
  EXPECT_EQ(again.previous[0].id, first);
  EXPECT_EQ(again.previous[0].rootCause, "the upstream file was late");
  EXPECT_EQ(again.previous[0].actionItems.size(), 1u);
  EXPECT_EQ(again.severity, 2);
}

TEST_F(IncidentsTest, AFixThatDidNotWorkRaisesTheSeverity) {
  failingRun();
  auto first = all()[0].id;
  ASSERT_TRUE(resolveWithItem(first).ok());
  IncidentRequest done{first, IncidentAction::kActionDone};
  done.actionItem = 1;
  auto marked = act(done);
  ASSERT_TRUE(marked.ok()) << marked.error().toString();
  EXPECT_EQ(marked->timeline.back().actor, "ops");
  failingRun();
  auto again = all()[0];
  EXPECT_TRUE(again.fixIneffective);
  EXPECT_EQ(again.severity, 1);
}

TEST_F(IncidentsTest, ResolveIsRefusedWithoutRootCauseOrActionItems) {
  failingRun();
  auto id = all()[0].id;
  IncidentRequest r{id, IncidentAction::kResolve};
  r.resolve.rootCause = "late file";
  auto refused = act(r);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message().find("no_action_reason"), std::string::npos);
  EXPECT_EQ(all()[0].state, IncidentState::kOpen);
  r.resolve.noActionReason = "a one-off outage of the provider";
  auto resolved = act(r);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(all()[0].state, IncidentState::kResolved);
  EXPECT_EQ(all()[0].timeline.back().actor, "ops");
  EXPECT_EQ(act({"inc-999999", IncidentAction::kAcknowledge}).error().code(), ErrorCode::kNotFound);
}

TEST_F(IncidentsTest, AnExpiredWorkaroundWithoutAFixReopens) {
  failingRun();
  auto id = all()[0].id;
  ASSERT_TRUE(act({id, IncidentAction::kAcknowledge}, "on it").ok());
  IncidentRequest w{id, IncidentAction::kWorkaround};
  w.workaround = "re-run by hand each morning";
  w.expires = clock_.wallNow() + std::chrono::hours(24);
  ASSERT_TRUE(act(w).ok());
  clock_.advance(std::chrono::hours(23));
  engine_->pump();
  EXPECT_EQ(all()[0].state, IncidentState::kAcknowledged);
  clock_.advance(std::chrono::hours(1));
  engine_->pump();
  auto reopened = all()[0];
  EXPECT_EQ(reopened.state, IncidentState::kOpen);
  EXPECT_EQ(reopened.timeline.back().kind, "reopened");
}

TEST_F(IncidentsTest, ARecoveredRunMitigatesItsIncident) {
  auto id = failingRun();
  auto f = engine_->retry(id, RequestContext{});
  engine_->pump();
  ASSERT_TRUE(f.get().ok());
  exec_.succeed(exec_.started.size() - 1);
  engine_->pump();
  auto i = all()[0];
  EXPECT_EQ(i.state, IncidentState::kMitigated);
  EXPECT_EQ(i.timeline.back().actor, "");
  EXPECT_NE(i.timeline.back().note.find("recovered"), std::string::npos);
}

}  // namespace
}  // namespace keel::engine::test
