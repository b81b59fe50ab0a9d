// Schedules: a cron trigger starts a run at its instant, exactly once
// across restarts; instants missed while keel was down follow misfire; an
// unfinished previous run follows overlap; a new version re-arms.
#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

using nlohmann::json;

std::string cronWorkflow(const std::string& trigger, const std::string& step = "noop: true") {
  return workflow("nightly",
                  "triggers:\n  - " + trigger + "\nsteps:\n  - { name: a, " + step + " }\n");
}

class EngineSchedulesTest : public EngineTest {
 protected:
  // Moves the clock a minute at a time (schedule timers wait at most a
  // minute), pumping at each step.
  void advance(std::chrono::seconds d) {
    while (d > 0s) {
      auto step = std::min<std::chrono::seconds>(d, 60s);
      clock_.advance(step);
      engine_->pump();
      d -= step;
    }
  }
  // keel is down for `d`: a crash, the clock moves, a new engine starts.
  void downFor(std::chrono::seconds d) {
    engine_.reset();
    flaky_.reset();
    store_.reset();
    exec_.started.clear();
    clock_.advance(d);
    openEngine();
    engine_->pump();
  }
  std::vector<store::RunRow> runs() {
    store::RunFilter f;
    f.workflow = "nightly";
    auto r = store_->listRuns(f);
    EXPECT_TRUE(r.ok());
    auto out = r.ok() ? *r : std::vector<store::RunRow>{};
    std::reverse(out.begin(), out.end());  // oldest first
    return out;
  }
  std::string keyAt(int64_t unixSeconds, int index = 0) {
    return "cron:nightly:" + std::to_string(index) + ":" + std::to_string(unixSeconds * 1000);
  }
  std::optional<store::ScheduleStateRow> state(int index = 0) {
    auto rows = store_->listScheduleStates();
    EXPECT_TRUE(rows.ok());
    for (const auto& r : *rows)
      if (r.workflow == "nightly" && r.trigger == index) return r;
    return std::nullopt;
  }
};

constexpr int64_t kT0 = 1'767'225'600;  // 2026-01-01T00:00:00Z, the fixture clock's start

TEST_F(EngineSchedulesTest, FiresAtTheInstantExactlyOnceAcrossACrash) {
  apply(cronWorkflow("cron: \"0 * * * *\""));
  advance(59min + 59s);
  EXPECT_TRUE(runs().empty());
  advance(1s);
  auto r = runs();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].idempotencyKey, keyAt(kT0 + 3600));
  auto events = store_->runEvents(r[0].id);
  ASSERT_TRUE(events.ok());
  bool said = false;
  for (const auto& e : *events)
    if (e.kind == "started_by_schedule") {
      said = true;
      EXPECT_NE(e.message.find("for 2026-01-01T01:00:00Z"), std::string::npos) << e.message;
    }
  EXPECT_TRUE(said);
  auto st = state();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->lastInstant, WallTime(std::chrono::seconds(kT0 + 3600)));
  EXPECT_EQ(st->lastRunId, r[0].id);
  EXPECT_EQ(st->outcome, "started");
  // A crash right after the fire (misfire run_once would fire the instant
  // again if it were not durable), then a restart later within the hour.
  downFor(30s);
  crashAndRestart();
  EXPECT_EQ(runs().size(), 1u);
  advance(59min + 30s);
  r = runs();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].idempotencyKey, keyAt(kT0 + 7200));
}

TEST_F(EngineSchedulesTest, AFirstApplyMissesNothing) {
  apply(cronWorkflow("cron: \"0 * * * *\""));
  downFor(30min);
  EXPECT_TRUE(runs().empty());
  EXPECT_FALSE(state());
}

TEST_F(EngineSchedulesTest, MisfireSkipStartsNothingForMissedInstants) {
  apply(cronWorkflow("{ cron: \"0 * * * *\", misfire: skip }"));
  downFor(5h + 1min);
  EXPECT_TRUE(runs().empty());
  auto st = state();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->lastInstant, WallTime(std::chrono::seconds(kT0 + 5 * 3600)));
  EXPECT_EQ(st->outcome, "skipped: missed while keel was down (misfire: skip)");
  advance(59min);
  ASSERT_EQ(runs().size(), 1u);
  EXPECT_EQ(runs()[0].idempotencyKey, keyAt(kT0 + 6 * 3600));
}

TEST_F(EngineSchedulesTest, MisfireRunOnceIsTheDefault) {
  apply(cronWorkflow("cron: \"0 * * * *\""));
  downFor(5h + 1min);
  auto r = runs();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].idempotencyKey, keyAt(kT0 + 5 * 3600));
  downFor(1min);  // and not again
  EXPECT_EQ(runs().size(), 1u);
}

TEST_F(EngineSchedulesTest, MisfireCatchUpStartsTheNewestUpToItsLimitOldestFirst) {
  apply(cronWorkflow("{ cron: \"0 * * * *\", misfire: catch_up, catch_up_limit: 3 }"));
  downFor(5h + 1min);
  auto r = runs();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].idempotencyKey, keyAt(kT0 + 3 * 3600));
  EXPECT_EQ(r[1].idempotencyKey, keyAt(kT0 + 4 * 3600));
  EXPECT_EQ(r[2].idempotencyKey, keyAt(kT0 + 5 * 3600));
  // The two older missed instants are said in the first run's timeline.
  auto events = store_->runEvents(r[0].id);
  ASSERT_TRUE(events.ok());
  bool said = false;
  for (const auto& e : *events)
    said = said || (e.kind == "started_by_schedule" &&
                    e.message.find("; 2 earlier instant(s) since 2026-01-01T00:00:00Z start no "
                                   "run (misfire: catch_up)") != std::string::npos);
  EXPECT_TRUE(said);
  downFor(1min);
  EXPECT_EQ(runs().size(), 3u);
}

TEST_F(EngineSchedulesTest, OverlapSkipRecordsTheFireAsSkipped) {
  apply(cronWorkflow("cron: \"0 * * * *\"", "run: work, timeout: 1d"));
  advance(1h);
  auto r = runs();
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(exec_.started.size(), 1u);
  advance(1h);
  EXPECT_EQ(runs().size(), 1u);
  auto st = state();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->outcome, "skipped: previous run " + r[0].id + " still running");
  EXPECT_EQ(st->lastInstant, WallTime(std::chrono::seconds(kT0 + 2 * 3600)));
  exec_.succeed(0);
  engine_->pump();
  advance(1h);
  r = runs();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].idempotencyKey, keyAt(kT0 + 3 * 3600));
}

TEST_F(EngineSchedulesTest, OverlapAllowStartsAnotherRun) {
  apply(cronWorkflow("{ cron: \"0 * * * *\", overlap: allow }", "run: work, timeout: 1d"));
  advance(2h);
  EXPECT_EQ(runs().size(), 2u);
}

TEST_F(EngineSchedulesTest, ANewVersionReArms) {
  apply(cronWorkflow("cron: \"0 * * * *\""));
  advance(10min);
  apply(cronWorkflow("cron: \"30 * * * *\""));
  advance(20min);
  auto r = runs();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].idempotencyKey, keyAt(kT0 + 1800));
  apply(workflow("nightly", "steps:\n  - { name: a, noop: true }\n"));
  advance(2h);
  EXPECT_EQ(runs().size(), 1u);
}

TEST_F(EngineSchedulesTest, ADaylightSavingDayInParisWithScheduleParams) {
  clock_.advance(std::chrono::hours(24 * 86 + 12));  // 2026-03-28T12:00:00Z
  apply(workflow("nightly", R"(
params: { day: , at: }
triggers:
  - cron: "30 2 * * *"
    timezone: Europe/Paris
    params: { day: "{{ schedule.date }}", at: "{{ schedule.time }}" }
steps:
  - { name: a, noop: true }
)"));
  advance(12h + 59min);  // to 2026-03-29T00:59:00Z
  EXPECT_TRUE(runs().empty());
  advance(1min);  // 02:30 does not exist that night: the run starts at 03:00 local
  auto r = runs();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(json::parse(r[0].paramsJson),
            json({{"day", "2026-03-29"}, {"at", "2026-03-29T03:00:00+02:00"}}));
  advance(24h);  // and at 02:30 local (00:30Z) the next day
  r = runs();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(json::parse(r[1].paramsJson),
            json({{"day", "2026-03-30"}, {"at", "2026-03-30T02:30:00+02:00"}}));
}

TEST_F(EngineSchedulesTest, AWallClockSteppedBackDoesNotFireAnInstantAgain) {
  apply(cronWorkflow("cron: \"30 2 * * *\""));
  advance(2h + 30min);  // 02:30Z
  ASSERT_EQ(runs().size(), 1u);
  EXPECT_EQ(runs()[0].idempotencyKey, keyAt(kT0 + 2 * 3600 + 1800));
  advance(10min);
  clock_.stepWall(-1h);  // 01:40Z again
  advance(1h);           // passes 02:30 a second time
  EXPECT_EQ(runs().size(), 1u);
  // A restart while the clock is behind: the durable last instant holds.
  clock_.stepWall(-1h);  // 01:40Z
  downFor(1min);
  EXPECT_EQ(runs().size(), 1u);
  advance(1h);
  EXPECT_EQ(runs().size(), 1u);
  auto st = state();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->lastInstant, WallTime(std::chrono::seconds(kT0 + 2 * 3600 + 1800)));
  // The next day's instant still fires, once.
  advance(24h);
  auto r = runs();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].idempotencyKey, keyAt(kT0 + 86400 + 2 * 3600 + 1800));
}

TEST_F(EngineSchedulesTest, CronKeysAreReserved) {
  apply(workflow("nightly", "steps:\n  - { name: a, noop: true }\n"));
  auto f = engine_->trigger({"nightly", json::object(), "cron:nightly:0:1"});
  engine_->pump();
  auto r = f.get();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("'cron:'"), std::string::npos);
}

TEST_F(EngineSchedulesTest, OverlapQueueStartsTheFireWhenThePreviousRunEnds) {
  apply(cronWorkflow("{ cron: \"0 * * * *\", overlap: queue }", "run: work, timeout: 1d"));
  advance(1h);
  auto r = runs();
  ASSERT_EQ(r.size(), 1u);
  advance(1h);  // 02:00 comes while the 01:00 run runs: queued
  EXPECT_EQ(runs().size(), 1u);
  auto st = state();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->outcome, "queued: previous run " + r[0].id + " still running");
  EXPECT_EQ(st->lastInstant, WallTime(std::chrono::seconds(kT0 + 2 * 3600)));
  EXPECT_EQ(st->lastRunId, r[0].id);
  advance(10min);
  exec_.succeed(0);
  engine_->pump();
  r = runs();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].idempotencyKey, keyAt(kT0 + 2 * 3600));
  st = state();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->outcome, "started");
  EXPECT_EQ(st->lastRunId, r[1].id);
  auto events = store_->runEvents(r[1].id);
  ASSERT_TRUE(events.ok());
  bool said = false;
  for (const auto& e : *events)
    said = said || (e.kind == "started_by_schedule" &&
                    e.message.find("for 2026-01-01T02:00:00Z (queued while run " + r[0].id +
                                   " ran)") != std::string::npos);
  EXPECT_TRUE(said);
  // Nothing more is queued: the 03:00 instant is the next fire.
  exec_.succeed(1);
  engine_->pump();
  advance(40min);
  EXPECT_EQ(runs().size(), 2u);
  advance(10min);
  EXPECT_EQ(runs().size(), 3u);
}

TEST_F(EngineSchedulesTest, OverlapQueueKeepsOneFireTheNewest) {
  apply(cronWorkflow("{ cron: \"0 * * * *\", overlap: queue }", "run: work, timeout: 1d"));
  advance(1h);
  auto r = runs();
  ASSERT_EQ(r.size(), 1u);
  advance(3h);  // 02:00 queued, replaced by 03:00, replaced by 04:00
  EXPECT_EQ(runs().size(), 1u);
  auto st = state();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->lastInstant, WallTime(std::chrono::seconds(kT0 + 4 * 3600)));
  EXPECT_EQ(st->outcome, "queued: previous run " + r[0].id +
                             " still running; replaces the queued fire for "
                             "2026-01-01T03:00:00Z, now skipped");
  exec_.succeed(0);
  engine_->pump();
  r = runs();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].idempotencyKey, keyAt(kT0 + 4 * 3600));
}

TEST_F(EngineSchedulesTest, OverlapQueueSurvivesACrash) {
  exec_.keepAcrossRestart = true;
  apply(cronWorkflow("{ cron: \"0 * * * *\", overlap: queue }", "run: work, timeout: 1d"));
  advance(1h);
  ASSERT_EQ(runs().size(), 1u);
  advance(1h);  // 02:00 queued
  // keel is down while the run is re-attached: the fire stays queued...
  crashAndRestart();
  engine_->pump();
  auto r = runs();
  ASSERT_EQ(r.size(), 1u);
  ASSERT_TRUE(state());
  EXPECT_EQ(state()->outcome, "queued: previous run " + r[0].id + " still running");
  // ...and starts once the run ends.
  ASSERT_FALSE(exec_.started.empty());
  exec_.succeed(exec_.started.size() - 1);
  engine_->pump();
  r = runs();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].idempotencyKey, keyAt(kT0 + 2 * 3600));
  crashAndRestart();
  engine_->pump();
  EXPECT_EQ(runs().size(), 2u);
}

}  // namespace
}  // namespace keel::engine::test
