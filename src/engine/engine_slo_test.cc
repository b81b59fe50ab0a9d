// SLO symptoms on a manual clock: finish_by opens an incident at its
// deadline (not a tick before) and a run in time opens none; start_by
// catches a cron run held by a concurrency key or a pause, a fire with no
// run, and (as a time of day) a workflow that never started, joining the
// next day's miss into the open incident; freshness; restarts check a
// deadline passed while down once and never count one twice; a success
// mitigates; a miss after a resolution opens a recurring incident.
#include <sstream>

#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

using incidents::IncidentState;

const RequestContext kSloAlice{"ops", "admin", "alice", "deploy window", ""};

class SloTest : public EngineTest {
 protected:
  void advance(std::chrono::nanoseconds d) {
    clock_.advance(d);
    engine_->pump();
  }
  // A minute at a time, as schedule timers wait at most a minute.
  void advanceByMinutes(std::chrono::seconds d) {
    while (d > 0s) {
      auto step = std::min<std::chrono::seconds>(d, 60s);
      advance(step);
      d -= step;
    }
  }
  std::vector<incidents::Incident> all() {
    auto list = store_->listIncidents({});
    EXPECT_TRUE(list.ok());
    auto out = list.ok() ? *list : std::vector<incidents::Incident>{};
    std::reverse(out.begin(), out.end());  // oldest first
    return out;
  }
  void succeedLatest() {
    exec_.succeed(exec_.started.size() - 1);
    engine_->pump();
  }
  int misses(const std::string& entry) {
    int n = 0;
    for (const auto& i : all())
      for (const auto& e : i.timeline) n += e.kind == "slo_missed" && e.note.rfind(entry, 0) == 0;
    return n;
  }
};

constexpr const char* kLongStep = "steps:\n  - { name: a, run: \"work\", timeout: 30h }\n";

TEST_F(SloTest, FinishByOpensAnIncidentAtTheDeadlineNotATickBeforeAndASuccessMitigatesIt) {
  apply(workflow("report", std::string("severity: SEV2\nslo: { finish_by: 45m }\n") + kLongStep));
  std::string id = trigger("report");
  advance(45min - 1ms);
  EXPECT_TRUE(all().empty());
  advance(1ms);
  engine_->pump();  // the escalation's channel read
  auto list = all();
  ASSERT_EQ(list.size(), 1u);
  const auto& i = list[0];
  EXPECT_EQ(i.symptom, "slo_finish_by");
  EXPECT_EQ(i.failureClass, "slo_finish_by");
  EXPECT_EQ(i.step, "");
  EXPECT_EQ(i.severity, 2);
  EXPECT_EQ(i.ownerTeam, "data");
  EXPECT_EQ(i.runbook, "https://wiki.example.com/rb");
  EXPECT_EQ(i.runs, std::vector<std::string>{id});
  EXPECT_EQ(i.message, "run not finished by its deadline 2026-01-01T00:45:00Z (finish_by 45m)");
  // Not a retry within policy: it escalates at once.
  bool escalated = false;
  for (const auto& e : i.timeline) escalated |= e.kind == "escalated";
  EXPECT_TRUE(escalated);
  const std::string text = metrics_.render();
  EXPECT_NE(text.find("# TYPE keel_slo_misses_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# HELP keel_slo_misses_total "), std::string::npos) << text;
  EXPECT_EQ(metricValue(text, "keel_slo_misses_total{kind=\"finish_by\",workflow=\"report\"}"), 1)
      << text;
  advance(10min);
  EXPECT_EQ(all()[0].count, 1);  // checked once
  succeedLatest();
  EXPECT_EQ(all()[0].state, IncidentState::kMitigated);
}

TEST_F(SloTest, AMissIsCountedOnlyOnceItIsDurable) {
  apply(workflow("late", std::string("slo: { finish_by: 20s }\n") + kLongStep));
  trigger("late");
  const std::string series = "keel_slo_misses_total{kind=\"finish_by\",workflow=\"late\"}";
  flaky_->failures = 1;
  advance(20s);  // the miss's batch fails to commit
  EXPECT_FALSE(metricValue(metrics_.render(), series).has_value()) << metrics_.render();
  advance(100ms);  // committed on its retry
  EXPECT_EQ(metricValue(metrics_.render(), series), 1) << metrics_.render();
  EXPECT_EQ(all().size(), 1u);
}

TEST_F(SloTest, AShortFinishByIsCheckedAtItsDeadlineNotAtTheNextMinute) {
  apply(workflow("quick", std::string("slo: { finish_by: 20s }\n") + kLongStep));
  advance(30s);
  trigger("quick");  // due at 00:00:50, before the minute's check
  advance(20s - 1ms);
  EXPECT_TRUE(all().empty());
  advance(1ms);
  EXPECT_EQ(all().size(), 1u);
}

TEST_F(SloTest, ARunThatFinishesInTimeOpensNone) {
  apply(workflow("report", std::string("slo: { max_duration: 45m }\n") + kLongStep));
  trigger("report");
  advance(44min);
  succeedLatest();
  advance(3h);
  EXPECT_TRUE(all().empty());
}

TEST_F(SloTest, FinishByATimeOfDayIsTheFirstSuchTimeAfterTheRunWasCreated) {
  apply(workflow("report", std::string("slo: { finish_by: \"07:00\", timezone: Europe/Paris }\n") +
                               kLongStep));
  trigger("report");  // 2026-01-01T01:00 in Paris: due at 07:00 Paris = 06:00Z
  advance(6h - 1ms);
  EXPECT_TRUE(all().empty());
  advance(1ms);
  ASSERT_EQ(all().size(), 1u);
}

// Fires at 05:00 UTC; its run must have started by 05:10.
std::string nightly(const std::string& extra) {
  return workflow("nightly", "triggers:\n  - { cron: \"0 5 * * *\", misfire: skip }\n" + extra +
                                 "slo: { start_by: 10m }\n" + kLongStep);
}

TEST_F(SloTest, StartByCatchesACronRunHeldByAConcurrencyKey) {
  apply(nightly("concurrency: { key: all, limit: 1 }\n"));
  std::string holder = trigger("nightly");  // holds the key
  advanceByMinutes(5h + 10min - 1s);
  EXPECT_TRUE(all().empty());
  advance(1s);
  auto list = all();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].symptom, "slo_start_by");
  ASSERT_EQ(list[0].runs.size(), 1u);
  EXPECT_NE(list[0].runs[0], holder);  // the waiting cron run
  EXPECT_EQ(misses("start_by nightly trigger 1 fire 2026-01-01T05:00:00Z; run "), 1);
}

TEST_F(SloTest, StartByCatchesACronRunOfAPausedWorkflowAndNotOneThatStarted) {
  apply(nightly(""));
  advanceByMinutes(5h + 11min);
  EXPECT_TRUE(all().empty());  // day 1 started in time
  succeedLatest();
  auto paused = engine_->pauseWorkflow("nightly", kSloAlice);
  engine_->pump();
  ASSERT_TRUE(paused.get().ok());
  advanceByMinutes(24h);
  auto list = all();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].symptom, "slo_start_by");
  EXPECT_EQ(list[0].runs.size(), 1u);
}

TEST_F(SloTest, AFireWithNoRunWhileKeelWasDownIsCheckedOnceAtStart) {
  apply(nightly(""));
  advanceByMinutes(4h);
  engine_.reset();  // keel is down from 04:00 to 06:00: the 05:00 fire is skipped
  flaky_.reset();
  store_.reset();
  clock_.advance(2h);
  openEngine();
  engine_->pump();
  auto list = all();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_TRUE(list[0].runs.empty());
  EXPECT_EQ(misses("start_by nightly trigger 1 fire 2026-01-01T05:00:00Z; no run was created"), 1);
  crashAndRestart();
  advance(1min);
  EXPECT_EQ(all().size(), 1u);
  EXPECT_EQ(all()[0].count, 1);  // never counted twice
}

TEST_F(SloTest, AStartByTimeOfDayMissJoinsTheOpenIncidentTheNextDay) {
  apply(workflow("downstream", std::string("slo: { start_by: \"07:00\" }\n") + kLongStep));
  advance(7h - 1ms);
  EXPECT_TRUE(all().empty());
  advance(1ms);
  ASSERT_EQ(all().size(), 1u);
  EXPECT_EQ(all()[0].message,
            "no run started between 2025-12-31T07:00:00Z and 2026-01-01T07:00:00Z (start_by "
            "07:00 UTC)");
  advance(24h);
  auto list = all();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].count, 2);
  EXPECT_EQ(misses("start_by downstream "), 2);
  // A run started before the next deadline: no miss on day 3.
  advance(1min);
  trigger("downstream");
  advance(24h);
  EXPECT_EQ(all()[0].count, 2);
}

// Tomorrow's miss of a resolved SLO incident is a recurrence: a new
// incident with the same fingerprint, marked recurring, carrying the
// resolution of the first.
TEST_F(SloTest, AMissAfterTheIncidentWasResolvedOpensARecurringOne) {
  apply(workflow("downstream", std::string("slo: { start_by: \"07:00\" }\n") + kLongStep));
  advance(7h - 1ms);
  advance(1ms);
  ASSERT_EQ(all().size(), 1u);
  const std::string first = all()[0].id;
  IncidentRequest resolve{first, IncidentAction::kResolve};
  resolve.resolve = {"the upstream job was moved to 08:00", {}, "nothing to change in keel"};
  auto f = engine_->incidentAction(resolve, kSloAlice);
  engine_->pump();
  auto resolved = f.get();
  ASSERT_TRUE(resolved.ok()) << resolved.error().toString();
  EXPECT_EQ(resolved->state, IncidentState::kResolved);

  advance(24h);  // no run started again: the next day's deadline is missed
  auto list = all();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].state, IncidentState::kResolved);
  EXPECT_EQ(list[0].count, 1) << "a resolved incident is never reopened";
  EXPECT_EQ(list[1].state, IncidentState::kOpen);
  EXPECT_EQ(list[1].symptom, "slo_start_by");
  EXPECT_EQ(list[1].fingerprint, list[0].fingerprint);
  EXPECT_TRUE(list[1].recurring);
  EXPECT_EQ(misses("start_by downstream "), 2);
}

TEST_F(SloTest, FreshnessFromTheFirstApplyThenFromTheLastSuccess) {
  apply(workflow("feed", std::string("slo: { freshness: 26h }\n") + kLongStep));
  advance(26h - 1ms);
  EXPECT_TRUE(all().empty());
  advance(1ms);
  ASSERT_EQ(all().size(), 1u);
  EXPECT_EQ(all()[0].symptom, "slo_freshness");
  trigger("feed");
  succeedLatest();
  EXPECT_EQ(all()[0].state, IncidentState::kMitigated);
  advance(26h - 1ms);
  EXPECT_EQ(all().size(), 1u);
  EXPECT_EQ(all()[0].count, 1);
  advance(1ms);
  // Stale again while the first is mitigated (not resolved): it joins.
  EXPECT_EQ(all().size(), 1u);
  EXPECT_EQ(all()[0].count, 2);
}

TEST_F(SloTest, AFinishByDeadlinePassedWhileDownOpensExactlyOneIncident) {
  apply(workflow("report", std::string("slo: { finish_by: 45m }\n") + kLongStep));
  std::string id = trigger("report");
  advance(30min);
  engine_.reset();
  flaky_.reset();
  store_.reset();
  exec_.keepAcrossRestart = true;
  clock_.advance(30min);  // the deadline passes while keel is down
  openEngine();
  engine_->pump();
  ASSERT_EQ(all().size(), 1u);
  EXPECT_EQ(all()[0].runs, std::vector<std::string>{id});
  crashAndRestart();  // the recorded miss is not counted again
  advance(1min);
  ASSERT_EQ(all().size(), 1u);
  EXPECT_EQ(all()[0].count, 1);
  EXPECT_EQ(misses("finish_by run " + id), 1);
}

TEST_F(SloTest, AStartByTimeOfDayPassedWhileDownCountsTheRunsStartedBeforeTheCrash) {
  apply(workflow("downstream", std::string("slo: { start_by: \"07:00\" }\n") + kLongStep));
  advance(1h);
  trigger("downstream");  // began at 01:00, read back from its events after the restart
  succeedLatest();
  advance(5h);
  auto downFor2h = [&] {
    engine_.reset();
    flaky_.reset();
    store_.reset();
    exec_.started.clear();
    clock_.advance(2h);
    openEngine();
    engine_->pump();
  };
  downFor2h();  // 06:00 -> 08:00: the 07:00 deadline passes while down
  EXPECT_TRUE(all().empty());
  advance(22h);  // day 2, 06:00: no run since 07:00 yesterday
  downFor2h();
  auto list = all();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].symptom, "slo_start_by");
  EXPECT_EQ(misses("start_by downstream 2026-01-02T07:00:00Z; no run of the workflow was created"),
            1);
}

}  // namespace
}  // namespace keel::engine::test
