// Operator calls decided on the loop: retry, cancel, idempotency; timers; versions that no longer
// load.
#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

using namespace std::chrono_literals;

TEST_F(EngineTest, ASecondRetryDecidesFromTheCurrentStateNotAStaleSnapshot) {
  apply(workflow("twice", R"(
steps:
  - { name: up, run: "up", timeout: 1m }
  - { name: down, run: "echo {{ steps.up.output.v }}", needs: [up], timeout: 1m }
)"));
  auto id = trigger("twice");
  exec_.succeed(0, R"({"v": "a\u0000b"})");  // down then fails as bad input, at once
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kFailed);
  // The second retry arrives while the first one's commit is being written.
  std::optional<std::future<Result<store::RunRow>>> second;
  flaky_->beforeApply = [&] {
    if (!second) second = engine_->retry(id, {});
  };
  auto first = engine_->retry(id, {});
  engine_->pump();
  flaky_->beforeApply = nullptr;
  engine_->pump();
  ASSERT_TRUE(second.has_value());
  auto r1 = first.get();
  auto r2 = second->get();
  ASSERT_TRUE(r1.ok()) << r1.error().toString();
  ASSERT_TRUE(r2.ok()) << r2.error().toString();
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kFailed);
  std::vector<int> downAttempts;
  for (const auto& a : d.attempts)
    if (a.step == "down") downAttempts.push_back(a.n);
  EXPECT_EQ(downAttempts, (std::vector<int>{1, 2, 3})) << "an attempt row was overwritten";
  EXPECT_EQ(step(d, "down").attempts, 3);
  EXPECT_EQ(step(d, "up").attempts, 1);
  EXPECT_EQ(exec_.started.size(), 1u) << "the succeeded step ran again";
}

TEST_F(EngineTest, AManualRetryGivesEachRerunStepAFreshBudgetThatSurvivesARestart) {
  apply(workflow("budget", R"(
steps:
  - name: b
    run: "b"
    timeout: 1m
    retry: { max_attempts: 2, backoff: fixed, initial: 1s, jitter: none }
)"));
  auto id = trigger("budget");
  exec_.fail(0, FailureClass::kError, 1);
  engine_->pump();
  clock_.advance(1s);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 2u);
  exec_.fail(1, FailureClass::kError, 1);
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kFailed);

  auto f = engine_->retry(id, {});
  engine_->pump();
  ASSERT_TRUE(f.get().ok());
  ASSERT_EQ(exec_.started.size(), 3u);
  EXPECT_EQ(exec_.started[2].request.attempt, 3);
  crashAndRestart();  // attempt 3 is lost: the first of the fresh two
  auto d = detail(id);
  EXPECT_EQ(step(d, "b").state, StepState::kRetrying) << step(d, "b").reason;
  clock_.advance(1s);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 1u);
  EXPECT_EQ(exec_.started[0].request.attempt, 4);
  exec_.fail(0, FailureClass::kError, 1);
  engine_->pump();
  d = detail(id);
  EXPECT_EQ(step(d, "b").state, StepState::kDead);
  EXPECT_NE(step(d, "b").reason.find("2 of 2 attempts failed"), std::string::npos)
      << step(d, "b").reason;
}

TEST_F(EngineTest, TimersOfFinishedAttemptsAreCancelled) {
  maxParallel_ = 1000;
  crashAndRestart();
  apply(workflow("short", R"(
steps:
  - { name: a, run: "a", timeout: 1h }
)"));
  constexpr int kBatches = 10, kPerBatch = 1000;
  for (int b = 0; b < kBatches; ++b) {
    std::vector<std::future<Result<TriggerResult>>> fs;
    for (int i = 0; i < kPerBatch; ++i)
      fs.push_back(engine_->trigger({"short", nlohmann::json::object(), ""}));
    engine_->pump();
    for (auto& f : fs) ASSERT_TRUE(f.get().ok());
    EXPECT_EQ(engine_->pendingTimers(), static_cast<size_t>(kPerBatch));
    for (size_t i : exec_.running()) exec_.succeed(i);
    engine_->pump();
  }
  EXPECT_EQ(exec_.started.size(), static_cast<size_t>(kBatches * kPerBatch));
  EXPECT_EQ(engine_->pendingTimers(), 0u);
  EXPECT_NE(metrics_.render().find("\nkeel_engine_timers_pending 0\n"), std::string::npos);
  EXPECT_EQ(engine_->stats().activeRuns, 0u);
}

TEST_F(EngineTest, CancellingARunDropsTheTimersOfItsWaitingSteps) {
  apply(workflow("waits", R"(
steps:
  - { name: z, sleep: 24h }
  - name: r
    run: "r"
    timeout: 1h
    retry: { max_attempts: 3, backoff: fixed, initial: 1h, max: 1h, jitter: none }
)"));
  auto id = trigger("waits");
  exec_.fail(0, FailureClass::kError, 1);
  engine_->pump();
  // The sleep, the backoff, and the escalation of the failing step.
  EXPECT_EQ(engine_->pendingTimers(), 3u);
  auto f = engine_->cancel(id, {});
  engine_->pump();
  ASSERT_TRUE(f.get().ok());
  EXPECT_EQ(detail(id).run.state, RunState::kCancelled);
  EXPECT_EQ(engine_->pendingTimers(), 0u);
}

// Who cancelled and retried, and why, is kept in the run's timeline; a
// trigger through the API records its caller on run_created, keel's own
// events record no one.
TEST_F(EngineTest, TheTimelineSaysWhoCancelledAndRetriedAndWhy) {
  apply(workflow("audited", R"(
steps:
  - { name: a, run: "a", timeout: 1h }
)"));
  TriggerRequest request{"audited", nlohmann::json::object(), ""};
  request.who.token = "ci";
  request.who.reason = "nightly catch-up";
  auto started = engine_->trigger(request);
  engine_->pump();
  auto run = started.get();
  ASSERT_TRUE(run.ok()) << run.error().toString();
  const std::string id = run->run.id;
  RequestContext alice{
      .token = "ops", .role = "admin", .onBehalfOf = "alice", .reason = "warehouse down"};
  auto cancelled = engine_->cancel(id, alice);
  engine_->pump();
  ASSERT_TRUE(cancelled.get().ok());
  exec_.fail(0, FailureClass::kCancelled, 1);
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kCancelled);
  auto retried = engine_->retry(id, RequestContext{.token = "ops", .reason = "warehouse back"});
  engine_->pump();
  ASSERT_TRUE(retried.get().ok());

  auto events = store_->runEvents(id);
  ASSERT_TRUE(events.ok());
  std::map<std::string, std::pair<std::string, std::string>> who;  // kind -> actor, reason
  for (const auto& e : *events) who[e.kind] = {e.actor, e.reason};
  ASSERT_TRUE(who.count("attempt_started"));
  EXPECT_EQ(who["run_created"], std::make_pair(std::string("ci"), std::string("nightly catch-up")));
  EXPECT_EQ(who["run_cancel_requested"],
            std::make_pair(std::string("alice (token ops)"), std::string("warehouse down")));
  EXPECT_EQ(who["run_retried"], std::make_pair(std::string("ops"), std::string("warehouse back")));
  EXPECT_EQ(who["attempt_started"], std::make_pair(std::string(), std::string()))
      << "what keel does by itself names no one";
}

TEST_F(EngineTest, AKeyReplayedAfterANewVersionGetsItsRunAndOtherParamsConflict) {
  apply(workflow("keyed", R"(
params: { who: , tone: { default: calm } }
steps:
  - { name: a, noop: true }
)"));
  auto first = engine_->trigger({"keyed", {{"who", "ops"}}, "k1"});
  engine_->pump();
  auto r1 = first.get();
  ASSERT_TRUE(r1.ok()) << r1.error().toString();
  ASSERT_TRUE(r1->created);
  // The new version requires a param the original request did not have.
  apply(workflow("keyed", R"(
params: { who: , date: , tone: { default: calm } }
steps:
  - { name: a, noop: true }
)"));
  for (nlohmann::json same :
       {nlohmann::json{{"who", "ops"}}, nlohmann::json{{"who", "ops"}, {"tone", "calm"}}}) {
    auto again = engine_->trigger({"keyed", same, "k1"}).get();
    ASSERT_TRUE(again.ok()) << same.dump() << ": " << again.error().toString();
    EXPECT_FALSE(again->created);
    EXPECT_EQ(again->run.id, r1->run.id);
  }
  struct Case {
    nlohmann::json params;
    std::string difference;
  } cases[] = {
      {{{"who", "dev"}}, "param 'who': differs from the original request"},
      {nlohmann::json::object(), "param 'who': in the original request, missing from this one"},
      {{{"who", "ops"}, {"date", "2026-11-23"}}, "param 'date': not in the original request"},
      {{{"who", "ops"}, {"tone", "loud"}}, "param 'tone': differs from the original request"},
  };
  for (const Case& c : cases) {
    auto r = engine_->trigger({"keyed", c.params, "k1"}).get();
    ASSERT_FALSE(r.ok()) << c.params.dump();
    EXPECT_EQ(r.error().code(), ErrorCode::kIdempotencyConflict);
    EXPECT_NE(r.error().message().find(r1->run.id), std::string::npos) << r.error().message();
    EXPECT_EQ(r.error().details(), std::vector<std::string>{c.difference});
  }
}

TEST_F(EngineTest, ConcurrentTriggersWithOneKeyAndOtherParamsConflict) {
  apply(workflow("race", R"(
params: { who: }
steps:
  - { name: a, noop: true }
)"));
  auto a = engine_->trigger({"race", {{"who", "ops"}}, "k"});
  auto b = engine_->trigger({"race", {{"who", "dev"}}, "k"});
  auto c = engine_->trigger({"race", {{"who", "ops"}}, "k"});
  engine_->pump();
  auto ra = a.get();
  auto rb = b.get();
  auto rc = c.get();
  ASSERT_TRUE(ra.ok());
  EXPECT_TRUE(ra->created);
  ASSERT_FALSE(rb.ok()) << "another caller's run was returned for other params";
  EXPECT_EQ(rb.error().code(), ErrorCode::kIdempotencyConflict);
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(rc->run.id, ra->run.id);
  EXPECT_FALSE(rc->created);
}

TEST_F(EngineTest, CancellingASleepingRunLeavesNoAttemptRunning) {
  apply(workflow("dozing", R"(
steps:
  - { name: z, sleep: 1h }
  - { name: after, noop: true, needs: [z] }
)"));
  auto id = trigger("dozing");
  auto f = engine_->cancel(id, {});
  engine_->pump();
  ASSERT_TRUE(f.get().ok());
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kCancelled);
  ASSERT_EQ(d.attempts.size(), 1u);
  EXPECT_EQ(d.attempts[0].state, AttemptState::kFailed) << "the sleep's attempt stayed running";
  EXPECT_EQ(d.attempts[0].failureClass, FailureClass::kCancelled);
  EXPECT_TRUE(d.attempts[0].finishedAt.has_value());
}

TEST_F(EngineTest, ARunOfAStoredVersionThatNoLongerParsesFailsAndTheOthersRecover) {
  apply(workflow("good", "steps:\n  - { name: a, run: \"a\", timeout: 1m }\n"));
  auto good = trigger("good");
  // A version stored by another keel that this one cannot read, and a run of it.
  const std::string brokenRun = storeRunOfAnUnparseableVersion();

  crashAndRestart();  // start() succeeds
  ASSERT_TRUE(engine_->ready());
  auto d = detail(brokenRun);
  EXPECT_EQ(d.run.state, RunState::kFailed);
  EXPECT_NE(d.run.reason.find("workflow 'broken' version 1 cannot be loaded"), std::string::npos)
      << d.run.reason;
  EXPECT_NE(d.run.reason.find("no longer parses"), std::string::npos) << d.run.reason;
  EXPECT_EQ(step(d, "s").state, StepState::kDead);
  ASSERT_EQ(d.attempts.size(), 1u);
  EXPECT_EQ(d.attempts[0].state, AttemptState::kFailed);
  EXPECT_EQ(d.attempts[0].failureClass, FailureClass::kLost);
  // The other run went on: its lost attempt is retried.
  EXPECT_EQ(detail(good).run.state, RunState::kRunning);
  EXPECT_EQ(step(detail(good), "a").state, StepState::kRetrying);
  auto r = engine_->trigger({"broken", nlohmann::json::object(), ""}).get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(r.error().message().find("no longer parses"), std::string::npos);
  EXPECT_TRUE(trigger("good").size() > 0);
}

TEST_F(EngineTest, RecoveryLogsLostAttemptsAndUnloadableRunsWithTheirFields) {
  apply(workflow("good", "steps:\n  - { name: a, run: \"a\", timeout: 1m }\n"));
  auto good = trigger("good");
  const std::string brokenRun = storeRunOfAnUnparseableVersion();

  observe::LogCapture log("info");
  crashAndRestart();
  auto find = [&](const std::string& prefix, const std::string& runId) -> nlohmann::json {
    std::istringstream in(log.text());
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j["msg"].get<std::string>().rfind(prefix, 0) == 0 &&
          j.value("run_id", "") == runId)
        return j;
    }
    return {};
  };
  auto failed = find("run failed: workflow 'broken' version 1 cannot be loaded", brokenRun);
  ASSERT_FALSE(failed.is_null()) << log.text();
  EXPECT_EQ(failed["level"], "error");
  EXPECT_EQ(failed["workflow"], "broken");
  EXPECT_EQ(failed["version"], 1);
  EXPECT_EQ(failed["state"], "failed");
  auto lost = find("attempt lost", brokenRun);
  ASSERT_FALSE(lost.is_null()) << log.text();
  EXPECT_EQ(lost["workflow"], "broken");
  EXPECT_EQ(lost["step"], "s");
  EXPECT_EQ(lost["attempt"], 1);
  EXPECT_EQ(lost["class"], "lost");
  // The run that recovers: its running attempt is lost, then retried.
  auto goodLost = find("attempt failed: keel stopped", good);
  ASSERT_FALSE(goodLost.is_null()) << log.text();
  EXPECT_EQ(goodLost["workflow"], "good");
  EXPECT_EQ(goodLost["step"], "a");
  EXPECT_EQ(goodLost["attempt"], 1);
  EXPECT_EQ(goodLost["class"], "lost");
}

TEST_F(EngineTest, CountsReachTheRegistryAndARestartedEngineReplacesThem) {
  apply(workflow("once", R"(
steps:
  - { name: a, run: "a", timeout: 1m }
)"));
  trigger("once");
  trigger("once");
  // Two runs in memory as soon as they are created, not only once one ends.
  EXPECT_NE(metrics_.render().find("\nkeel_runs_active 2\n"), std::string::npos)
      << metrics_.render();
  exec_.fail(0, FailureClass::kBadInput, 65);  // not retried: the run fails
  exec_.succeed(1);
  engine_->pump();
  std::string text = metrics_.render();
  for (const char* line : {"keel_runs_created_total 2\n",
                           "keel_runs_finished_total{state=\"failed\",workflow=\"once\"} 1\n",
                           "keel_runs_finished_total{state=\"succeeded\",workflow=\"once\"} 1\n",
                           "keel_attempts_started_total 2\n",
                           "keel_attempts_failed_total{class=\"bad_input\",workflow=\"once\"} 1\n",
                           "keel_store_commit_failures_total 0\n", "keel_engine_timers_pending 0\n",
                           "# TYPE keel_runs_created_total counter\n",
                           "# TYPE keel_runs_active gauge\n", "# HELP keel_store_commits_total "})
    EXPECT_NE(text.find(line), std::string::npos) << line << " in\n" << text;
  // The engine that replaces this one registers its series again, from 0.
  crashAndRestart();
  text = metrics_.render();
  EXPECT_NE(text.find("keel_runs_created_total 0\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace keel::engine::test
