// Compensation: the compensate: of each succeeded step runs, last success
// first, when a run fails for good or is cancelled with compensation.
#include <algorithm>

#include <gtest/gtest.h>

#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

// The commands started so far, in order.
std::vector<std::string> commands(const ScriptedExecutor& exec) {
  std::vector<std::string> out;
  for (const auto& s : exec.started) out.push_back(s.request.command);
  return out;
}

// Finishes the attempt whose command is `command` and is still running.
size_t indexOf(const ScriptedExecutor& exec, const std::string& command) {
  for (size_t i = 0; i < exec.started.size(); ++i)
    if (exec.started[i].request.command == command && !exec.started[i].finished) return i;
  ADD_FAILURE() << "no running attempt of " << command;
  return 0;
}

bool hasEvent(const std::vector<store::EventRow>& events, const std::string& kind,
              const std::string& step = {}) {
  return std::any_of(events.begin(), events.end(), [&](const store::EventRow& e) {
    return e.kind == kind && (step.empty() || e.step == step);
  });
}

class CompensateTest : public EngineTest {
 protected:
  void succeed(const std::string& command, std::string output = {}) {
    exec_.succeed(indexOf(exec_, command), std::move(output));
    engine_->pump();
  }
  void fail(const std::string& command, FailureClass cls = FailureClass::kBadInput) {
    exec_.fail(indexOf(exec_, command), cls, 3);
    engine_->pump();
  }
};

constexpr const char* kDiamond = R"(
steps:
  - name: a
    run: do a
    timeout: 1m
    compensate: { run: "undo {{ steps.a.output.id }}", timeout: 1m }
  - { name: b, needs: [a], run: do b, timeout: 1m, compensate: { run: undo b, timeout: 1m } }
  - { name: c, needs: [a], run: do c, timeout: 1m, compensate: { run: undo c, timeout: 1m } }
  - { name: d, needs: [b, c], run: do d, timeout: 1m, compensate: { run: undo d, timeout: 1m } }
)";

TEST_F(CompensateTest, ReverseCompletionOrderAcrossADiamond) {
  apply(workflow("diamond", kDiamond));
  auto id = trigger("diamond");
  succeed("do a", R"({"id":"A-1"})");
  succeed("do c");  // c completes before b
  succeed("do b");
  fail("do d");
  // Compensating: the run is not over yet.
  auto mid = detail(id);
  EXPECT_EQ(mid.run.state, RunState::kRunning);
  EXPECT_EQ(mid.run.reason, "compensating");
  EXPECT_EQ(mid.run.compensation, "running");
  succeed("undo b");
  succeed("undo c");
  succeed("undo 'A-1'");  // its templates see the step's own output
  // b and c start together (in file order); c's success was recorded first.
  std::vector<std::string> want = {"do a",   "do b",   "do c",      "do d",
                                   "undo b", "undo c", "undo 'A-1'"};
  EXPECT_EQ(commands(exec_), want);
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kFailed);
  EXPECT_EQ(d.run.compensation, "done");
  EXPECT_NE(d.run.reason.find("step 'd' failed"), std::string::npos) << d.run.reason;
  EXPECT_EQ(step(d, "b.compensate").state, StepState::kSucceeded);
  // d never succeeded: it has nothing to undo, and no row.
  for (const auto& s : d.steps) EXPECT_NE(s.name, "d.compensate");
}

TEST_F(CompensateTest, AFailingCompensationIsRetriedThenFailedAndTheOthersStillRun) {
  apply(workflow("shop", R"(
steps:
  - { name: a, run: do a, timeout: 1m, compensate: { run: undo a, timeout: 1m } }
  - name: b
    needs: [a]
    run: do b
    timeout: 1m
    compensate:
      run: undo b
      timeout: 1m
      retry: { max_attempts: 2, backoff: fixed, initial: 1s, jitter: none }
  - { name: c, needs: [b], run: do c, timeout: 1m }
)"));
  auto id = trigger("shop");
  succeed("do a");
  succeed("do b");
  fail("do c");
  fail("undo b", FailureClass::kError);
  EXPECT_EQ(step(detail(id), "b.compensate").state, StepState::kRetrying);
  clock_.advance(1s);
  engine_->pump();
  fail("undo b", FailureClass::kError);
  succeed("undo a");
  std::vector<std::string> want = {"do a", "do b", "do c", "undo b", "undo b", "undo a"};
  EXPECT_EQ(commands(exec_), want);
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kFailed);
  EXPECT_EQ(d.run.compensation, "failed");
  EXPECT_EQ(step(d, "b.compensate").state, StepState::kDead);
  EXPECT_EQ(step(d, "b.compensate").attempts, 2);
  EXPECT_EQ(step(d, "a.compensate").state, StepState::kSucceeded);
  auto events = store_->runEvents(id);
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(hasEvent(*events, "compensation_failed", "b.compensate"));
  EXPECT_NE(metrics_.render().find("\nkeel_compensations_failed_total 1\n"), std::string::npos)
      << metrics_.render();
}

TEST_F(CompensateTest, CancelWithCompensateUndoesTheSucceededSteps) {
  apply(workflow("shop", R"(
steps:
  - { name: a, run: do a, timeout: 1m, compensate: { run: undo a, timeout: 1m } }
  - { name: b, needs: [a], run: do b, timeout: 1m, compensate: { run: undo b, timeout: 1m } }
)"));
  auto id = trigger("shop");
  succeed("do a");
  auto f = engine_->cancelAndCompensate(id, RequestContext{});
  engine_->pump();
  ASSERT_TRUE(f.get().ok());
  engine_->pump();
  // b was stopped, so only a is undone.
  succeed("undo a");
  std::vector<std::string> want = {"do a", "do b", "undo a"};
  EXPECT_EQ(commands(exec_), want);
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kCancelled);
  EXPECT_EQ(d.run.compensation, "done");
}

TEST_F(CompensateTest, APlainCancelCompensatesNothing) {
  apply(workflow("shop", R"(
steps:
  - { name: a, run: do a, timeout: 1m, compensate: { run: undo a, timeout: 1m } }
  - { name: b, needs: [a], run: do b, timeout: 1m }
)"));
  auto id = trigger("shop");
  succeed("do a");
  auto f = engine_->cancel(id, RequestContext{});
  engine_->pump();
  ASSERT_TRUE(f.get().ok());
  engine_->pump();
  EXPECT_EQ(exec_.started.size(), 2u);
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kCancelled);
  EXPECT_EQ(d.run.compensation, "");
}

TEST_F(CompensateTest, ARunThatSucceedsRunsNone) {
  apply(workflow("shop", R"(
steps:
  - { name: a, run: do a, timeout: 1m, compensate: { run: undo a, timeout: 1m } }
)"));
  auto id = trigger("shop");
  succeed("do a");
  EXPECT_EQ(exec_.started.size(), 1u);
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kSucceeded);
  EXPECT_EQ(d.run.compensation, "");
  EXPECT_EQ(d.steps.size(), 1u);
}

TEST_F(CompensateTest, StepsThatNeverSucceededAreNotCompensated) {
  apply(workflow("shop", R"(
steps:
  - { name: a, run: do a, timeout: 1m, compensate: { run: undo a, timeout: 1m } }
  - { name: b, run: do b, timeout: 1m, compensate: { run: undo b, timeout: 1m } }
  - { name: c, needs: [a], run: do c, timeout: 1m, compensate: { run: undo c, timeout: 1m } }
)"));
  auto id = trigger("shop");
  fail("do a");  // c is skipped
  succeed("do b");
  succeed("undo b");
  std::vector<std::string> want = {"do a", "do b", "undo b"};
  EXPECT_EQ(commands(exec_), want);
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kFailed);
  EXPECT_EQ(d.run.compensation, "done");
}

TEST_F(CompensateTest, RestartDuringCompensationDoesNotRunAFinishedOneAgain) {
  apply(workflow("shop", R"(
steps:
  - { name: a, run: do a, timeout: 1m, compensate: { run: undo a, timeout: 1m } }
  - { name: b, needs: [a], run: do b, timeout: 1m, compensate: { run: undo b, timeout: 1m } }
  - { name: c, needs: [b], run: do c, timeout: 1m }
)"));
  auto id = trigger("shop");
  succeed("do a");
  succeed("do b");
  fail("do c");
  succeed("undo b");
  ASSERT_EQ(exec_.running().size(), 1u);  // undo a runs
  exec_.keepAcrossRestart = true;
  crashAndRestart();
  // Only the running one is looked for again; undo b is not re-run.
  ASSERT_EQ(exec_.started.size(), 1u);
  EXPECT_EQ(exec_.started[0].request.step, "a.compensate");
  exec_.succeed(0);
  engine_->pump();
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kFailed);
  EXPECT_EQ(d.run.compensation, "done");
  EXPECT_EQ(step(d, "b.compensate").attempts, 1);
  EXPECT_EQ(step(d, "a.compensate").attempts, 1);
}

TEST_F(CompensateTest, RestartBeforeTheNextCompensationStartsIt) {
  apply(workflow("shop", R"(
steps:
  - { name: a, run: do a, timeout: 1m, compensate: { run: undo a, timeout: 1m } }
  - { name: b, needs: [a], run: do b, timeout: 1m, compensate: { run: undo b, timeout: 1m } }
  - { name: c, needs: [b], run: do c, timeout: 1m }
)"));
  auto id = trigger("shop");
  succeed("do a");
  succeed("do b");
  fail("do c");
  ASSERT_EQ(exec_.running().size(), 1u);  // undo b runs
  crashAndRestart();                      // lost with keel: retried by its policy
  clock_.advance(std::chrono::hours(1));  // past its retry backoff
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 1u);
  EXPECT_EQ(exec_.started[0].request.command, "undo b");
  EXPECT_EQ(exec_.started[0].request.attempt, 2);
  succeed("undo b");
  succeed("undo a");
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kFailed);
  EXPECT_EQ(d.run.compensation, "done");
}

TEST_F(CompensateTest, ARunReopenedByARerunCompensatesInTheOrderItsStepsFirstSucceeded) {
  apply(workflow("shop", R"(
steps:
  - { name: x, run: do x, timeout: 1m, compensate: { run: undo x, timeout: 1m } }
  - { name: y, run: do y, timeout: 1m, compensate: { run: undo y, timeout: 1m } }
  - { name: z, needs: [x, y], run: do z, timeout: 1m }
)"));
  auto id = trigger("shop");
  succeed("do y");  // y succeeds first, then x: x is undone first
  succeed("do x");
  auto cancelled = engine_->cancel(id, RequestContext{});  // a plain cancel undoes nothing
  engine_->pump();
  ASSERT_TRUE(cancelled.get().ok());
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kCancelled);
  ASSERT_EQ(detail(id).run.compensation, "");

  // The run is no longer in memory: the rerun re-opens it from the store.
  RequestContext ops;
  ops.token = "ops";
  auto rerun = engine_->rerunFrom(id, "z", ops);
  engine_->pump();
  ASSERT_TRUE(rerun.get().ok());
  fail("do z");
  succeed("undo x");
  succeed("undo y");
  std::vector<std::string> want = {"do x", "do y", "do z", "do z", "undo x", "undo y"};
  EXPECT_EQ(commands(exec_), want);
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kFailed);
  EXPECT_EQ(d.run.compensation, "done");
}

TEST_F(CompensateTest, ARetryOfACompensatedRunIsRefused) {
  apply(workflow("shop", R"(
steps:
  - { name: a, run: do a, timeout: 1m, compensate: { run: undo a, timeout: 1m } }
  - { name: b, needs: [a], run: do b, timeout: 1m }
)"));
  auto id = trigger("shop");
  succeed("do a");
  fail("do b");
  succeed("undo a");
  auto f = engine_->retry(id, RequestContext{});
  engine_->pump();
  auto r = f.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
}

}  // namespace
}  // namespace keel::engine::test
