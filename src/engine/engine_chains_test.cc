// After (chain) triggers: a run's end starts the runs of the workflows
// whose latest version has a matching `after:` trigger, in the same batch;
// each trigger fires at most once per upstream run, across retries and
// restarts; cycles are refused when a workflow is applied.
#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

using nlohmann::json;

// fetch writes an output; check can fail for good (one attempt).
constexpr const char* kUpstream = R"(
steps:
  - { name: fetch, run: "fetch", timeout: 1m }
  - { name: check, run: "check", needs: [fetch], timeout: 1m, retry: { max_attempts: 1 } }
)";

constexpr const char* kOnSuccess = R"(
params: { path: , from: }
triggers:
  - after: { workflow: up, state: succeeded }
    params:
      path: "{{ upstream.steps.fetch.output.path }}"
      from: "{{ upstream.workflow }}/{{ upstream.run_id }}/{{ upstream.state }}"
steps:
  - { name: load, run: "load {{ params.path }}", timeout: 1m }
)";

constexpr const char* kOnFailure = R"(
triggers:
  - after: { workflow: up, state: failed }
steps:
  - { name: page, run: "page", timeout: 1m }
)";

constexpr const char* kOnAnyEnd = R"(
params: { state: }
triggers:
  - after: { workflow: up, state: finished }
    params: { state: "{{ upstream.state }}" }
steps:
  - { name: note, run: "note", timeout: 1m }
)";

class EngineChainsTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    apply(workflow("up", kUpstream));
    apply(workflow("down", kOnSuccess));
    apply(workflow("paged", kOnFailure));
    apply(workflow("noted", kOnAnyEnd));
  }
  // The index in exec_.started of the last attempt of `step` of run `id`.
  size_t started(const std::string& id, const std::string& step) {
    for (size_t i = exec_.started.size(); i-- > 0;)
      if (exec_.started[i].request.runId == id && exec_.started[i].request.step == step) return i;
    ADD_FAILURE() << "step " << step << " of run " << id << " never started";
    return 0;
  }
  std::vector<store::RunRow> runsOf(const std::string& wf) {
    store::RunFilter f;
    f.workflow = wf;
    auto runs = store_->listRuns(f);
    EXPECT_TRUE(runs.ok());
    return runs.ok() ? *runs : std::vector<store::RunRow>{};
  }
  bool hasEvent(const std::string& runId, const std::string& kind, const std::string& text) {
    auto events = store_->runEvents(runId);
    EXPECT_TRUE(events.ok());
    for (const auto& e : *events)
      if (e.kind == kind && e.message.find(text) != std::string::npos) return true;
    return false;
  }
  // Runs `up` to its end: fetch succeeds with an output, check as told.
  std::string runUp(bool checkSucceeds) {
    auto id = trigger("up");
    exec_.succeed(started(id, "fetch"), R"({"path": "/d/x y.csv"})");
    engine_->pump();
    if (checkSucceeds)
      exec_.succeed(started(id, "check"));
    else
      exec_.fail(started(id, "check"), FailureClass::kError, 1);
    engine_->pump();
    return id;
  }
  void retryUp(const std::string& id) {
    auto f = engine_->retry(id, {});
    engine_->pump();
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.error().toString();
  }
};

TEST_F(EngineChainsTest, ASucceededRunStartsItsSuccessorsWithUpstreamParams) {
  auto up = runUp(true);
  ASSERT_EQ(detail(up).run.state, RunState::kSucceeded);
  auto down = runsOf("down");
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].idempotencyKey, "after:" + up + ":down:0");
  EXPECT_EQ(json::parse(down[0].paramsJson),
            json({{"path", "/d/x y.csv"}, {"from", "up/" + up + "/succeeded"}}));
  EXPECT_EQ(exec_.started[started(down[0].id, "load")].request.command, "load '/d/x y.csv'");
  EXPECT_TRUE(hasEvent(down[0].id, "started_after_run",
                       "started after run " + up + " (workflow up) ended succeeded"));
  EXPECT_TRUE(hasEvent(up, "after_trigger_started",
                       "started run " + down[0].id + " of workflow down (after-trigger 1)"));
  auto noted = runsOf("noted");  // finished: any end
  ASSERT_EQ(noted.size(), 1u);
  EXPECT_EQ(json::parse(noted[0].paramsJson), json({{"state", "succeeded"}}));
  EXPECT_TRUE(runsOf("paged").empty());
  // A run of another workflow starts nothing.
  auto other = runUp(true);
  EXPECT_EQ(runsOf("down").size(), 2u);
  auto d = runsOf("down");
  exec_.succeed(started(d[0].id, "load"));
  engine_->pump();
  EXPECT_EQ(runsOf("down").size(), 2u) << other;
}

TEST_F(EngineChainsTest, AFailedRunStartsFailedAndFinishedTriggersOnly) {
  auto up = runUp(false);
  ASSERT_EQ(detail(up).run.state, RunState::kFailed);
  EXPECT_TRUE(runsOf("down").empty());
  ASSERT_EQ(runsOf("paged").size(), 1u);
  auto noted = runsOf("noted");
  ASSERT_EQ(noted.size(), 1u);
  EXPECT_EQ(json::parse(noted[0].paramsJson), json({{"state", "failed"}}));
}

TEST_F(EngineChainsTest, ACancelledRunIsNotFailedButFinished) {
  auto up = trigger("up");
  auto f = engine_->cancel(up, {});
  engine_->pump();
  ASSERT_TRUE(f.get().ok());
  exec_.fail(started(up, "fetch"), FailureClass::kCancelled, 143);
  engine_->pump();
  ASSERT_EQ(detail(up).run.state, RunState::kCancelled);
  EXPECT_TRUE(runsOf("paged").empty());
  EXPECT_TRUE(runsOf("down").empty());
  auto noted = runsOf("noted");
  ASSERT_EQ(noted.size(), 1u);
  EXPECT_EQ(json::parse(noted[0].paramsJson), json({{"state", "cancelled"}}));
}

TEST_F(EngineChainsTest, TheSuccessorExistsOnlyIfTheUpstreamEndIsDurable) {
  auto up = trigger("up");
  exec_.succeed(started(up, "fetch"), R"({"path": "p"})");
  engine_->pump();
  flaky_->failures = 1;  // the batch holding the end fails
  exec_.succeed(started(up, "check"));
  engine_->pump();
  EXPECT_NE(detail(up).run.state, RunState::kSucceeded);
  EXPECT_TRUE(runsOf("down").empty()) << "a successor was stored before its upstream's end";
  // keel dies before the retried commit: neither the end nor the run. The
  // restarted keel finds check's attempt lost (its only one), so the run
  // fails now, and only that durable end starts runs.
  crashAndRestart();
  auto d = detail(up);
  EXPECT_EQ(d.run.state, RunState::kFailed);
  EXPECT_TRUE(runsOf("down").empty());
  auto noted = runsOf("noted");
  ASSERT_EQ(noted.size(), 1u);
  EXPECT_EQ(json::parse(noted[0].paramsJson), json({{"state", "failed"}}));
}

TEST_F(EngineChainsTest, AFailedCommitOfTheEndIsRetriedWithItsSuccessors) {
  auto up = trigger("up");
  exec_.succeed(started(up, "fetch"), R"({"path": "p"})");
  engine_->pump();
  flaky_->failures = 1;
  exec_.succeed(started(up, "check"));
  engine_->pump();
  EXPECT_TRUE(runsOf("down").empty());
  clock_.advance(std::chrono::seconds(1));
  engine_->pump();
  EXPECT_EQ(detail(up).run.state, RunState::kSucceeded);
  EXPECT_EQ(runsOf("down").size(), 1u);
  crashAndRestart();  // what is durable stays, once
  EXPECT_EQ(runsOf("down").size(), 1u);
  EXPECT_EQ(runsOf("noted").size(), 1u);
}

TEST_F(EngineChainsTest, ARetriedRunFiresEachTriggerOnceAndTheUnmatchedOnesWhenItSucceeds) {
  auto up = runUp(false);
  ASSERT_EQ(runsOf("paged").size(), 1u);
  ASSERT_EQ(runsOf("noted").size(), 1u);
  retryUp(up);
  exec_.fail(started(up, "check"), FailureClass::kError, 1);  // fails again
  engine_->pump();
  ASSERT_EQ(detail(up).run.state, RunState::kFailed);
  EXPECT_EQ(runsOf("paged").size(), 1u) << "a second end started a trigger's run again";
  EXPECT_EQ(runsOf("noted").size(), 1u);
  EXPECT_TRUE(runsOf("down").empty());
  retryUp(up);
  exec_.succeed(started(up, "check"));
  engine_->pump();
  ASSERT_EQ(detail(up).run.state, RunState::kSucceeded);
  auto down = runsOf("down");
  ASSERT_EQ(down.size(), 1u) << "state: succeeded did not fire once the retry succeeded";
  // Outputs of the steps that succeeded before the retry are in its params.
  EXPECT_EQ(json::parse(down[0].paramsJson)["path"], "/d/x y.csv");
  EXPECT_EQ(runsOf("paged").size(), 1u);
  EXPECT_EQ(runsOf("noted").size(), 1u);
}

TEST_F(EngineChainsTest, ARetriedRunRecoveredAfterACrashDoesNotFireAgain) {
  auto up = runUp(false);
  ASSERT_EQ(runsOf("noted").size(), 1u);
  retryUp(up);
  exec_.keepAcrossRestart = true;  // check's new attempt outlives keel
  crashAndRestart();               // the retried run is recovered from the store
  exec_.succeed(started(up, "check"));
  engine_->pump();
  ASSERT_EQ(detail(up).run.state, RunState::kSucceeded);
  EXPECT_EQ(runsOf("noted").size(), 1u) << "finished fired twice for one run";
  EXPECT_EQ(runsOf("paged").size(), 1u);
  EXPECT_EQ(runsOf("down").size(), 1u);
}

TEST_F(EngineChainsTest, ParamsThatCannotRenderAreRecordedAndStartNothing) {
  apply(workflow("down", R"(
params: { path: }
triggers:
  - after: { workflow: up, state: finished }
    params: { path: "{{ upstream.steps.fetch.output.missing }}" }
steps:
  - { name: load, run: "load {{ params.path }}", timeout: 1m }
)"));
  auto up = runUp(true);
  EXPECT_TRUE(runsOf("down").empty());
  EXPECT_TRUE(hasEvent(up, "after_trigger_failed", "after-trigger 1 of workflow down"));
  EXPECT_TRUE(hasEvent(up, "after_trigger_failed", "has no key 'missing'"));
}

TEST_F(EngineChainsTest, ACycleStoredWithoutTheApplyCheckStartsNothing) {
  // As a keel that did not check cycles may have stored it.
  store::WorkflowVersionRow loop;
  loop.name = "loop";
  loop.yaml = workflow("loop", R"(
triggers:
  - after: { workflow: loop, state: finished }
steps:
  - { name: a, run: "a", timeout: 1m }
)");
  loop.createdAt = clock_.wallNow();
  ASSERT_TRUE(store_->putWorkflow(loop).ok());
  crashAndRestart();  // reads the latest versions again
  auto id = trigger("loop");
  exec_.succeed(started(id, "a"));
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kSucceeded);
  EXPECT_EQ(runsOf("loop").size(), 1u);
  EXPECT_TRUE(hasEvent(id, "after_trigger_failed", "after-trigger cycle: loop -> loop"));
}

TEST_F(EngineChainsTest, ManualTriggersCannotTakeAfterKeys) {
  auto f = engine_->trigger({"paged", json::object(), "after:x:paged:0"});
  engine_->pump();
  auto r = f.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

class EngineChainCyclesTest : public EngineTest {
 protected:
  Result<ApplyResult> tryApply(const std::string& yaml) {
    return engine_->applyWorkflow(yaml, "").get();
  }
  static std::string after(const std::string& upstream) {
    return "triggers:\n  - after: { workflow: " + upstream +
           " }\nsteps:\n  - { name: a, noop: true }\n";
  }
};

TEST_F(EngineChainCyclesTest, ACycleIsRefusedAtApplyNamingIt) {
  auto self = tryApply(workflow("a", after("a")));
  ASSERT_FALSE(self.ok());
  EXPECT_NE(self.error().message().find("after-trigger cycle: a -> a"), std::string::npos)
      << self.error().message();

  auto a = tryApply(workflow("a", after("b")));  // b does not exist yet: a warning
  ASSERT_TRUE(a.ok()) << a.error().toString();
  ASSERT_EQ(a->warnings.size(), 1u);
  EXPECT_NE(a->warnings[0].find("'b', which does not exist yet"), std::string::npos);
  auto b = tryApply(workflow("b", after("c")));  // c ends -> b starts -> a starts
  ASSERT_TRUE(b.ok()) << b.error().toString();
  auto c = tryApply(workflow("c", after("a")));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(c.error().message().find("after-trigger cycle: c -> b -> a -> c"), std::string::npos)
      << c.error().message();
  // Nothing was stored: c stays unknown; a new version of a that breaks
  // the chain lets c go live.
  auto stored = store_->getWorkflow("c", 0);
  ASSERT_TRUE(stored.ok());
  EXPECT_FALSE(stored->has_value());
  ASSERT_TRUE(tryApply(workflow("a", "steps:\n  - { name: a, noop: true }\n")).ok());
  auto again = tryApply(workflow("c", after("a")));
  ASSERT_TRUE(again.ok()) << again.error().toString();
  EXPECT_TRUE(again->warnings.empty());
}

}  // namespace
}  // namespace keel::engine::test
