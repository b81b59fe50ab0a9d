// Steps that outlive keel: recovery re-attaches an attempt that was running
// when keel stopped instead of closing it as lost; stop() leaves running
// steps alone unless asked to stop them; nothing new is taken while
// stopping.
#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

constexpr const char* kOneStep = R"(
steps:
  - { name: a, run: "a", timeout: 10m, retry: { max_attempts: 3, backoff: fixed, initial: 1s, jitter: none } }
  - { name: b, run: "b", needs: [a], timeout: 1m }
)";

int countEvents(const std::vector<store::EventRow>& events, const std::string& kind) {
  int n = 0;
  for (const auto& e : events) n += e.kind == kind;
  return n;
}

TEST_F(EngineTest, ARunningAttemptIsReattachedAfterARestartAndItsResultKept) {
  apply(workflow("long", kOneStep));
  auto id = trigger("long");
  ASSERT_EQ(exec_.started.size(), 1u);
  exec_.keepAcrossRestart = true;
  crashAndRestart();

  // Watched again, not lost: no second attempt, nothing new started.
  ASSERT_EQ(exec_.started.size(), 1u);
  ASSERT_TRUE(exec_.started[0].reattached.has_value());
  EXPECT_EQ(exec_.started[0].reattached->runId, id);
  EXPECT_EQ(exec_.started[0].reattached->step, "a");
  EXPECT_EQ(exec_.started[0].reattached->attempt, 1);
  // The sweep after recovery keeps exactly the re-attached attempt.
  ASSERT_EQ(exec_.sweeps.size(), 2u);  // one per start
  ASSERT_EQ(exec_.sweeps[1].size(), 1u);
  EXPECT_EQ(exec_.sweeps[1][0].step, "a");
  EXPECT_EQ(step(detail(id), "a").state, StepState::kRunning);

  exec_.succeed(0, R"({"rows":3})");
  engine_->pump();
  auto d = detail(id);
  EXPECT_EQ(step(d, "a").state, StepState::kSucceeded);
  EXPECT_EQ(step(d, "a").attempts, 1);
  EXPECT_EQ(step(d, "a").outputJson, R"({"rows":3})");
  EXPECT_EQ(countEvents(*store_->runEvents(id), "attempt_reattached"), 1);
  EXPECT_EQ(countEvents(*store_->runEvents(id), "attempt_lost"), 0);
  // Its folder may go once that end is durable.
  ASSERT_FALSE(exec_.discarded.empty());
  EXPECT_EQ(exec_.discarded.back().step, "a");
  // The run goes on as if keel had never stopped.
  ASSERT_EQ(exec_.started.size(), 2u);
  EXPECT_EQ(exec_.started[1].request.step, "b");
}

TEST_F(EngineTest, AReattachedAttemptKeepsWhatIsLeftOfItsTimeout) {
  apply(workflow("long", kOneStep));
  trigger("long");
  clock_.advance(8min);
  engine_->pump();
  exec_.keepAcrossRestart = true;
  crashAndRestart();
  ASSERT_EQ(exec_.started.size(), 1u);
  clock_.advance(1min);
  engine_->pump();
  EXPECT_TRUE(exec_.stops.empty()) << "stopped before its 10 minutes were up";
  clock_.advance(1min + 1s);
  engine_->pump();
  ASSERT_EQ(exec_.stops.size(), 1u);
  EXPECT_EQ(exec_.stops[0].second, FailureClass::kTimeout);
}

TEST_F(EngineTest, AnAttemptWhoseSupervisorIsGoneIsLostAndRetriedByPolicy) {
  apply(workflow("long", kOneStep));
  auto id = trigger("long");
  crashAndRestart();  // the default executor keeps nothing: every attempt is lost
  auto d = detail(id);
  EXPECT_EQ(step(d, "a").state, StepState::kRetrying);
  EXPECT_EQ(countEvents(*store_->runEvents(id), "attempt_lost"), 1);
  clock_.advance(1s);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 1u);
  EXPECT_EQ(exec_.started[0].request.attempt, 2);
}

TEST_F(EngineTest, ACancelledRunStopsItsReattachedAttempt) {
  apply(workflow("long", kOneStep));
  auto id = trigger("long");
  exec_.keepAcrossRestart = true;
  crashAndRestart();
  auto f = engine_->cancel(id, {});
  engine_->pump();
  ASSERT_TRUE(f.get().ok());
  ASSERT_EQ(exec_.stops.size(), 1u);
  EXPECT_EQ(exec_.stops[0].second, FailureClass::kCancelled);
  engine_->pump();
  EXPECT_EQ(detail(id).run.state, RunState::kCancelled);
}

TEST_F(EngineTest, StopLeavesRunningStepsRunningAndRefusesNewWork) {
  apply(workflow("long", kOneStep));
  auto id = trigger("long");
  engine_->stop();
  EXPECT_TRUE(exec_.stops.empty()) << "stop() stopped a running step";
  EXPECT_EQ(step(detail(id), "a").state, StepState::kRunning);
  auto r = engine_->trigger({"long", nlohmann::json::object(), ""}).get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("stopping"), std::string::npos) << r.error().message();
  EXPECT_FALSE(engine_->ready());
}

TEST_F(EngineTest, StopWithStopStepsStopsThemAndRecordsThemForARetry) {
  apply(workflow("long", kOneStep));
  auto id = trigger("long");
  engine_->stop(/*stopSteps=*/true);
  ASSERT_EQ(exec_.stops.size(), 1u);
  EXPECT_EQ(exec_.stops[0].second, FailureClass::kLost);
  // The outcome was written before the engine stopped: the step waits for
  // its retry, and the restart does not treat it as running.
  auto d = detail(id);
  EXPECT_EQ(step(d, "a").state, StepState::kRetrying);
  crashAndRestart();
  clock_.advance(1s);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 1u);
  EXPECT_EQ(exec_.started[0].request.attempt, 2);
}

TEST_F(EngineTest, ARetryWaitsForTheTimeTheTargetAskedFor) {
  apply(workflow("limited", R"(
steps:
  - { name: call, run: "c", timeout: 1m, retry: { max_attempts: 3, backoff: fixed, initial: 1s, jitter: none, retry_on: [rate_limited] } }
)"));
  auto id = trigger("limited");
  exec::StepOutcome o;
  o.failureClass = FailureClass::kRateLimited;
  o.message = "429 Too Many Requests";
  o.retryNotBefore = clock_.wallNow() + 30s;
  exec_.finish(exec_.started[0], o);
  engine_->pump();
  auto s = step(detail(id), "call");
  EXPECT_EQ(s.state, StepState::kRetrying);
  EXPECT_NE(s.reason.find("Retry-After"), std::string::npos) << s.reason;
  clock_.advance(29s);
  engine_->pump();
  EXPECT_EQ(exec_.started.size(), 1u) << "retried before the time the target asked for";
  clock_.advance(1s);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 2u);

  // A hostile Retry-After a year away waits a day at most.
  o.retryNotBefore = clock_.wallNow() + std::chrono::hours(24 * 365);
  exec_.finish(exec_.started[1], o);
  engine_->pump();
  clock_.advance(std::chrono::hours(24));
  engine_->pump();
  EXPECT_EQ(exec_.started.size(), 3u);
}

// A runner for http: steps that records what it was asked and ends
// attempts when the test says.
class RecordingRunner final : public StepRunner {
 public:
  struct Prepared final : PreparedAttempt {
    std::string step;
  };
  Result<std::shared_ptr<const PreparedAttempt>> prepare(const AttemptInput& in) override {
    auto p = std::make_shared<Prepared>();
    p->step = in.step->name;
    return std::shared_ptr<const PreparedAttempt>(p);
  }
  Handle start(std::shared_ptr<const PreparedAttempt> attempt, Done done) override {
    started.push_back(static_cast<const Prepared&>(*attempt).step);
    dones.push_back(std::move(done));
    return dones.size();
  }
  void stop(Handle, FailureClass) override {}
  Handle attach(const exec::AttemptRef&, std::shared_ptr<const PreparedAttempt>,
                Done done) override {
    exec::StepOutcome o;
    o.failureClass = FailureClass::kLost;
    done(o);
    return 0;
  }
  void discard(const exec::AttemptRef&) override {}
  void sweep(const std::vector<exec::AttemptRef>&) override {}
  std::vector<std::string> started;
  std::vector<Done> dones;
};

TEST_F(EngineTest, AnHttpStepTakesNoProcessSlotAndItsOutcomeIsRecorded) {
  RecordingRunner http;
  runners_[spec::StepKind::kHttp] = &http;
  maxParallel_ = 1;
  crashAndRestart();  // an engine with the runner and one process slot
  apply(workflow("mixed", R"(
steps:
  - { name: call, http: { url: "http://127.0.0.1:1/x" }, timeout: 1m }
  - { name: work, run: "w", timeout: 1m }
)"));
  auto id = trigger("mixed");
  // Both start: the only process slot is the run: step's.
  ASSERT_EQ(http.started, std::vector<std::string>{"call"});
  ASSERT_EQ(exec_.started.size(), 1u);
  exec::StepOutcome ok;
  ok.succeeded = true;
  ok.outputJson = R"({"status":200})";
  http.dones[0](ok);
  exec_.succeed(0);
  engine_->pump();
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kSucceeded);
  EXPECT_EQ(step(d, "call").outputJson, R"({"status":200})");
}

}  // namespace
}  // namespace keel::engine::test
