// The engine when its store fails or goes away, and how it stops.
#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

using namespace std::chrono_literals;

TEST_F(EngineTest, FailedCommitIsRetriedAndNothingHappensBeforeItIsDurable) {
  apply(workflow("disk", "steps:\n  - { name: a, run: \"a\", timeout: 1m }\n"));
  flaky_->failures = 2;
  auto f = engine_->trigger({"disk", nlohmann::json::object(), ""});
  engine_->pump();
  EXPECT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "answered before the run was durable";
  EXPECT_TRUE(exec_.started.empty()) << "a step started before its attempt was durable";
  clock_.advance(100ms);
  engine_->pump();  // the second commit fails too
  EXPECT_EQ(flaky_->applies, 2);
  EXPECT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  clock_.advance(199ms);
  engine_->pump();
  EXPECT_EQ(flaky_->applies, 2) << "retried before its backoff";
  clock_.advance(1ms);
  engine_->pump();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  auto r = f.get();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->created);
  ASSERT_EQ(exec_.started.size(), 1u);
  exec_.succeed(0);
  engine_->pump();
  EXPECT_EQ(detail(r->run.id).run.state, RunState::kSucceeded);
}

// Every Control call answers kUnavailable with `message` at once, without
// waiting for the loop.
void expectEveryCallRefused(Engine& engine, const std::string& runId, const std::string& message) {
  auto trig = engine.trigger({"w", nlohmann::json::object(), ""});
  auto cancel = engine.cancel(runId, {});
  auto retry = engine.retry(runId, {});
  auto apply = engine.applyWorkflow(workflow("w2", "steps:\n  - { name: a, noop: true }\n"), "");
  for (const Error& e :
       {trig.get().error(), cancel.get().error(), retry.get().error(), apply.get().error()}) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    EXPECT_EQ(e.message(), message);
  }
}

TEST_F(EngineTest, AnUnhealthyStoreMakesTheEngineUnreadyAndRefusesNewWork) {
  apply(workflow("w", "steps:\n  - { name: a, run: \"a\", timeout: 1m }\n"));
  std::string id = trigger("w");
  ASSERT_TRUE(engine_->ready());
  const std::string why =
      "database file /x/keel.db was deleted while keel had it open; restart keel";
  flaky_->unhealthy = Error(ErrorCode::kUnavailable, why);
  EXPECT_FALSE(engine_->ready());
  Status r = engine_->readiness();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), why);
  int appliesBefore = flaky_->applies;
  expectEveryCallRefused(*engine_, id, why);
  engine_->pump();
  EXPECT_EQ(flaky_->applies, appliesBefore) << "refused work reached the store";
  auto runs = store_->listRuns(store::RunFilter{});
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->size(), 1u);

  flaky_->unhealthy.reset();
  EXPECT_TRUE(engine_->ready());
  EXPECT_FALSE(trigger("w").empty());
}

TEST_F(EngineTest, TheRealStoreFileDeletedMakesTheEngineUnready) {
  ASSERT_TRUE(engine_->ready());
  ASSERT_EQ(::unlink(dir_.file("keel.db").c_str()), 0);
  Status r = engine_->readiness();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "database file " + dir_.file("keel.db") +
                                     " was deleted while keel had it open; restart keel");
}

TEST_F(EngineTest, CommitsThatKeepFailingMakeTheEngineUnreadyUntilOneSucceeds) {
  apply(workflow("w", "steps:\n  - { name: a, run: \"a\", timeout: 1m }\n"));
  flaky_->failures = 1000;
  auto first = engine_->trigger({"w", nlohmann::json::object(), ""});
  engine_->pump();
  ASSERT_EQ(flaky_->applies, 1);
  const std::string why =
      "store commits failing since 2026-01-01T00:00:00.000Z: disk full (injected)";
  Status r = engine_->readiness();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), why);
  EXPECT_EQ(first.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  expectEveryCallRefused(*engine_, "no-such-run", why);
  clock_.advance(100ms);
  engine_->pump();  // still failing: the time of the first failure stays
  ASSERT_EQ(flaky_->applies, 2);
  EXPECT_EQ(engine_->readiness().error().message(), why);

  flaky_->failures = 0;
  clock_.advance(200ms);
  engine_->pump();
  EXPECT_TRUE(engine_->ready());
  ASSERT_EQ(first.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_TRUE(first.get().ok());
}

TEST_F(EngineTest, StopWritesAResultReportedJustBefore) {
  apply(workflow("last", R"(
steps:
  - { name: a, run: "a", timeout: 1m, retry: { max_attempts: 3 } }
)"));
  auto id = trigger("last");
  ASSERT_EQ(exec_.started.size(), 1u);
  exec_.succeed(0);  // reported to the loop, not yet handled
  stopAndRestart();
  auto d = detail(id);
  EXPECT_EQ(d.run.state, RunState::kSucceeded);
  EXPECT_EQ(step(d, "a").attempts, 1);
  EXPECT_TRUE(exec_.started.empty()) << "a step that succeeded before the stop ran again";
}

TEST_F(EngineTest, StopWaitsForTheCommitInFlightAndWritesWhatQueuedBehindIt) {
  apply(workflow("quick", "steps:\n  - { name: a, noop: true }\n"));
  engine_.reset();
  flaky_.reset();
  store_.reset();
  openEngine(/*manual=*/false);
  // The first commit blocks on the writer until the test lets it go.
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> entered;
  bool first = true;
  flaky_->beforeApply = [&] {
    if (!first) return;
    first = false;
    entered.set_value();
    gate.wait();
  };
  auto one = engine_->trigger({"quick", nlohmann::json::object(), ""});
  entered.get_future().wait();  // run one's commit is in flight
  auto two = engine_->trigger({"quick", nlohmann::json::object(), ""});
  auto stopped = std::async(std::launch::async, [&] { engine_->stop(); });
  while (engine_->ready()) std::this_thread::yield();  // stop() has begun
  release.set_value();
  stopped.get();
  ASSERT_EQ(one.wait_for(0s), std::future_status::ready);
  ASSERT_EQ(two.wait_for(0s), std::future_status::ready) << "the queued trigger was dropped";
  auto r1 = one.get();
  auto r2 = two.get();
  ASSERT_TRUE(r1.ok() && r2.ok());
  crashAndRestart();
  EXPECT_EQ(detail(r1->run.id).run.state, RunState::kSucceeded);
  EXPECT_EQ(detail(r2->run.id).run.state, RunState::kSucceeded);
}

}  // namespace
}  // namespace keel::engine::test
