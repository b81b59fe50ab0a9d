// Approval steps: the wait, one decision (approve, reject), the deadline
// both ways, a second decision refused, restarts and cancel, on a manual
// clock.
#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

std::string approvalWorkflow(const std::string& onTimeout = "fail") {
  return workflow("release", R"(
params: { date: }
steps:
  - { name: load, noop: true }
  - name: go-live
    needs: [load]
    approval:
      approvers: [ops-leads, alice]
      timeout: 4h
      on_timeout: )" + onTimeout +
                                 R"(
      message: "Load {{ params.date }} into production?"
  - name: publish
    needs: [go-live]
    run: "publish {{ steps.go-live.output.by }}"
    timeout: 1m
)");
}

class ApprovalTest : public EngineTest {
 protected:
  std::string start(const std::string& onTimeout = "fail") {
    apply(approvalWorkflow(onTimeout));
    return trigger("release", {{"date", "2026-11-23"}});
  }
  Result<store::RunRow> decide(const std::string& id, bool approve, std::string reason,
                               std::string person = "alice", std::string stepName = "go-live") {
    RequestContext who;
    who.token = "ops";
    who.onBehalfOf = std::move(person);
    who.reason = std::move(reason);
    auto f = engine_->decideApproval(id, stepName, approve, who);
    engine_->pump();
    return f.get();
  }
  std::vector<store::EventRow> events(const std::string& id, const std::string& kind) {
    auto all = store_->runEvents(id);
    EXPECT_TRUE(all.ok());
    std::vector<store::EventRow> out;
    if (all.ok())
      for (auto& e : *all)
        if (e.kind == kind) out.push_back(e);
    return out;
  }
};

TEST_F(ApprovalTest, AStepWaitsForApprovalWithWhoMustDecideAndADeadline) {
  const WallTime t0 = clock_.wallNow();
  auto id = start();
  auto d = detail(id);
  const auto& s = step(d, "go-live");
  EXPECT_EQ(s.state, StepState::kWaiting);
  EXPECT_EQ(s.waitKind, "approval");
  EXPECT_EQ(s.waitReason, "approval by ops-leads, alice: Load 2026-11-23 into production?");
  EXPECT_EQ(s.reason, s.waitReason);
  ASSERT_TRUE(s.dueAt.has_value());
  EXPECT_EQ(*s.dueAt, t0 + std::chrono::hours(4));
  EXPECT_EQ(step(d, "publish").state, StepState::kPending);
  EXPECT_TRUE(exec_.started.empty());
  EXPECT_EQ(events(id, "approval_requested").size(), 1u);
}

TEST_F(ApprovalTest, ApprovedTheDependantRunsWithWhoDecidedInItsTemplates) {
  auto id = start();
  clock_.advance(10min);
  auto row = decide(id, true, "numbers checked");
  ASSERT_TRUE(row.ok()) << row.error().toString();
  EXPECT_EQ(row->id, id);
  auto d = detail(id);
  const auto& s = step(d, "go-live");
  EXPECT_EQ(s.state, StepState::kSucceeded);
  EXPECT_EQ(s.waitKind, "");
  auto out = nlohmann::json::parse(s.outputJson);
  EXPECT_EQ(out["approved"], true);
  EXPECT_EQ(out["by"], "alice (token ops)");
  EXPECT_EQ(out["reason"], "numbers checked");
  EXPECT_EQ(out["at"], formatRfc3339(clock_.wallNow()));
  ASSERT_EQ(exec_.started.size(), 1u);
  EXPECT_EQ(exec_.started[0].request.command, "publish 'alice (token ops)'");
  auto granted = events(id, "approval_granted");
  ASSERT_EQ(granted.size(), 1u);
  EXPECT_EQ(granted[0].step, "go-live");
  EXPECT_EQ(granted[0].actor, "alice (token ops)");
  EXPECT_EQ(granted[0].reason, "numbers checked");
  exec_.succeed(0);
  engine_->pump();
  EXPECT_EQ(detail(id).run.state, RunState::kSucceeded);
}

TEST_F(ApprovalTest, RejectedTheStepIsDeadAsBadInputAndTheRunFails) {
  auto id = start();
  auto row = decide(id, false, "numbers are off", "bob");
  ASSERT_TRUE(row.ok()) << row.error().toString();
  auto d = detail(id);
  const auto& s = step(d, "go-live");
  EXPECT_EQ(s.state, StepState::kDead);
  EXPECT_EQ(s.reason, "rejected by bob (token ops): numbers are off");
  EXPECT_EQ(s.attempts, 1) << "a rejection is not retried";
  ASSERT_EQ(d.attempts.size(), 2u);  // load's and go-live's
  for (const auto& a : d.attempts) {
    if (a.step == "go-live") {
      EXPECT_EQ(a.failureClass, FailureClass::kBadInput);
    }
  }
  EXPECT_EQ(step(d, "publish").state, StepState::kSkipped);
  EXPECT_EQ(d.run.state, RunState::kFailed);
  EXPECT_TRUE(exec_.started.empty());
  auto rejected = events(id, "approval_rejected");
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].actor, "bob (token ops)");
  EXPECT_EQ(rejected[0].reason, "numbers are off");
}

TEST_F(ApprovalTest, ASecondDecisionIsRefusedNamingTheFirst) {
  auto id = start();
  ASSERT_TRUE(decide(id, true, "ok").ok());
  // The run is still running (publish has started).
  auto again = decide(id, false, "too late", "bob");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), ErrorCode::kConflict);
  EXPECT_NE(again.error().message().find("already approved by alice (token ops)"),
            std::string::npos)
      << again.error().message();
  // Also once the run has ended and left memory.
  exec_.succeed(0);
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kSucceeded);
  again = decide(id, true, "", "carol");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), ErrorCode::kConflict);
  EXPECT_NE(again.error().message().find("already approved by alice (token ops)"),
            std::string::npos)
      << again.error().message();

  auto rejectedRun = trigger("release", {{"date", "2026-11-24"}});
  ASSERT_TRUE(decide(rejectedRun, false, "no", "bob").ok());
  auto late = decide(rejectedRun, true, "", "alice");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code(), ErrorCode::kConflict);
  EXPECT_NE(late.error().message().find("already rejected by bob (token ops): no"),
            std::string::npos)
      << late.error().message();
  EXPECT_EQ(events(id, "approval_granted").size(), 1u);
}

TEST_F(ApprovalTest, ADecisionOnAStepThatDoesNotWaitOrDoesNotExist) {
  auto id = start();
  auto onLoad = decide(id, true, "", "alice", "load");
  ASSERT_FALSE(onLoad.ok());
  EXPECT_EQ(onLoad.error().code(), ErrorCode::kConflict);
  EXPECT_NE(onLoad.error().message().find("succeeded"), std::string::npos)
      << onLoad.error().message();
  auto onPublish = decide(id, true, "", "alice", "publish");
  ASSERT_FALSE(onPublish.ok());
  EXPECT_EQ(onPublish.error().code(), ErrorCode::kConflict);
  EXPECT_NE(onPublish.error().message().find("pending"), std::string::npos);
  auto noStep = decide(id, true, "", "alice", "nope");
  ASSERT_FALSE(noStep.ok());
  EXPECT_EQ(noStep.error().code(), ErrorCode::kNotFound);
  auto noRun = decide("01NOSUCHRUN", true, "");
  ASSERT_FALSE(noRun.ok());
  EXPECT_EQ(noRun.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(step(detail(id), "go-live").state, StepState::kWaiting);
}

TEST_F(ApprovalTest, NoDecisionWithinTheTimeoutFailsTheStepAsTimeout) {
  auto id = start();
  clock_.advance(4h - 1s);
  engine_->pump();
  EXPECT_EQ(step(detail(id), "go-live").state, StepState::kWaiting);
  clock_.advance(1s);
  engine_->pump();
  auto d = detail(id);
  EXPECT_EQ(step(d, "go-live").state, StepState::kDead);
  EXPECT_EQ(step(d, "go-live").reason, "no decision within 4h");
  for (const auto& a : d.attempts) {
    if (a.step == "go-live") {
      EXPECT_EQ(a.failureClass, FailureClass::kTimeout);
    }
  }
  EXPECT_EQ(d.run.state, RunState::kFailed);
  auto timedOut = events(id, "approval_timed_out");
  ASSERT_EQ(timedOut.size(), 1u);
  EXPECT_EQ(timedOut[0].actor, "keel (timeout)");
  EXPECT_EQ(timedOut[0].reason, "no decision within 4h");
  EXPECT_EQ(timedOut[0].message, "failed");
  auto late = decide(id, true, "sorry, was asleep");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code(), ErrorCode::kConflict);
  EXPECT_NE(late.error().message().find("timed out"), std::string::npos);
}

TEST_F(ApprovalTest, OnTimeoutApproveApprovesAsKeel) {
  auto id = start("approve");
  clock_.advance(4h);
  engine_->pump();
  auto d = detail(id);
  const auto& s = step(d, "go-live");
  EXPECT_EQ(s.state, StepState::kSucceeded);
  auto out = nlohmann::json::parse(s.outputJson);
  EXPECT_EQ(out["approved"], true);
  EXPECT_EQ(out["by"], "keel (timeout)");
  ASSERT_EQ(exec_.started.size(), 1u);
  EXPECT_EQ(exec_.started[0].request.command, "publish 'keel (timeout)'");
  EXPECT_EQ(events(id, "approval_timed_out").size(), 1u);
}

TEST_F(ApprovalTest, AWaitSurvivesARestartWithItsDeadline) {
  const WallTime t0 = clock_.wallNow();
  auto id = start();
  clock_.advance(1h);
  stopAndRestart();
  auto d = detail(id);
  EXPECT_EQ(step(d, "go-live").state, StepState::kWaiting);
  EXPECT_EQ(step(d, "go-live").waitKind, "approval");
  EXPECT_EQ(step(d, "go-live").dueAt, t0 + 4h);
  // Still decidable after the restart.
  ASSERT_TRUE(decide(id, true, "after the restart").ok());
  EXPECT_EQ(step(detail(id), "go-live").state, StepState::kSucceeded);
  ASSERT_EQ(exec_.started.size(), 1u);
}

TEST_F(ApprovalTest, TheOriginalDeadlineHoldsAfterARestart) {
  auto id = start();
  clock_.advance(3h);
  stopAndRestart();
  clock_.advance(1h - 1s);
  engine_->pump();
  EXPECT_EQ(step(detail(id), "go-live").state, StepState::kWaiting) << "the deadline moved earlier";
  clock_.advance(1s);
  engine_->pump();
  EXPECT_EQ(step(detail(id), "go-live").state, StepState::kDead)
      << "the restart gave the wait a new deadline";
}

TEST_F(ApprovalTest, ADeadlinePassedWhileKeelWasDownIsAppliedAtStart) {
  auto id = start();
  engine_->stop();
  clock_.advance(5h);
  crashAndRestart();
  auto d = detail(id);
  EXPECT_EQ(step(d, "go-live").state, StepState::kDead);
  EXPECT_EQ(step(d, "go-live").reason, "no decision within 4h");
  EXPECT_EQ(d.run.state, RunState::kFailed);
}

TEST_F(ApprovalTest, CancellingTheRunEndsAWaitingApproval) {
  auto id = start();
  RequestContext who;
  who.token = "ops";
  who.reason = "wrong date";
  auto f = engine_->cancel(id, who);
  engine_->pump();
  ASSERT_TRUE(f.get().ok());
  auto d = detail(id);
  EXPECT_EQ(step(d, "go-live").state, StepState::kSkipped);
  EXPECT_EQ(step(d, "go-live").waitKind, "");
  EXPECT_EQ(d.run.state, RunState::kCancelled);
  auto late = decide(id, true, "");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code(), ErrorCode::kConflict);
  EXPECT_NE(late.error().message().find("skipped"), std::string::npos);
  // Its deadline no longer applies.
  clock_.advance(5h);
  engine_->pump();
  EXPECT_TRUE(events(id, "approval_timed_out").empty());
}

}  // namespace
}  // namespace keel::engine::test
