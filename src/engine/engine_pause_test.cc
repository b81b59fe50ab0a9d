// Pause, resume, disable and enable: a paused workflow or run holds every
// step not yet dispatched (running steps finish), a resume dispatches them;
// a disabled workflow's triggers start no run; all of it survives a restart.
#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

using nlohmann::json;

const RequestContext kPauseAlice{"ops", "admin", "alice", "deploy window"};
const RequestContext kBob{"ops", "admin", "bob", "done"};
constexpr const char* kHeldByAlice = "workflow w paused by alice (token ops): deploy window";

class EnginePauseTest : public EngineTest {
 protected:
  template <typename T>
  T await(std::future<Result<T>> f) {
    engine_->pump();
    auto r = f.get();
    EXPECT_TRUE(r.ok()) << r.error().toString();
    return r.ok() ? std::move(*r) : T{};
  }
  std::vector<store::EventRow> events(const std::string& id) {
    auto e = store_->runEvents(id);
    EXPECT_TRUE(e.ok());
    return e.ok() ? *e : std::vector<store::EventRow>{};
  }
  const store::EventRow* findEvent(const std::string& id, const std::string& kind) {
    static std::vector<store::EventRow> kept;
    kept = events(id);
    for (const auto& e : kept)
      if (e.kind == kind) return &e;
    return nullptr;
  }
  void finishRunning() {
    for (size_t i : exec_.running()) exec_.succeed(i);
    engine_->pump();
  }
};

// a and d run, b waits for its retry, e is ready (no step slot), c is
// pending behind a.
constexpr const char* kEveryState = R"(
steps:
  - { name: a, run: "a", timeout: 1m }
  - { name: b, run: "b", timeout: 1m, retry: { max_attempts: 3, backoff: fixed, initial: 10s, jitter: none } }
  - { name: d, run: "d", timeout: 1m }
  - { name: e, run: "e", timeout: 1m }
  - { name: c, run: "c", timeout: 1m, needs: [a] }
)";

TEST_F(EnginePauseTest, APausedWorkflowHoldsEveryStepNotYetStartedAndResumeRunsThem) {
  maxParallel_ = 2;
  crashAndRestart();  // an engine with two step slots
  apply(workflow("w", kEveryState));
  auto id = trigger("w");
  ASSERT_EQ(exec_.started.size(), 2u);  // a, b
  exec_.fail(1, FailureClass::kError, 1);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 3u);  // d took b's slot
  auto d = detail(id);
  EXPECT_EQ(step(d, "b").state, StepState::kRetrying);
  EXPECT_EQ(step(d, "e").state, StepState::kReady);
  EXPECT_EQ(step(d, "e").waitKind, "max_parallel");
  EXPECT_EQ(step(d, "c").state, StepState::kPending);

  auto paused = await(engine_->pauseWorkflow("w", kPauseAlice));
  EXPECT_TRUE(paused.changed);
  EXPECT_TRUE(paused.control.paused);
  EXPECT_EQ(paused.control.pausedBy, "alice (token ops)");
  EXPECT_EQ(paused.control.pausedReason, "deploy window");
  d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kRunning) << "a and d still run";
  EXPECT_EQ(step(d, "e").waitKind, "paused");
  EXPECT_EQ(step(d, "e").waitReason, kHeldByAlice);
  const auto* e = findEvent(id, "run_paused");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->actor, "alice (token ops)");
  EXPECT_EQ(e->reason, "deploy window");
  // Pausing again changes nothing.
  EXPECT_FALSE(await(engine_->pauseWorkflow("w", kBob)).changed);

  // Running steps finish; what becomes ready holds; the backoff comes due
  // and holds too; nothing new starts.
  finishRunning();
  clock_.advance(10s);
  engine_->pump();
  EXPECT_EQ(exec_.started.size(), 3u);
  d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kPaused);
  EXPECT_EQ(d.run.reason, kHeldByAlice);
  for (const char* name : {"b", "c", "e"}) {
    EXPECT_EQ(step(d, name).state, StepState::kReady) << name;
    EXPECT_EQ(step(d, name).waitKind, "paused") << name;
  }

  auto resumed = await(engine_->resumeWorkflow("w", kBob));
  EXPECT_TRUE(resumed.changed);
  EXPECT_FALSE(resumed.control.paused);
  EXPECT_EQ(detail(id).run.state, RunState::kRunning);
  EXPECT_NE(findEvent(id, "run_resumed"), nullptr);
  EXPECT_EQ(findEvent(id, "run_resumed")->actor, "bob (token ops)");
  EXPECT_FALSE(await(engine_->resumeWorkflow("w", kBob)).changed);
  for (int i = 0; i < 3; ++i) finishRunning();
  EXPECT_EQ(exec_.started.size(), 6u);
  EXPECT_EQ(detail(id).run.state, RunState::kSucceeded);
}

TEST_F(EnginePauseTest, ATriggerWhilePausedCreatesAHeldRunThatTakesNoSlot) {
  apply(workflow("w", R"(
concurrency: { key: "k", limit: 1 }
steps:
  - { name: a, run: "a", timeout: 1m }
)"));
  await(engine_->pauseWorkflow("w", kPauseAlice));
  auto id = trigger("w");
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(exec_.started.empty());
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kPaused);
  EXPECT_EQ(step(d, "a").state, StepState::kReady);
  EXPECT_EQ(step(d, "a").waitKind, "paused");
  EXPECT_EQ(step(d, "a").waitReason, kHeldByAlice);
  // Idempotent as always.
  auto keyed = trigger("w", json::object(), "k1");
  EXPECT_EQ(trigger("w", json::object(), "k1"), keyed);
  await(engine_->resumeWorkflow("w", kBob));
  // Oldest first: the first run takes the key's one slot.
  ASSERT_EQ(exec_.started.size(), 1u);
  EXPECT_EQ(exec_.started[0].request.runId, id);
  finishRunning();
  finishRunning();
  EXPECT_EQ(detail(id).run.state, RunState::kSucceeded);
  EXPECT_EQ(detail(keyed).run.state, RunState::kSucceeded);
}

TEST_F(EnginePauseTest, APausedRunHoldsAcrossARestartAndItsWorkflowDoesNot) {
  apply(workflow("w", R"(
steps:
  - { name: a, run: "a", timeout: 1m }
  - { name: b, run: "b", timeout: 1m, needs: [a] }
)"));
  auto one = trigger("w");
  auto two = trigger("w");
  auto row = await(engine_->pauseRun(one, kPauseAlice));
  EXPECT_EQ(row.pauseReason, "run " + one + " paused by alice (token ops): deploy window");
  exec_.succeed(0);  // one's a finishes while it is paused
  engine_->pump();
  auto d = detail(one);
  EXPECT_EQ(d.run.state, RunState::kPaused);
  EXPECT_EQ(step(d, "b").waitKind, "paused");
  EXPECT_EQ(exec_.started.size(), 2u) << "two is not paused";

  stopAndRestart();
  d = detail(one);
  EXPECT_EQ(d.run.state, RunState::kPaused);
  EXPECT_EQ(step(d, "b").state, StepState::kReady);
  for (const auto& s : exec_.started) EXPECT_NE(s.request.runId, one);

  auto resumed = await(engine_->resumeRun(one, kBob));
  EXPECT_TRUE(resumed.pauseReason.empty());
  bool started = false;
  for (const auto& s : exec_.started) started = started || s.request.runId == one;
  EXPECT_TRUE(started);
  EXPECT_EQ(detail(one).run.state, RunState::kRunning);
  EXPECT_NE(findEvent(one, "run_resumed"), nullptr);

  auto missing = engine_->pauseRun("01NOSUCHRUNAAAAAAAAAAAAAAA", kPauseAlice);
  engine_->pump();
  engine_->pump();
  auto r = missing.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
}

TEST_F(EnginePauseTest, ADisabledWorkflowRefusesTriggersAndSkipsItsCronFires) {
  apply(workflow("w", R"(
triggers:
  - cron: "0 * * * *"
steps:
  - { name: a, noop: true }
)"));
  auto off = await(engine_->disableWorkflow("w", kPauseAlice));
  EXPECT_TRUE(off.changed);
  EXPECT_TRUE(off.control.disabled);
  auto f = engine_->trigger({"w", json::object(), ""});
  engine_->pump();
  auto r = f.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(r.error().message(),
            "workflow w is disabled by alice (token ops) since 2026-01-01T00:00:00.000Z: deploy "
            "window");
  for (int i = 0; i < 61; ++i) {
    clock_.advance(60s);
    engine_->pump();
  }
  store::RunFilter all;
  all.workflow = "w";
  EXPECT_TRUE(store_->listRuns(all)->empty());
  auto states = store_->listScheduleStates();
  ASSERT_TRUE(states.ok());
  ASSERT_EQ(states->size(), 1u);
  EXPECT_EQ(states->front().outcome, "skipped: workflow disabled");

  await(engine_->enableWorkflow("w", kBob));
  EXPECT_FALSE(trigger("w").empty());
}

TEST_F(EnginePauseTest, PausedAndDisabledSurviveARestartAndANewVersion) {
  apply(workflow("w", "steps:\n  - { name: a, run: \"a\", timeout: 1m }\n"));
  await(engine_->pauseWorkflow("w", kPauseAlice));
  await(engine_->disableWorkflow("w", kPauseAlice));
  auto controls = store_->listWorkflowControls();
  ASSERT_TRUE(controls.ok());
  ASSERT_EQ(controls->size(), 1u);
  EXPECT_TRUE(controls->front().paused);
  EXPECT_TRUE(controls->front().disabled);

  crashAndRestart();
  apply(workflow("w", "steps:\n  - { name: a, run: \"a2\", timeout: 1m }\n"));
  auto f = engine_->trigger({"w", json::object(), ""});
  engine_->pump();
  auto refused = f.get();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kConflict);
  await(engine_->enableWorkflow("w", kBob));
  auto id = trigger("w");
  EXPECT_TRUE(exec_.started.empty());
  EXPECT_EQ(detail(id).run.state, RunState::kPaused);
  await(engine_->resumeWorkflow("w", kBob));
  ASSERT_EQ(exec_.started.size(), 1u);
  finishRunning();
  EXPECT_EQ(detail(id).run.state, RunState::kSucceeded);

  auto unknown = engine_->pauseWorkflow("nope", kPauseAlice).get();
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace keel::engine::test
