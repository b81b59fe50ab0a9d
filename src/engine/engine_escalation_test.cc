// Escalation on a manual clock: a step still failing escalate_after after
// its FIRST failed attempt calls its owner while retries go on (not a
// second before); levels stop once acknowledged; a run that fails for good
// calls at once; timers survive restarts (due while down: fired once at
// start, never twice); nobody to call is recorded loudly; a resolution is
// sent to every channel that was called.
#include <gtest/gtest.h>

#include "engine/engine_test_fixture.h"
#include "spec/channel.h"

namespace keel::engine::test {
namespace {

using namespace std::chrono_literals;
using incidents::IncidentState;

// Retried every minute, for an hour: recovery goes on past 3 minutes.
constexpr const char* kRetrying = R"(
steps:
  - name: fetch
    run: "fetch"
    timeout: 1m
    retry: { max_attempts: 60, backoff: fixed, initial: 1m, max: 1m, jitter: none }
)";

constexpr const char* kTwoLevels = R"(
escalation:
  - { after: 3m, notify: owner }
  - { after: 15m, notify: ops-leads }
steps:
  - { name: fetch, run: "fetch", timeout: 1m, retry: { max_attempts: 1 } }
)";

constexpr const char* kDataHook = R"(kind: channel
name: data-hook
type: webhook
teams: [data]
url: http://127.0.0.1:9/hook
)";

constexpr const char* kOpsLeads = R"(kind: channel
name: ops-leads
type: webhook
teams: [ops]
url: http://127.0.0.1:9/ops
)";

class EscalationTest : public EngineTest {
 protected:
  void channel(const std::string& yaml) {
    auto spec = spec::parseChannel(yaml);
    ASSERT_TRUE(spec.ok()) << spec.error().toString();
    store::ChannelRow row;
    row.name = spec->name;
    row.type = std::string(spec::toString(spec->type));
    row.yaml = yaml;
    row.createdAt = clock_.wallNow();
    ASSERT_TRUE(store_->putChannel(row).ok());
  }
  void failLatest() {
    exec_.fail(exec_.started.size() - 1, FailureClass::kError, 3);
    engine_->pump();
  }
  void advance(std::chrono::nanoseconds d) {
    clock_.advance(d);
    engine_->pump();
  }
  std::vector<store::NotificationRow> notifications() {
    auto list = store_->listNotifications("", 100);
    EXPECT_TRUE(list.ok());
    auto out = list.ok() ? *list : std::vector<store::NotificationRow>{};
    std::reverse(out.begin(), out.end());  // oldest first
    return out;
  }
  std::vector<incidents::Incident> all() {
    auto list = store_->listIncidents({});
    EXPECT_TRUE(list.ok());
    return list.ok() ? *list : std::vector<incidents::Incident>{};
  }
  Result<incidents::Incident> act(IncidentRequest r) {
    RequestContext who;
    who.token = "ops";
    who.reason = "looking";
    auto f = engine_->incidentAction(std::move(r), who);
    engine_->pump();
    return f.get();
  }
  static std::string notes(const incidents::Incident& i) {
    std::string out;
    for (const auto& e : i.timeline) out += e.kind + ": " + e.note + "\n";
    return out;
  }
};

TEST_F(EscalationTest, ARetryingStepCallsItsOwnerThreeMinutesAfterItsFirstFailure) {
  channel(kDataHook);
  apply(workflow("feed", kRetrying));
  auto id = trigger("feed");
  failLatest();  // t=0: the first failed attempt
  advance(1min);
  failLatest();  // t=1m: retried, failed again
  advance(1min);
  failLatest();  // t=2m: the last failure; 3m after it would be 5m
  advance(59s);  // t=2m59s: recovery still within its window
  EXPECT_TRUE(all().empty());
  EXPECT_TRUE(notifications().empty());
  EXPECT_EQ(step(detail(id), "fetch").state, StepState::kRetrying);  // retries go on
  advance(1s);                                                       // t=3m
  auto list = all();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].symptom, "step_not_recovered");
  EXPECT_EQ(list[0].state, IncidentState::kOpen);
  auto sent = notifications();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].id, list[0].id + ".level.1.data-hook");
  EXPECT_EQ(sent[0].channel, "data-hook");
  EXPECT_EQ(sent[0].kind, "escalated");
  auto payload = nlohmann::json::parse(sent[0].payloadJson);
  EXPECT_EQ(payload["event"], "escalated");
  EXPECT_EQ(payload["owner"]["team"], "data");
  EXPECT_EQ(payload["owner"]["contact"], "oncall@example.com");
  EXPECT_EQ(payload["runbook"], "https://wiki.example.com/rb");
  EXPECT_EQ(payload["workflow"], "feed");
  EXPECT_EQ(payload["step"], "fetch");
  EXPECT_FALSE(payload["title"].get<std::string>().empty());
  EXPECT_EQ(payload["labels"]["team"], "data");
  EXPECT_NE(notes(list[0]).find("level 1: owner team data notified through channel data-hook"),
            std::string::npos)
      << notes(list[0]);
  // The retries go on; failing again, or for good, calls nobody twice.
  failLatest();
  advance(1h);
  for (int i = 0; i < 60 && step(detail(id), "fetch").state != StepState::kDead; ++i) {
    failLatest();
    advance(1min);
  }
  EXPECT_EQ(detail(id).run.state, RunState::kFailed);
  EXPECT_EQ(all().size(), 1u);
  EXPECT_EQ(notifications().size(), 1u);
}

TEST_F(EscalationTest, AStepThatRecoversInTimeCallsNobody) {
  channel(kDataHook);
  apply(workflow("feed", kRetrying));
  auto id = trigger("feed");
  failLatest();
  advance(1min);
  exec_.succeed(exec_.started.size() - 1);
  engine_->pump();
  advance(10min);
  EXPECT_EQ(detail(id).run.state, RunState::kSucceeded);
  EXPECT_TRUE(all().empty());
  EXPECT_TRUE(notifications().empty());
}

TEST_F(EscalationTest, ARunThatFailsForGoodCallsAtOnceThenTheNextLevels) {
  channel(kDataHook);
  channel(kOpsLeads);
  apply(workflow("feed", kTwoLevels));
  trigger("feed");
  failLatest();
  auto sent = notifications();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].id, "inc-000001.level.1.data-hook");
  advance(15min - 1s);
  EXPECT_EQ(notifications().size(), 1u);
  advance(1s);
  sent = notifications();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].id, "inc-000001.level.2.ops-leads");
  EXPECT_EQ(nlohmann::json::parse(sent[1].payloadJson)["level"], 2);
}

TEST_F(EscalationTest, LevelsStopOnceAcknowledged) {
  channel(kDataHook);
  channel(kOpsLeads);
  apply(workflow("feed", kTwoLevels));
  trigger("feed");
  failLatest();
  ASSERT_EQ(notifications().size(), 1u);
  ASSERT_TRUE(act({"inc-000001", IncidentAction::kAcknowledge, {}, {}, {}, 0}).ok());
  advance(1h);
  EXPECT_EQ(notifications().size(), 1u);
}

TEST_F(EscalationTest, ALevelDueWhileKeelWasDownFiresOnceAtStart) {
  channel(kDataHook);
  channel(kOpsLeads);
  apply(workflow("feed", kTwoLevels));
  trigger("feed");
  failLatest();
  ASSERT_EQ(notifications().size(), 1u);
  clock_.advance(20min);  // keel is down when level 2 comes due
  crashAndRestart();
  auto sent = notifications();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].id, "inc-000001.level.2.ops-leads");
  auto list = all();
  ASSERT_EQ(list.size(), 1u);
  int escalated = 0;
  for (const auto& e : list[0].timeline) escalated += e.kind == "escalated" ? 1 : 0;
  EXPECT_EQ(escalated, 2) << notes(list[0]);
  crashAndRestart();
  advance(1h);
  EXPECT_EQ(notifications().size(), 2u);
  list = all();
  escalated = 0;
  for (const auto& e : list[0].timeline) escalated += e.kind == "escalated" ? 1 : 0;
  EXPECT_EQ(escalated, 2) << notes(list[0]);
}

// keel_incident_escalations_total counts each level once it fired, by
// workflow and level; a restart (the registry outlives the engines here)
// does not count a level again.
TEST_F(EscalationTest, EachLevelFiredIsCountedOnceAcrossRestarts) {
  channel(kDataHook);
  channel(kOpsLeads);
  apply(workflow("feed", kTwoLevels));
  trigger("feed");
  failLatest();
  const std::string level1 = "\nkeel_incident_escalations_total{level=\"1\",workflow=\"feed\"} 1\n";
  const std::string level2 = "\nkeel_incident_escalations_total{level=\"2\",workflow=\"feed\"} 1\n";
  EXPECT_NE(metrics_.render().find(level1), std::string::npos) << metrics_.render();
  EXPECT_EQ(metrics_.render().find("level=\"2\""), std::string::npos);
  clock_.advance(20min);  // level 2 comes due while keel is down
  crashAndRestart();
  crashAndRestart();
  advance(1h);
  std::string text = metrics_.render();
  EXPECT_NE(text.find(level1), std::string::npos) << text;
  EXPECT_NE(text.find(level2), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE keel_incident_escalations_total counter\n"), std::string::npos);
}

TEST_F(EscalationTest, TheRecoveryWindowSurvivesARestart) {
  channel(kDataHook);
  apply(workflow("feed", kRetrying));
  auto id = trigger("feed");
  failLatest();  // t=0
  advance(1min);
  failLatest();                // t=1m
  clock_.advance(2min + 30s);  // keel is down from 1m to 3m30s
  crashAndRestart();
  auto list = all();
  ASSERT_EQ(list.size(), 1u) << "the window counts from the stored first failure";
  EXPECT_EQ(list[0].symptom, "step_not_recovered");
  EXPECT_EQ(notifications().size(), 1u);
  crashAndRestart();
  advance(5min);
  EXPECT_EQ(all().size(), 1u);
  EXPECT_EQ(notifications().size(), 1u);
  EXPECT_FALSE(isTerminal(detail(id).run.state));
}

TEST_F(EscalationTest, NoChannelForTheTeamIsRecordedLoudly) {
  apply(workflow("feed", kTwoLevels));
  trigger("feed");
  failLatest();
  EXPECT_TRUE(notifications().empty());
  auto list = all();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_NE(notes(list[0]).find("level 1: owner team data: NOT NOTIFIED, no channel serves team "
                                "data"),
            std::string::npos)
      << notes(list[0]);
  advance(15min);
  EXPECT_NE(notes(all()[0]).find("level 2: channel ops-leads: NOT NOTIFIED, no channel named "
                                 "ops-leads"),
            std::string::npos)
      << notes(all()[0]);
}

TEST_F(EscalationTest, AResolutionGoesToEveryChannelThatWasCalled) {
  channel(kDataHook);
  apply(workflow("feed", kTwoLevels));
  trigger("feed");
  failLatest();
  IncidentRequest r{"inc-000001", IncidentAction::kResolve, {}, {}, {}, 0};
  r.resolve.rootCause = "the upstream file was late";
  r.resolve.noActionReason = "a one-off outage upstream";
  ASSERT_TRUE(act(r).ok());
  auto sent = notifications();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].id, "inc-000001.resolved.data-hook");
  EXPECT_EQ(sent[1].kind, "resolved");
  EXPECT_EQ(nlohmann::json::parse(sent[1].payloadJson)["state"], "resolved");
}

}  // namespace
}  // namespace keel::engine::test
