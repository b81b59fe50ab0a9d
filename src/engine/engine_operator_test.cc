// Operator actions on one step: skip, rerun --from and cancel --step, on a
// manual clock.
#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

using namespace std::chrono_literals;

const RequestContext kAlice{
    .token = "ops", .role = "admin", .onBehalfOf = "alice", .reason = "known bad input"};

class OperatorTest : public EngineTest {
 protected:
  Result<store::RunRow> act(std::future<Result<store::RunRow>> f) {
    engine_->pump();
    return f.get();
  }
  // The index in exec_.started of the running attempt of `step`.
  size_t running(const std::string& step) {
    for (size_t i : exec_.running())
      if (exec_.started[i].request.step == step) return i;
    ADD_FAILURE() << "no running attempt of " << step;
    return 0;
  }
  int startsOf(const std::string& step) {
    int n = 0;
    for (const auto& s : exec_.started) n += s.request.step == step;
    return n;
  }
  std::vector<int> attemptsOf(const std::string& id, const std::string& step) {
    std::vector<int> out;
    for (const auto& a : detail(id).attempts)
      if (a.step == step) out.push_back(a.n);
    return out;
  }
  std::vector<store::EventRow> eventsOf(const std::string& id, const std::string& kind) {
    std::vector<store::EventRow> out;
    auto events = store_->runEvents(id);
    EXPECT_TRUE(events.ok());
    if (events.ok())
      for (const auto& e : *events)
        if (e.kind == kind) out.push_back(e);
    return out;
  }
};

constexpr const char* kChain = R"(
steps:
  - { name: a, run: "a", timeout: 1h }
  - { name: b, run: "b", needs: [a], timeout: 1h, retry: { max_attempts: 1 } }
  - { name: c, run: "c", needs: [b], timeout: 1h }
)";

TEST_F(OperatorTest, SkippingADeadStepReopensTheFailedRunAndItsDependantsRun) {
  apply(workflow("chain", kChain));
  auto id = trigger("chain");
  exec_.succeed(running("a"));
  engine_->pump();
  exec_.fail(running("b"), FailureClass::kError, 3);
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kFailed);
  ASSERT_EQ(step(detail(id), "c").state, StepState::kSkipped);

  auto r = act(engine_->skipStep(id, "b", kAlice));
  ASSERT_TRUE(r.ok()) << r.error().toString();
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kRunning);
  EXPECT_EQ(step(d, "b").state, StepState::kSkipped);
  EXPECT_NE(step(d, "b").reason.find("alice"), std::string::npos) << step(d, "b").reason;
  EXPECT_EQ(step(d, "c").state, StepState::kRunning);
  exec_.succeed(running("c"));
  engine_->pump();
  EXPECT_EQ(detail(id).run.state, RunState::kSucceeded) << detail(id).run.reason;
  EXPECT_EQ(startsOf("a"), 1);
  EXPECT_EQ(startsOf("b"), 1);

  auto skipped = eventsOf(id, "step_skipped");
  ASSERT_FALSE(skipped.empty());
  EXPECT_EQ(skipped.back().step, "b");
  EXPECT_EQ(skipped.back().actor, "alice (token ops)");
  EXPECT_EQ(skipped.back().reason, "known bad input");
  EXPECT_EQ(eventsOf(id, "run_reopened").size(), 1u);
}

TEST_F(OperatorTest, SkippingAPendingStepLetsItsDependantsRunWithoutIt) {
  apply(workflow("chain", kChain));
  auto id = trigger("chain");
  auto r = act(engine_->skipStep(id, "b", kAlice));
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ(step(detail(id), "b").state, StepState::kSkipped);
  EXPECT_EQ(step(detail(id), "c").state, StepState::kRunning) << "c needs only b, now skipped";
  exec_.succeed(running("a"));
  engine_->pump();
  exec_.succeed(running("c"));
  engine_->pump();
  EXPECT_EQ(detail(id).run.state, RunState::kSucceeded);
  EXPECT_EQ(startsOf("b"), 0);
}

TEST_F(OperatorTest, SkippingARunningStepIsRefused) {
  apply(workflow("chain", kChain));
  auto id = trigger("chain");
  auto r = act(engine_->skipStep(id, "a", kAlice));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
  EXPECT_NE(r.error().message().find("cancel it first"), std::string::npos) << r.error().message();
  EXPECT_EQ(step(detail(id), "a").state, StepState::kRunning);
  auto unknown = act(engine_->skipStep(id, "zz", kAlice));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
  auto noRun = act(engine_->skipStep("nope", "a", kAlice));
  ASSERT_FALSE(noRun.ok());
  EXPECT_EQ(noRun.error().code(), ErrorCode::kNotFound);
}

TEST_F(OperatorTest, SkippingARetryingStepCancelsItsTimer) {
  apply(workflow("retrying", R"(
steps:
  - name: a
    run: "a"
    timeout: 1h
    retry: { max_attempts: 3, backoff: fixed, initial: 1h, max: 1h, jitter: none }
)"));
  auto id = trigger("retrying");
  exec_.fail(0, FailureClass::kError, 1);
  engine_->pump();
  ASSERT_EQ(step(detail(id), "a").state, StepState::kRetrying);
  const size_t before = engine_->pendingTimers();
  ASSERT_TRUE(act(engine_->skipStep(id, "a", kAlice)).ok());
  EXPECT_LT(engine_->pendingTimers(), before);
  EXPECT_EQ(detail(id).run.state, RunState::kSucceeded);
  clock_.advance(2h);
  engine_->pump();
  EXPECT_EQ(exec_.started.size(), 1u);
}

TEST_F(OperatorTest, ATemplateNeedingASkippedStepsOutputFailsAsBadInputNamingIt) {
  apply(workflow("uses", R"(
steps:
  - { name: a, run: "a", timeout: 1h, retry: { max_attempts: 1 } }
  - { name: b, run: "echo {{ steps.a.output.path }}", needs: [a], timeout: 1h }
)"));
  auto id = trigger("uses");
  exec_.fail(0, FailureClass::kError, 1);
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kFailed);
  ASSERT_TRUE(act(engine_->skipStep(id, "a", kAlice)).ok());
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kFailed);
  EXPECT_EQ(step(d, "b").state, StepState::kDead);
  EXPECT_NE(step(d, "b").reason.find("bad_input"), std::string::npos) << step(d, "b").reason;
  EXPECT_NE(step(d, "b").reason.find("step 'a' was skipped by an operator"), std::string::npos)
      << step(d, "b").reason;
}

constexpr const char* kOperatorDiamond = R"(
steps:
  - { name: a, run: "a", timeout: 1h }
  - name: b
    run: "b"
    needs: [a]
    timeout: 1h
    retry: { max_attempts: 2, backoff: fixed, initial: 1s, jitter: none }
  - { name: c, run: "c", needs: [a], timeout: 1h }
  - { name: d, run: "d", needs: [b, c], timeout: 1h }
)";

TEST_F(OperatorTest, RerunFromAMiddleStepOfADiamondRerunsItAndDownstreamOnly) {
  apply(workflow("diamond", kOperatorDiamond));
  auto id = trigger("diamond");
  exec_.succeed(running("a"));
  engine_->pump();
  exec_.fail(running("b"), FailureClass::kError, 1);  // b: attempt 1 of 2 fails
  exec_.succeed(running("c"));
  engine_->pump();
  clock_.advance(1s);
  engine_->pump();
  exec_.succeed(running("b"), R"({"v": 1})");  // attempt 2: its budget is spent
  engine_->pump();
  exec_.succeed(running("d"));
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kSucceeded);

  auto r = act(engine_->rerunFrom(id, "b", kAlice));
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ(step(detail(id), "b").state, StepState::kRunning);
  EXPECT_EQ(step(detail(id), "d").state, StepState::kPending);
  EXPECT_EQ(step(detail(id), "b").outputJson, "");
  // A fresh budget: attempt 3 fails and is retried as attempt 4.
  size_t b3 = running("b");
  EXPECT_EQ(exec_.started[b3].request.attempt, 3);
  exec_.fail(b3, FailureClass::kError, 1);
  engine_->pump();
  EXPECT_EQ(step(detail(id), "b").state, StepState::kRetrying) << step(detail(id), "b").reason;
  clock_.advance(1s);
  engine_->pump();
  exec_.succeed(running("b"));
  engine_->pump();
  size_t d2 = running("d");
  EXPECT_EQ(exec_.started[d2].request.attempt, 2);
  exec_.succeed(d2);
  engine_->pump();
  EXPECT_EQ(detail(id).run.state, RunState::kSucceeded);
  EXPECT_EQ(startsOf("a"), 1);
  EXPECT_EQ(startsOf("c"), 1);
  EXPECT_EQ(attemptsOf(id, "b"), (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(attemptsOf(id, "d"), (std::vector<int>{1, 2}));
  auto from = eventsOf(id, "run_rerun_from");
  ASSERT_EQ(from.size(), 1u);
  EXPECT_EQ(from[0].actor, "alice (token ops)");
  EXPECT_EQ(from[0].reason, "known bad input");
  std::set<std::string> rerun;
  for (const auto& e : eventsOf(id, kStepRerunEvent)) rerun.insert(e.step);
  EXPECT_EQ(rerun, (std::set<std::string>{"b", "d"}));
}

TEST_F(OperatorTest, RerunOfAnActiveRunIsRefusedWhileAnAffectedStepRuns) {
  apply(workflow("diamond", kOperatorDiamond));
  auto id = trigger("diamond");
  exec_.succeed(running("a"));
  engine_->pump();
  auto r = act(engine_->rerunFrom(id, "b", kAlice));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
  EXPECT_NE(r.error().message().find("step 'b'"), std::string::npos) << r.error().message();
  EXPECT_TRUE(eventsOf(id, "run_rerun_from").empty());
  // From d, nothing affected runs (d waits for b and c): allowed.
  auto fromD = act(engine_->rerunFrom(id, "d", kAlice));
  EXPECT_TRUE(fromD.ok()) << fromD.error().toString();
}

TEST_F(OperatorTest, CancellingOneRunningStepLetsItsSiblingFinishThenRerunFromItSucceeds) {
  apply(workflow("pair", R"(
steps:
  - name: a
    run: "a"
    timeout: 1h
    retry: { max_attempts: 3, backoff: fixed, initial: 1s, jitter: none }
  - { name: b, run: "b", timeout: 1h }
)"));
  auto id = trigger("pair");
  size_t a = running("a");
  auto r = act(engine_->cancelStep(id, "a", kAlice));
  ASSERT_TRUE(r.ok()) << r.error().toString();
  ASSERT_FALSE(exec_.stops.empty());
  EXPECT_EQ(exec_.stops.back().second, FailureClass::kCancelled);
  EXPECT_TRUE(exec_.started[a].finished);
  auto d = detail(id);
  EXPECT_EQ(step(d, "a").state, StepState::kDead) << "a cancelled step is not retried";
  EXPECT_NE(step(d, "a").reason.find("cancelled by an operator"), std::string::npos)
      << step(d, "a").reason;
  EXPECT_EQ(step(d, "b").state, StepState::kRunning);
  EXPECT_EQ(d.run.state, RunState::kRunning);
  exec_.succeed(running("b"));
  engine_->pump();
  EXPECT_EQ(detail(id).run.state, RunState::kFailed);

  auto again = act(engine_->cancelStep(id, "a", kAlice));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), ErrorCode::kConflict);

  auto rerun = act(engine_->rerunFrom(id, "a", kAlice));
  ASSERT_TRUE(rerun.ok()) << rerun.error().toString();
  size_t a2 = running("a");
  EXPECT_EQ(exec_.started[a2].request.attempt, 2);
  exec_.succeed(a2);
  engine_->pump();
  EXPECT_EQ(detail(id).run.state, RunState::kSucceeded);
  EXPECT_EQ(startsOf("b"), 1);
  EXPECT_EQ(eventsOf(id, "step_cancel_requested").at(0).actor, "alice (token ops)");
}

TEST_F(OperatorTest, ACancelOfOneStepThatARestartInterruptedIsAppliedAfterIt) {
  apply(workflow("pair", R"(
steps:
  - name: a
    run: "a"
    timeout: 1h
    retry: { max_attempts: 3, backoff: fixed, initial: 1s, jitter: none }
  - { name: b, run: "b", timeout: 1h }
)"));
  auto id = trigger("pair");
  // keel dies after the request is durable and before the step stops: the
  // stop never reaches it.
  exec_.stopsTakeEffect = false;
  auto r = act(engine_->cancelStep(id, "a", kAlice));
  ASSERT_TRUE(r.ok()) << r.error().toString();
  ASSERT_EQ(step(detail(id), "a").state, StepState::kRunning);
  const size_t stopsBefore = exec_.stops.size();
  exec_.keepAcrossRestart = true;
  exec_.stopsTakeEffect = true;
  crashAndRestart();

  // Both attempts are watched again; a's is stopped at once, b's left alone.
  ASSERT_EQ(exec_.stops.size(), stopsBefore + 1);
  EXPECT_EQ(exec_.stops.back().second, FailureClass::kCancelled);
  engine_->pump();
  auto d = detail(id);
  EXPECT_EQ(step(d, "a").state, StepState::kDead) << "a cancelled step is not retried";
  EXPECT_NE(
      step(d, "a").reason.find("cancelled by an operator (alice (token ops)): known bad input"),
      std::string::npos)
      << step(d, "a").reason;
  EXPECT_EQ(step(d, "a").attempts, 1);
  EXPECT_EQ(step(d, "b").state, StepState::kRunning);
  exec_.succeed(running("b"));
  engine_->pump();
  EXPECT_EQ(detail(id).run.state, RunState::kFailed);
  EXPECT_EQ(startsOf("a"), 1) << "no second attempt of the cancelled step";
}

TEST_F(OperatorTest, AnOldCancelOfOneStepDoesNotStopItsRerunAfterARestart) {
  apply(workflow("pair", R"(
steps:
  - { name: a, run: "a", timeout: 1h }
  - { name: b, run: "b", timeout: 1h }
)"));
  auto id = trigger("pair");
  ASSERT_TRUE(act(engine_->cancelStep(id, "a", kAlice)).ok());
  exec_.succeed(running("b"));
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kFailed);
  ASSERT_TRUE(act(engine_->rerunFrom(id, "a", kAlice)).ok());
  const size_t stopsBefore = exec_.stops.size();
  exec_.keepAcrossRestart = true;
  crashAndRestart();
  EXPECT_EQ(exec_.stops.size(), stopsBefore) << "the cancel was for attempt 1, not 2";
  exec_.succeed(running("a"));
  engine_->pump();
  EXPECT_EQ(detail(id).run.state, RunState::kSucceeded);
}

TEST_F(OperatorTest, CancellingAStepThatDoesNotRunSaysItsState) {
  apply(workflow("chain", kChain));
  auto id = trigger("chain");
  auto r = act(engine_->cancelStep(id, "b", kAlice));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
  EXPECT_NE(r.error().message().find("it is pending"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("keel skip"), std::string::npos) << r.error().message();
}

TEST_F(OperatorTest, OfTwoConcurrentSkipsOneActs) {
  apply(workflow("chain", kChain));
  auto id = trigger("chain");
  exec_.succeed(running("a"));
  engine_->pump();
  exec_.fail(running("b"), FailureClass::kError, 3);
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kFailed);
  auto f1 = engine_->skipStep(id, "b", kAlice);
  auto f2 = engine_->skipStep(id, "b", RequestContext{.token = "bob", .reason = "me too"});
  engine_->pump();
  auto r1 = f1.get();
  auto r2 = f2.get();
  EXPECT_NE(r1.ok(), r2.ok()) << "exactly one acts";
  const auto& refused = r1.ok() ? r2 : r1;
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kConflict);
  EXPECT_NE(refused.error().message().find("already skipped"), std::string::npos)
      << refused.error().message();
  EXPECT_EQ(eventsOf(id, "run_reopened").size(), 1u);
  std::vector<std::string> actors;
  for (const auto& e : eventsOf(id, "step_skipped"))
    if (e.step == "b") actors.push_back(e.actor);
  EXPECT_EQ(actors.size(), 1u);
  EXPECT_EQ(startsOf("c"), 1);
}

TEST_F(OperatorTest, ARerunRunRecoversAcrossARestartWithItsFreshBudget) {
  apply(workflow("diamond", kOperatorDiamond));
  auto id = trigger("diamond");
  exec_.succeed(running("a"));
  engine_->pump();
  exec_.succeed(running("c"));
  exec_.fail(running("b"), FailureClass::kError, 1);
  engine_->pump();
  clock_.advance(1s);
  engine_->pump();
  exec_.fail(running("b"), FailureClass::kError, 1);
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kFailed);

  ASSERT_TRUE(act(engine_->rerunFrom(id, "b", kAlice)).ok());
  ASSERT_EQ(exec_.started.back().request.attempt, 3);
  crashAndRestart();  // attempt 3 is lost: the first of its fresh two
  auto d = detail(id);
  EXPECT_EQ(step(d, "b").state, StepState::kRetrying) << step(d, "b").reason;
  clock_.advance(1s);
  engine_->pump();
  size_t b4 = running("b");
  EXPECT_EQ(exec_.started[b4].request.attempt, 4);
  exec_.succeed(b4);
  engine_->pump();
  exec_.succeed(running("d"));
  engine_->pump();
  EXPECT_EQ(detail(id).run.state, RunState::kSucceeded);
  EXPECT_EQ(attemptsOf(id, "a"), (std::vector<int>{1}));
  EXPECT_EQ(attemptsOf(id, "c"), (std::vector<int>{1}));
}

TEST_F(OperatorTest, ASkippedStepStaysSkippedAcrossARestartAndItsDependantsStillRun) {
  apply(workflow("joined", R"(
steps:
  - name: a
    run: "a"
    timeout: 1h
    retry: { max_attempts: 2, backoff: fixed, initial: 1s, jitter: none }
  - { name: b, run: "b", needs: [a], timeout: 1h }
  - { name: c, run: "c", needs: [a, b], timeout: 1h }
)"));
  auto id = trigger("joined");
  ASSERT_TRUE(act(engine_->skipStep(id, "b", kAlice)).ok());
  crashAndRestart();  // a's attempt 1 is lost and retried
  EXPECT_EQ(step(detail(id), "b").state, StepState::kSkipped);
  clock_.advance(1s);
  engine_->pump();
  exec_.succeed(running("a"));
  engine_->pump();
  EXPECT_EQ(step(detail(id), "c").state, StepState::kRunning) << "b counts as done after a restart";
  exec_.succeed(running("c"));
  engine_->pump();
  EXPECT_EQ(detail(id).run.state, RunState::kSucceeded) << detail(id).run.reason;
  EXPECT_EQ(startsOf("b"), 0);
}

TEST_F(OperatorTest, ARetryKeepsAStepAnOperatorSkipped) {
  apply(workflow("chain", kChain));
  auto id = trigger("chain");
  ASSERT_TRUE(act(engine_->skipStep(id, "b", kAlice)).ok());
  ASSERT_TRUE(act(engine_->cancel(id, kAlice)).ok());
  ASSERT_EQ(detail(id).run.state, RunState::kCancelled);
  ASSERT_TRUE(act(engine_->retry(id, kAlice)).ok());
  EXPECT_EQ(step(detail(id), "b").state, StepState::kSkipped);
  exec_.succeed(running("a"));
  engine_->pump();
  exec_.succeed(running("c"));
  engine_->pump();
  EXPECT_EQ(detail(id).run.state, RunState::kSucceeded);
  EXPECT_EQ(startsOf("b"), 0);
}

}  // namespace
}  // namespace keel::engine::test
