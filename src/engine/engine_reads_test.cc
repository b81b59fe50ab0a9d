// The engine loop never waits on a store read: keys are looked up by the
// caller, finished runs read by the StoreReader, retry budgets at start.
#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

using namespace std::chrono_literals;

const char* kKeyed = R"(
params: { who: }
steps:
  - { name: a, run: "a", timeout: 1m }
)";

TEST_F(EngineTest, AKeyedTriggerIsDecidedOnTheLoopWithoutReadingTheStore) {
  apply(workflow("keyed", kKeyed));
  int reads = 0;
  flaky_->onRead = [&](const std::string&) { ++reads; };
  // Both look the key up before either run exists.
  auto first = engine_->trigger({"keyed", {{"who", "ops"}}, "k"});
  auto second = engine_->trigger({"keyed", {{"who", "ops"}}, "k"});
  auto other = engine_->trigger({"keyed", {{"who", "dev"}}, "k"});
  ASSERT_EQ(reads, 3);
  engine_->pump();
  EXPECT_EQ(reads, 3) << "the loop read the store";
  auto r1 = first.get();
  auto r2 = second.get();
  auto r3 = other.get();
  ASSERT_TRUE(r1.ok()) << r1.error().toString();
  ASSERT_TRUE(r2.ok()) << r2.error().toString();
  EXPECT_TRUE(r1->created);
  EXPECT_FALSE(r2->created);
  EXPECT_EQ(r2->run.id, r1->run.id);
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(r3.error().code(), ErrorCode::kIdempotencyConflict);
  EXPECT_EQ(exec_.started.size(), 1u);
}

TEST_F(EngineTest, AKeyMadeDurableBetweenTheLookupAndTheLoopIsStillFound) {
  apply(workflow("keyed", kKeyed));
  auto first = engine_->trigger({"keyed", {{"who", "ops"}}, "k"});
  // The second caller finds nothing; before its trigger reaches the loop,
  // the first run is created and made durable.
  int reads = 0;
  flaky_->onRead = [&](const std::string&) {
    if (++reads == 1) engine_->pump();
  };
  auto second = engine_->trigger({"keyed", {{"who", "ops"}}, "k"});
  auto r1 = first.get();
  ASSERT_TRUE(r1.ok()) << r1.error().toString();
  ASSERT_TRUE(detail(r1->run.id).run.id == r1->run.id) << "the first run is not durable";
  engine_->pump();
  EXPECT_EQ(reads, 1) << "the loop read the store";
  auto r2 = second.get();
  ASSERT_TRUE(r2.ok()) << r2.error().toString();
  EXPECT_FALSE(r2->created);
  EXPECT_EQ(r2->run.id, r1->run.id);
  // Later lookups find the key in the store, as usual.
  auto r3 = engine_->trigger({"keyed", {{"who", "ops"}}, "k"}).get();
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(r3->run.id, r1->run.id);
}

TEST_F(EngineTest, RetryBudgetsAreReadAtStartNotOnTheLoop) {
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
  exec_.fail(1, FailureClass::kError, 1);
  engine_->pump();
  auto f = engine_->retry(id, {});
  engine_->pump();
  ASSERT_TRUE(f.get().ok());
  ASSERT_EQ(exec_.started.size(), 3u);
  exec_.fail(2, FailureClass::kError, 1);  // the first of the fresh two
  engine_->pump();
  ASSERT_EQ(step(detail(id), "b").state, StepState::kRetrying);
  // A restart reads the events in start(), not when attempt 4 fails.
  engine_.reset();
  flaky_.reset();
  store_.reset();
  exec_.started.clear();
  openEngine();
  int reads = 0;
  flaky_->onRead = [&](const std::string&) { ++reads; };
  engine_->pump();
  clock_.advance(1s);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 1u);
  EXPECT_EQ(exec_.started[0].request.attempt, 4);
  exec_.fail(0, FailureClass::kError, 1);
  engine_->pump();
  EXPECT_EQ(reads, 0) << "the loop read the store";
  EXPECT_EQ(step(detail(id), "b").state, StepState::kDead) << "the fresh budget was lost";
}

// A threaded engine whose reads of runs wait until the test releases them.
class BlockedReadsTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    engine_.reset();
    flaky_.reset();
    store_.reset();
    openEngine(/*manual=*/false);
  }
};

TEST_F(BlockedReadsTest, TheLoopKeepsCommittingWhileAReadForCancelOrRetryWaits) {
  apply(workflow("quick", "steps:\n  - { name: a, noop: true }\n"));
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> blocked{0};
  flaky_->onRead = [&](const std::string& what) {
    if (what != "getRun") return;
    ++blocked;
    released.wait();
  };
  std::string unknown = newRunId(clock_.wallNow(), random_);
  auto cancel = engine_->cancel(unknown, {});
  auto retry = engine_->retry(unknown, {});
  auto created = engine_->trigger({"quick", nlohmann::json::object(), ""});
  // Fails (rather than hangs) if a read holds the loop.
  bool committed = created.wait_for(30s) == std::future_status::ready;
  release.set_value();
  EXPECT_TRUE(committed) << "a trigger waited for a read of another run";
  auto rc = cancel.get();
  auto rr = retry.get();
  ASSERT_FALSE(rc.ok());
  EXPECT_EQ(rc.error().code(), ErrorCode::kNotFound);
  ASSERT_FALSE(rr.ok());
  EXPECT_EQ(rr.error().code(), ErrorCode::kNotFound);
  auto r = created.get();
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_GE(blocked.load(), 1);
}

TEST_F(BlockedReadsTest, ConcurrentTriggersWithOneKeyMakeOneRun) {
  apply(workflow("keyed", kKeyed));
  std::vector<std::future<Result<TriggerResult>>> results(100);
  std::vector<std::thread> callers;
  for (auto& r : results)
    callers.emplace_back([&r, this] { r = engine_->trigger({"keyed", {{"who", "ops"}}, "same"}); });
  for (auto& t : callers) t.join();
  std::set<std::string> ids;
  int createdCount = 0;
  for (auto& f : results) {
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.error().toString();
    ids.insert(r->run.id);
    createdCount += r->created ? 1 : 0;
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(createdCount, 1);
}

}  // namespace
}  // namespace keel::engine::test
