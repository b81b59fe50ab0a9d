// The planning feed's retrieval fails the same way twice, two days apart,
// with real processes (the real ProcessExecutor and the example's own
// retrieve.sh) and a manual clock: the first incident is resolved with a
// root cause; the second is marked recurring and carries that root cause.
#include <gtest/gtest.h>

#include <fstream>

#include "core/clock.h"
#include "core/random.h"
#include "engine/engine.h"
#include "exec/process_executor.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/temp_dir.h"

namespace keel::engine {
namespace {

using namespace std::chrono_literals;

// The retrieval step of examples/planning-feed.yaml, as shipped.
constexpr const char* kRetrieve = R"(name: planning-retrieve
owner: { team: data-platform, contact: oncall-data@example.com }
runbook: https://wiki.example.com/runbooks/planning-feed
params:
  date: { default: "2026-11-23" }
  region: { default: eu }
  workspace: { description: where runs keep their files }
  file: { default: "" }
steps:
  - name: retrieve-files
    run: ./scripts/retrieve.sh {{ params.date }} {{ params.region }} {{ params.workspace }} {{ params.file }}
    timeout: 10m
    retry: { max_attempts: 5, backoff: exponential, initial: 2s, max: 5m, jitter: full }
)";

class RecurrenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::openSqliteStore(dir_.file("keel.db"));
    ASSERT_TRUE(s.ok()) << s.error().toString();
    store_ = std::move(*s);
    exec_ = std::make_unique<exec::ProcessExecutor>(
        exec::ProcessExecutorOptions{4, KEEL_SHIM_PATH, dir_.file("keel.db.steps")});
    EngineOptions o;
    o.manual = true;
    o.defaultWorkdir = std::string(KEEL_SOURCE_DIR) + "/examples";
    engine_ = std::make_unique<Engine>(*store_, *exec_, clock_, random_, o);
    ASSERT_TRUE(engine_->start().ok());
    auto applied = engine_->applyWorkflow(kRetrieve, "").get();
    ASSERT_TRUE(applied.ok()) << applied.error().toString();
    // A warehouse drops a file that is not an orders file.
    std::ofstream(dir_.file("orders.csv")) << "sku;qty\nA-100;40\n";
  }
  void TearDown() override {
    engine_->stop();
    engine_.reset();
    exec_->shutdown();
  }
  // Runs the retrieval on the bad file until the run ends (its process is
  // real: the loop is pumped until its outcome is back); its state.
  RunState runOnce() {
    auto f = engine_->trigger({"planning-retrieve",
                               {{"workspace", dir_.file("ws")}, {"file", dir_.file("orders.csv")}},
                               ""});
    engine_->pump();
    auto r = f.get();
    EXPECT_TRUE(r.ok()) << r.error().toString();
    if (!r.ok()) return RunState::kPending;
    const std::string id = r->run.id;
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      engine_->pump();
      auto d = store_->getRun(id);
      if (d.ok() && d->has_value() && isTerminal((*d)->run.state)) return (*d)->run.state;
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "run " << id << " did not end";
    return RunState::kPending;
  }
  std::vector<incidents::Incident> all() {
    auto list = store_->listIncidents({});
    EXPECT_TRUE(list.ok());
    return list.ok() ? *list : std::vector<incidents::Incident>{};
  }

  testing::TempDir dir_;
  ManualClock clock_{fromUnixMillis(1'795'651'200'000)};  // 2026-11-26T00:00:00Z
  SystemRandom random_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<exec::ProcessExecutor> exec_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(RecurrenceTest, TheSecondFailureTwoDaysLaterIsRecurringAndShowsTheFirstRootCause) {
  ASSERT_EQ(runOnce(), RunState::kFailed);
  auto list = all();
  ASSERT_EQ(list.size(), 1u);
  const std::string first = list[0].id;
  EXPECT_EQ(list[0].step, "retrieve-files");
  EXPECT_EQ(list[0].failureClass, "bad_input");
  EXPECT_NE(list[0].logsTail.find("is not an orders file"), std::string::npos) << list[0].logsTail;

  IncidentRequest resolve{first, IncidentAction::kResolve, {}, {}, {}, 0};
  resolve.resolve.rootCause = "the warehouse export switched to ';' separators";
  resolve.resolve.actionItems = {
      {0, "validate the export at the warehouse", "data-platform", "2026-12-15", {}, {}}};
  RequestContext who;
  who.token = "ops";
  auto f = engine_->incidentAction(resolve, who);
  engine_->pump();
  ASSERT_TRUE(f.get().ok());

  clock_.advance(48h);
  ASSERT_EQ(runOnce(), RunState::kFailed);
  list = all();  // newest first
  ASSERT_EQ(list.size(), 2u);
  const auto& second = list[0];
  EXPECT_NE(second.id, first);
  EXPECT_TRUE(second.recurring);
  EXPECT_EQ(second.fingerprint, list[1].fingerprint);
  ASSERT_EQ(second.previous.size(), 1u);
  EXPECT_EQ(second.previous[0].id, first);
  EXPECT_EQ(second.previous[0].rootCause, "the warehouse export switched to ';' separators");
  ASSERT_EQ(second.previous[0].actionItems.size(), 1u);
  EXPECT_EQ(second.previous[0].actionItems[0].text, "validate the export at the warehouse");
  EXPECT_EQ(second.firstSeen, list[1].firstSeen + 48h);
}

}  // namespace
}  // namespace keel::engine
