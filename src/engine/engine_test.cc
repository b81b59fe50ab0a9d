// Engine behaviour: runs, steps, retries, cancels, params, recovery, logs.
#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

using namespace std::chrono_literals;

TEST_F(EngineTest, NoopChainCompletesInOneCommit) {
  apply(workflow("chain", R"(
steps:
  - { name: a, noop: true }
  - { name: b, noop: true, needs: [a] }
  - { name: c, noop: true, needs: [b] }
)"));
  uint64_t before = engine_->stats().commits;
  auto id = trigger("chain");
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kSucceeded);
  for (const auto& s : d.steps) EXPECT_EQ(s.state, StepState::kSucceeded) << s.name;
  EXPECT_EQ(engine_->stats().commits - before, 1u);
}

TEST_F(EngineTest, RunStepsGetEnvironmentAndOutputsFlowDownstream) {
  apply(workflow("etl", R"(
params: { date: }
steps:
  - { name: fetch, run: "fetch {{ params.date }}", timeout: 1m }
  - { name: load, run: "load {{ steps.fetch.output.path }}", needs: [fetch], timeout: 1m }
)"));
  auto id = trigger("etl", {{"date", "2026-11-23"}});
  ASSERT_EQ(exec_.started.size(), 1u);
  const auto& req = exec_.started[0].request;
  EXPECT_EQ(req.command, "fetch '2026-11-23'");
  EXPECT_EQ(req.env.at("KEEL_RUN_ID"), id);
  EXPECT_EQ(req.env.at("KEEL_STEP"), "fetch");
  EXPECT_EQ(req.env.at("KEEL_ATTEMPT"), "1");
  EXPECT_EQ(req.env.at("KEEL_PARAM_DATE"), "2026-11-23");
  EXPECT_FALSE(req.env.at("KEEL_IDEMPOTENCY_KEY").empty());
  exec_.succeed(0, R"({"path": "/data/x.csv"})");
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 2u);
  EXPECT_EQ(exec_.started[1].request.command, "load '/data/x.csv'");
  EXPECT_EQ(exec_.started[1].request.env.at("KEEL_OUTPUT_FETCH"), R"({"path":"/data/x.csv"})");
  // (exec_.started grew: read the first request again, not through `req`.)
  EXPECT_EQ(exec_.started[0].request.env.count("KEEL_OUTPUT_FETCH"), 0u);
  exec_.succeed(1);
  engine_->pump();
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kSucceeded);
  EXPECT_EQ(step(d, "fetch").outputJson, R"({"path": "/data/x.csv"})");
  auto logs = store_->stepLogs(id, "fetch");
  ASSERT_TRUE(logs.ok());
  ASSERT_EQ(logs->size(), 1u);
  EXPECT_EQ((*logs)[0].stdoutText, "hello from fetch");
}

TEST_F(EngineTest, FailedAttemptIsRetriedAfterBackoffWithTheSameIdempotencyKey) {
  apply(workflow("flaky", R"(
steps:
  - name: call
    run: "call"
    timeout: 1m
    retry: { max_attempts: 3, backoff: fixed, initial: 10s, jitter: none }
)"));
  auto id = trigger("flaky");
  exec_.fail(0, FailureClass::kError, 1);
  engine_->pump();
  auto d = detail(id);
  EXPECT_EQ(step(d, "call").state, StepState::kRetrying);
  ASSERT_TRUE(step(d, "call").dueAt.has_value());
  clock_.advance(9s);
  engine_->pump();
  EXPECT_EQ(exec_.started.size(), 1u) << "retried before its backoff elapsed";
  clock_.advance(1s);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 2u);
  EXPECT_EQ(exec_.started[1].request.env.at("KEEL_ATTEMPT"), "2");
  EXPECT_EQ(exec_.started[1].request.env.at("KEEL_IDEMPOTENCY_KEY"),
            exec_.started[0].request.env.at("KEEL_IDEMPOTENCY_KEY"));
  exec_.succeed(1);
  engine_->pump();
  d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kSucceeded);
  ASSERT_EQ(d.attempts.size(), 2u);
  EXPECT_EQ(d.attempts[0].failureClass, FailureClass::kError);
  EXPECT_EQ(d.attempts[1].state, AttemptState::kSucceeded);
}

TEST_F(EngineTest, BadInputIsNotRetriedAndSkipsDependantsButNotOtherBranches) {
  apply(workflow("branches", R"(
steps:
  - { name: a, run: "a", timeout: 1m }
  - { name: b, run: "b", needs: [a], timeout: 1m }
  - { name: c, run: "c", needs: [b], timeout: 1m }
  - { name: side, run: "side", timeout: 1m }
)"));
  auto id = trigger("branches");
  ASSERT_EQ(exec_.started.size(), 2u);
  size_t a = exec_.started[0].request.step == "a" ? 0 : 1;
  exec_.fail(a, FailureClass::kBadInput, 65);
  engine_->pump();
  auto d = detail(id);
  EXPECT_EQ(step(d, "a").state, StepState::kDead);
  EXPECT_EQ(step(d, "b").state, StepState::kSkipped);
  EXPECT_EQ(step(d, "c").state, StepState::kSkipped);
  EXPECT_EQ(d.run.state, RunState::kRunning) << "the side branch is still running";
  exec_.succeed(1 - a);
  engine_->pump();
  d = detail(id);
  EXPECT_EQ(step(d, "side").state, StepState::kSucceeded);
  EXPECT_EQ(d.run.state, RunState::kFailed);
  EXPECT_NE(d.run.reason.find("step 'a' failed"), std::string::npos) << d.run.reason;
}

TEST_F(EngineTest, FailedAttemptsAndRunEndsAreLoggedWithTheirFields) {
  observe::LogCapture log("info");
  apply(workflow("logged", R"(
steps:
  - { name: "load", run: "a", timeout: 1m, retry: { max_attempts: 1 } }
)"));
  auto id = trigger("logged");
  exec_.fail(0, FailureClass::kBadInput, 65);
  engine_->pump();
  std::vector<nlohmann::json> lines;
  std::istringstream in(log.text());
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    lines.push_back(j);
  }
  auto find = [&](const std::string& prefix) -> nlohmann::json {
    for (const auto& j : lines)
      if (j["msg"].get<std::string>().rfind(prefix, 0) == 0) return j;
    return {};
  };
  auto attempt = find("attempt failed");
  ASSERT_FALSE(attempt.is_null()) << log.text();
  EXPECT_EQ(attempt["run_id"], id);
  EXPECT_EQ(attempt["workflow"], "logged");
  EXPECT_EQ(attempt["step"], "load");
  EXPECT_EQ(attempt["attempt"], 1);
  EXPECT_EQ(attempt["class"], "bad_input");
  auto end = find("run failed");
  ASSERT_FALSE(end.is_null()) << log.text();
  EXPECT_EQ(end["run_id"], id);
  EXPECT_EQ(end["state"], "failed");
  EXPECT_EQ(end["step"], "load");
  EXPECT_EQ(end["class"], "bad_input");
}

TEST_F(EngineTest, TimeoutStopsTheAttemptAndClassifiesIt) {
  apply(workflow("slow", R"(
steps:
  - { name: s, run: "sleep 100", timeout: 30s, retry: { max_attempts: 1 } }
)"));
  auto id = trigger("slow");
  clock_.advance(29s);
  engine_->pump();
  EXPECT_TRUE(exec_.stops.empty());
  clock_.advance(1s);
  engine_->pump();
  ASSERT_EQ(exec_.stops.size(), 1u);
  EXPECT_EQ(exec_.stops[0].second, FailureClass::kTimeout);
  engine_->pump();
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kFailed);
  EXPECT_EQ(d.attempts.at(0).failureClass, FailureClass::kTimeout);
}

TEST_F(EngineTest, SameIdempotencyKeyGivesOneRun) {
  apply(workflow("once", "steps:\n  - { name: a, noop: true }\n"));
  std::vector<std::future<Result<TriggerResult>>> fs;
  for (int i = 0; i < 20; ++i) fs.push_back(engine_->trigger({"once", {}, "key-1"}));
  engine_->pump();
  std::set<std::string> ids;
  int created = 0;
  for (auto& f : fs) {
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.error().toString();
    ids.insert(r->run.id);
    created += r->created;
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(created, 1);
  auto again = engine_->trigger({"once", {}, "key-1"}).get();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->run.id, *ids.begin());
}

TEST_F(EngineTest, ConcurrencyKeyHoldsTheStepsOfExtraRunsUntilASlotFrees) {
  apply(workflow("regional", R"(
concurrency: { key: "{{ params.region }}", limit: 1 }
steps:
  - { name: a, run: "a", timeout: 1m }
)"));
  auto r1 = trigger("regional", {{"region", "eu"}});
  auto r2 = trigger("regional", {{"region", "eu"}});
  auto r3 = trigger("regional", {{"region", "us"}});
  EXPECT_EQ(exec_.started.size(), 2u);
  auto d2 = detail(r2);
  const std::string why = "concurrency key 'eu' is at its limit of 1, held by run " + r1;
  EXPECT_EQ(d2.run.state, RunState::kRunning) << "a run waiting for its key starts";
  EXPECT_EQ(step(d2, "a").state, StepState::kReady);
  EXPECT_EQ(step(d2, "a").waitKind, "concurrency");
  EXPECT_EQ(step(d2, "a").waitReason, why);
  EXPECT_EQ(step(d2, "a").reason, why);
  EXPECT_TRUE(d2.attempts.empty()) << "a held step was recorded as an attempt";
  EXPECT_EQ(d2.run.waitKind, "concurrency") << "the run says what its steps wait for";
  EXPECT_EQ(d2.run.waitReason, why);
  EXPECT_EQ(detail(r1).run.waitKind, "");
  EXPECT_EQ(step(detail(r1), "a").waitKind, "");
  exec_.succeed(0);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 3u);
  EXPECT_EQ(exec_.started[2].request.runId, r2);
  d2 = detail(r2);
  EXPECT_EQ(step(d2, "a").state, StepState::kRunning);
  EXPECT_EQ(step(d2, "a").waitKind, "") << "a dispatched step still says it waits";
  EXPECT_EQ(step(d2, "a").waitReason, "");
  EXPECT_EQ(d2.run.waitKind, "") << "a run holding its slot still says it waits";
  EXPECT_EQ(d2.run.waitReason, "");
  EXPECT_EQ(detail(r1).run.state, RunState::kSucceeded);
  EXPECT_EQ(detail(r3).run.state, RunState::kRunning);
  auto events = store_->runEvents(r2);
  ASSERT_TRUE(events.ok());
  std::vector<std::string> kinds;
  for (const auto& e : *events) kinds.push_back(e.kind);
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "run_queued"), kinds.end());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "run_admitted"), kinds.end());
}

TEST_F(EngineTest, ARunKeepsItsSlotFromItsFirstStepToItsEnd) {
  apply(workflow("chain", R"(
concurrency: { key: "all", limit: 1 }
steps:
  - { name: a, run: "a", timeout: 1m }
  - { name: b, run: "b", needs: [a], timeout: 1m }
)"));
  auto holder = trigger("chain");
  auto waiter = trigger("chain");
  ASSERT_EQ(exec_.started.size(), 1u);
  exec_.succeed(0);  // between a and b the holder keeps its slot
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 2u);
  EXPECT_EQ(exec_.started[1].request.runId, holder);
  EXPECT_EQ(exec_.started[1].request.step, "b");
  EXPECT_EQ(step(detail(waiter), "a").waitKind, "concurrency");
  exec_.succeed(1);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 3u);
  EXPECT_EQ(exec_.started[2].request.runId, waiter);
  EXPECT_EQ(exec_.started[2].request.step, "a");
}

TEST_F(EngineTest, RunsWaitingForAKeyTakeItInOrderAndACancelledOneLeavesTheQueue) {
  apply(workflow("fifo", R"(
concurrency: { key: "all", limit: 2 }
steps:
  - { name: a, run: "a", timeout: 1m, retry: { max_attempts: 1 } }
)"));
  auto h1 = trigger("fifo");
  auto h2 = trigger("fifo");
  std::vector<std::string> waiting;
  for (int i = 0; i < 4; ++i) waiting.push_back(trigger("fifo"));
  ASSERT_EQ(exec_.started.size(), 2u);
  EXPECT_EQ(step(detail(waiting[3]), "a").waitReason,
            "concurrency key 'all' is at its limit of 2, held by runs " + h1 + ", " + h2);
  auto cancelled = engine_->cancel(waiting[1], {});
  engine_->pump();
  ASSERT_TRUE(cancelled.get().ok());
  EXPECT_EQ(detail(waiting[1]).run.state, RunState::kCancelled);
  EXPECT_EQ(step(detail(waiting[1]), "a").state, StepState::kSkipped);
  exec_.fail(1, FailureClass::kError, 1);  // a failed run frees its slot too
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 3u);
  EXPECT_EQ(exec_.started[2].request.runId, waiting[0]);
  EXPECT_EQ(step(detail(waiting[2]), "a").waitReason,
            "concurrency key 'all' is at its limit of 2, held by runs " + h1 + ", " + waiting[0]);
  exec_.succeed(0);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 4u);
  EXPECT_EQ(exec_.started[3].request.runId, waiting[2]);
  exec_.succeed(2);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 5u);
  EXPECT_EQ(exec_.started[4].request.runId, waiting[3]);
  EXPECT_EQ(exec_.started.size(), 5u) << "the cancelled run started";
}

TEST_F(EngineTest, AHeldStepStillWaitsAfterACrashAndGoesWhenTheSlotFrees) {
  exec_.keepAcrossRestart = true;
  apply(workflow("kept", R"(
concurrency: { key: "all", limit: 1 }
steps:
  - { name: a, run: "a", timeout: 1m }
)"));
  auto holder = trigger("kept");
  auto waiter = trigger("kept");
  ASSERT_EQ(exec_.started.size(), 1u);
  crashAndRestart();
  ASSERT_EQ(exec_.started.size(), 1u) << "the held step started after the restart";
  ASSERT_TRUE(exec_.started[0].reattached.has_value());
  EXPECT_EQ(exec_.started[0].request.runId, holder);
  auto d = detail(waiter);
  EXPECT_EQ(d.run.state, RunState::kRunning);
  EXPECT_EQ(step(d, "a").state, StepState::kReady);
  EXPECT_EQ(step(d, "a").waitKind, "concurrency");
  EXPECT_EQ(step(d, "a").waitReason,
            "concurrency key 'all' is at its limit of 1, held by run " + holder);
  exec_.succeed(0);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 2u);
  EXPECT_EQ(exec_.started[1].request.runId, waiter);
  exec_.succeed(1);
  engine_->pump();
  EXPECT_EQ(detail(waiter).run.state, RunState::kSucceeded);
}

TEST_F(EngineTest, ARunHalfwayThroughKeepsItsSlotAcrossARestart) {
  apply(workflow("halfway", R"(
concurrency: { key: "all", limit: 1 }
steps:
  - { name: a, run: "a", timeout: 1m }
  - { name: b, sleep: 1m, needs: [a] }
  - { name: c, run: "c", needs: [b], timeout: 1m }
)"));
  auto holder = trigger("halfway");
  auto waiter = trigger("halfway");
  exec_.succeed(0);
  engine_->pump();  // the holder sleeps, nothing of it runs
  ASSERT_EQ(exec_.started.size(), 1u);
  stopAndRestart();
  EXPECT_TRUE(exec_.started.empty()) << "the waiting run took the slot of a sleeping one";
  EXPECT_EQ(step(detail(waiter), "a").waitKind, "concurrency");
  clock_.advance(1min);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 1u);
  EXPECT_EQ(exec_.started[0].request.runId, holder);
  EXPECT_EQ(exec_.started[0].request.step, "c");
  exec_.succeed(0);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 2u);
  EXPECT_EQ(exec_.started[1].request.runId, waiter);
}

TEST_F(EngineTest, RunsWaitingForASlotAreAdmittedInTheirOriginalOrderAfterARestart) {
  apply(workflow("queued", R"(
concurrency: { key: "all", limit: 1 }
steps:
  - { name: a, run: "a", timeout: 1m, retry: { max_attempts: 1 } }
)"));
  auto holder = trigger("queued");
  std::vector<std::string> waiting;  // created within one millisecond
  for (int i = 0; i < 6; ++i) waiting.push_back(trigger("queued"));
  ASSERT_EQ(exec_.started.size(), 1u);
  stopAndRestart();  // the holder's attempt is lost, and it fails
  EXPECT_EQ(detail(holder).run.state, RunState::kFailed);
  std::vector<std::string> admitted;
  while (exec_.started.size() > admitted.size()) {
    admitted.push_back(exec_.started[admitted.size()].request.runId);
    exec_.succeed(admitted.size() - 1);
    engine_->pump();
  }
  EXPECT_EQ(admitted, waiting);
}

TEST_F(EngineTest, CrashRecoveryClosesRunningAttemptAsLostAndNeverRerunsCompletedSteps) {
  apply(workflow("durable", R"(
steps:
  - { name: a, run: "a", timeout: 1m }
  - { name: b, run: "b", needs: [a], timeout: 1m, retry: { max_attempts: 3, backoff: fixed, initial: 1s, jitter: none } }
)"));
  auto id = trigger("durable");
  exec_.succeed(0);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 2u);  // b is running
  crashAndRestart();
  auto d = detail(id);
  EXPECT_EQ(step(d, "a").state, StepState::kSucceeded);
  EXPECT_EQ(step(d, "b").state, StepState::kRetrying);
  ASSERT_GE(d.attempts.size(), 2u);
  EXPECT_EQ(d.attempts[1].failureClass, FailureClass::kLost);
  clock_.advance(1s);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 1u);
  EXPECT_EQ(exec_.started[0].request.step, "b") << "a completed step ran again";
  EXPECT_EQ(exec_.started[0].request.attempt, 2);
  exec_.succeed(0);
  engine_->pump();
  EXPECT_EQ(detail(id).run.state, RunState::kSucceeded);
}

TEST_F(EngineTest, CancelStopsRunningStepsAndSkipsTheRest) {
  apply(workflow("long", R"(
steps:
  - { name: a, run: "a", timeout: 1h }
  - { name: b, run: "b", needs: [a], timeout: 1m }
)"));
  auto id = trigger("long");
  auto f = engine_->cancel(id, {});
  engine_->pump();
  auto r = f.get();
  ASSERT_TRUE(r.ok()) << r.error().toString();
  engine_->pump();
  ASSERT_EQ(exec_.stops.size(), 1u);
  EXPECT_EQ(exec_.stops[0].second, FailureClass::kCancelled);
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kCancelled);
  EXPECT_EQ(step(d, "b").state, StepState::kSkipped);
  auto again = engine_->cancel(id, {});
  engine_->pump();
  EXPECT_EQ(again.get().error().code(), ErrorCode::kConflict);
}

TEST_F(EngineTest, RetryRerunsOnlyFailedStepsOfAFinishedRun) {
  apply(workflow("fixme", R"(
steps:
  - { name: a, run: "a", timeout: 1m }
  - { name: b, run: "b", needs: [a], timeout: 1m, retry: { max_attempts: 1 } }
  - { name: c, run: "c", needs: [b], timeout: 1m }
)"));
  auto id = trigger("fixme");
  exec_.succeed(0);
  engine_->pump();
  exec_.fail(1, FailureClass::kError, 1);
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kFailed);
  auto f = engine_->retry(id, {});
  engine_->pump();
  auto r = f.get();
  ASSERT_TRUE(r.ok()) << r.error().toString();
  ASSERT_EQ(exec_.started.size(), 3u);
  EXPECT_EQ(exec_.started[2].request.step, "b");
  EXPECT_EQ(exec_.started[2].request.attempt, 2);
  exec_.succeed(2);
  engine_->pump();
  exec_.succeed(3);
  engine_->pump();
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kSucceeded);
  EXPECT_EQ(step(d, "a").attempts, 1);
}

TEST_F(EngineTest, CancellingARetriedRunThatWaitsForItsSlotKeepsSucceededSteps) {
  apply(workflow("slotted", R"(
concurrency: { key: "all", limit: 1 }
steps:
  - { name: a, run: "a", timeout: 1m }
  - { name: b, run: "b", needs: [a], timeout: 1m, retry: { max_attempts: 1 } }
)"));
  auto first = trigger("slotted");
  exec_.succeed(0);
  engine_->pump();
  exec_.fail(1, FailureClass::kError, 1);
  engine_->pump();
  ASSERT_EQ(detail(first).run.state, RunState::kFailed);
  auto holder = trigger("slotted");  // takes the only slot
  auto retried = engine_->retry(first, {});
  engine_->pump();
  ASSERT_TRUE(retried.get().ok());
  ASSERT_EQ(step(detail(first), "b").waitKind, "concurrency");
  auto cancelled = engine_->cancel(first, {});
  engine_->pump();
  ASSERT_TRUE(cancelled.get().ok());
  auto d = detail(first);
  EXPECT_EQ(d.run.state, RunState::kCancelled);
  EXPECT_EQ(step(d, "a").state, StepState::kSucceeded) << "a finished step was rewritten";
  EXPECT_EQ(step(d, "b").state, StepState::kSkipped);
  EXPECT_EQ(detail(holder).run.state, RunState::kRunning);
}

TEST_F(EngineTest, MissingParamIsBadInputAtTriggerTime) {
  apply(workflow("needs-date", R"(
steps:
  - { name: a, run: "echo {{ params.date }}", timeout: 1m }
)"));
  auto r = engine_->trigger({"needs-date", nlohmann::json::object(), ""}).get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().toString().find("date"), std::string::npos);
  auto unknown = engine_->trigger({"nope", nlohmann::json::object(), ""}).get();
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
}

TEST_F(EngineTest, HostileParamsAreOneShellWordAndBadValuesAreRefusedAtTrigger) {
  apply(workflow("quoted", R"(
params: { sub: , other: { default: x } }
steps:
  - { name: a, run: "printf %s {{ params.sub }} > out", timeout: 1m, pass_env: [AWS_PROFILE] }
)"));
  trigger("quoted", {{"sub", "x'; touch F; echo '"}});
  ASSERT_EQ(exec_.started.size(), 1u);
  EXPECT_EQ(exec_.started[0].request.command, R"(printf %s 'x'\''; touch F; echo '\''' > out)");
  EXPECT_EQ(exec_.started[0].request.env.at("KEEL_PARAM_SUB"), "x'; touch F; echo '");
  EXPECT_EQ(exec_.started[0].request.passEnv, std::vector<std::string>{"AWS_PROFILE"});
  trigger("quoted", {{"sub", std::string(spec::kMaxParamBytes, 'v')}});
  EXPECT_EQ(exec_.started.size(), 2u);

  struct Case {
    nlohmann::json value;
    std::string problem;
  } cases[] = {
      {std::string("abc\0def", 7), "param 'sub': contains a NUL byte at offset 3"},
      {std::string("ab\xFF"), "param 'sub': is not valid UTF-8 (bad byte at offset 2)"},
      {std::string(spec::kMaxParamBytes + 1, 'v'),
       "param 'sub': is 65537 bytes long; the limit is 65536 bytes"},
  };
  for (const Case& c : cases) {
    auto r = engine_->trigger({"quoted", {{"sub", c.value}}, ""}).get();
    ASSERT_FALSE(r.ok()) << c.problem;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().details(), std::vector<std::string>{c.problem});
  }
  engine_->pump();
  EXPECT_EQ(exec_.started.size(), 2u) << "a refused trigger started a step";
  auto runs = store_->listRuns({});
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->size(), 2u);
}

TEST_F(EngineTest, UpstreamOutputWithANulByteFailsTheConsumerAsBadInput) {
  apply(workflow("nul-output", R"(
steps:
  - { name: up, run: "up", timeout: 1m }
  - { name: down, run: "echo {{ steps.up.output.v }}", needs: [up], timeout: 1m }
)"));
  auto id = trigger("nul-output");
  exec_.succeed(0, R"({"v": "ab\u0000; touch F"})");
  engine_->pump();
  EXPECT_EQ(exec_.started.size(), 1u) << "the consumer was started";
  auto d = detail(id);
  EXPECT_EQ(step(d, "down").state, StepState::kDead);
  EXPECT_EQ(step(d, "down").attempts, 1) << "bad input was retried";
  ASSERT_FALSE(d.attempts.empty());
  const auto& last = d.attempts.back();
  EXPECT_EQ(last.step, "down");
  EXPECT_EQ(last.failureClass, FailureClass::kBadInput);
  EXPECT_EQ(last.message,
            "run: {{ steps.up.output.v }}: the value contains a NUL byte at offset 2");
}

TEST_F(EngineTest, SleepStepWaitsOnTheClockAndSurvivesRestart) {
  apply(workflow("nap", R"(
steps:
  - { name: z, sleep: 1m }
  - { name: after, noop: true, needs: [z] }
)"));
  auto id = trigger("nap");
  EXPECT_EQ(step(detail(id), "z").state, StepState::kWaiting);
  crashAndRestart();
  clock_.advance(59s);
  engine_->pump();
  EXPECT_EQ(detail(id).run.state, RunState::kRunning);
  clock_.advance(1s);
  engine_->pump();
  EXPECT_EQ(detail(id).run.state, RunState::kSucceeded);
}

TEST_F(EngineTest, StepsBeyondTheParallelLimitWaitReadyWithoutAnAttempt) {
  maxParallel_ = 1;
  crashAndRestart();
  apply(workflow("busy", "steps:\n  - { name: a, run: \"a\", timeout: 1m }\n"));
  auto r1 = trigger("busy");
  auto r2 = trigger("busy");
  ASSERT_EQ(exec_.started.size(), 1u);
  auto d2 = detail(r2);
  EXPECT_EQ(step(d2, "a").state, StepState::kReady);
  EXPECT_EQ(step(d2, "a").attempts, 0);
  EXPECT_NE(step(d2, "a").reason.find("slots are busy"), std::string::npos);
  EXPECT_TRUE(d2.attempts.empty()) << "a queued step was recorded as an attempt";
  // A crash now loses the running attempt of r1, and nothing of r2: after
  // the restart r2 takes the free slot with its first attempt.
  crashAndRestart();
  ASSERT_EQ(exec_.started.size(), 1u);
  EXPECT_EQ(exec_.started[0].request.runId, r2);
  EXPECT_EQ(exec_.started[0].request.attempt, 1);
  exec_.succeed(0);
  clock_.advance(std::chrono::minutes(2));
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 2u);
  EXPECT_EQ(exec_.started[1].request.runId, r1);
  EXPECT_EQ(exec_.started[1].request.attempt, 2);
  exec_.succeed(1);
  engine_->pump();
  EXPECT_EQ(detail(r1).run.state, RunState::kSucceeded);
  EXPECT_EQ(detail(r2).run.state, RunState::kSucceeded);
}

// The --max-parallel gate: a held step says why in the store, the wait
// is durable, it is held again after a restart while no slot is free,
// and it goes (its wait cleared) once a slot frees.
TEST_F(EngineTest, AStepHeldByMaxParallelKeepsItsWaitAcrossARestartAndGoesWhenASlotFrees) {
  maxParallel_ = 1;
  crashAndRestart();
  apply(workflow("busy", "steps:\n  - { name: a, run: \"a\", timeout: 1m }\n"));
  auto r1 = trigger("busy");
  auto r2 = trigger("busy");
  auto r3 = trigger("busy");
  ASSERT_EQ(exec_.started.size(), 1u);
  EXPECT_EQ(step(detail(r1), "a").waitKind, "");
  for (const auto& id : {r2, r3}) {
    auto d = detail(id);
    EXPECT_EQ(step(d, "a").state, StepState::kReady);
    EXPECT_EQ(step(d, "a").waitKind, "max_parallel");
    EXPECT_EQ(step(d, "a").waitReason, "queued: all 1 step slots are busy");
  }
  // What the file holds with no engine running.
  engine_.reset();
  flaky_.reset();
  store_.reset();
  exec_.started.clear();
  {
    auto file = store::openSqliteStore(dir_.file("keel.db"));
    ASSERT_TRUE(file.ok()) << file.error().toString();
    auto d = (*file)->getRun(r2);
    ASSERT_TRUE(d.ok() && d->has_value());
    EXPECT_EQ((*d)->steps[0].waitKind, "max_parallel");
    EXPECT_EQ((*d)->steps[0].waitReason, "queued: all 1 step slots are busy");
  }
  openEngine();
  engine_->pump();
  // r1's attempt was lost and waits for its retry; one of r2 and r3 took
  // the slot, the other is held again.
  ASSERT_EQ(exec_.started.size(), 1u);
  std::string first = exec_.started[0].request.runId;
  ASSERT_TRUE(first == r2 || first == r3) << first;
  std::string held = first == r2 ? r3 : r2;
  EXPECT_EQ(step(detail(first), "a").state, StepState::kRunning);
  EXPECT_EQ(step(detail(first), "a").waitKind, "");
  EXPECT_EQ(step(detail(first), "a").waitReason, "");
  EXPECT_EQ(step(detail(held), "a").state, StepState::kReady);
  EXPECT_EQ(step(detail(held), "a").waitKind, "max_parallel");
  exec_.succeed(0);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 2u);
  EXPECT_EQ(exec_.started[1].request.runId, held);
  auto d = detail(held);
  EXPECT_EQ(step(d, "a").state, StepState::kRunning);
  EXPECT_EQ(step(d, "a").waitKind, "");
  EXPECT_EQ(step(d, "a").waitReason, "");
}

// A cancel is kept in its own column, and that column (not the run's
// reason text) is what a restart reads.
TEST_F(EngineTest, ACancelSurvivesARestartThroughItsOwnColumn) {
  apply(workflow("long", R"(
steps:
  - name: a
    run: "a"
    timeout: 1h
    retry: { max_attempts: 3, backoff: fixed, initial: 1s, jitter: none }
)"));
  auto id = trigger("long");
  ASSERT_EQ(exec_.started.size(), 1u);
  engine_.reset();  // a crash while the step runs
  {
    auto d = detail(id);
    d.run.cancelReason = "cancel requested";
    d.run.reason = "something else entirely";
    store::Batch b;
    b.mutations = {store::PutRun{d.run}};
    ASSERT_TRUE(store_->apply(b).ok());
  }
  crashAndRestart();
  clock_.advance(std::chrono::minutes(1));
  engine_->pump();
  EXPECT_TRUE(exec_.started.empty()) << "a cancelled run's lost attempt was retried";
  EXPECT_EQ(detail(id).run.state, RunState::kCancelled);
}

TEST_F(EngineTest, ACancelIsStoredInItsOwnColumnAndARetryClearsIt) {
  apply(workflow("long", "steps:\n  - { name: a, run: \"a\", timeout: 1h }\n"));
  auto id = trigger("long");
  auto f = engine_->cancel(id, {});
  engine_->pump();
  ASSERT_TRUE(f.get().ok());
  engine_->pump();
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kCancelled);
  EXPECT_EQ(d.run.cancelReason, "cancel requested");
  auto r = engine_->retry(id, {});
  engine_->pump();
  ASSERT_TRUE(r.get().ok());
  engine_->pump();
  EXPECT_EQ(detail(id).run.cancelReason, "");
  EXPECT_EQ(detail(id).run.state, RunState::kRunning);
}

}  // namespace
}  // namespace keel::engine::test
