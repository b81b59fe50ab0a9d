// The metrics by workflow (workflow_metrics.h), read from the registry's
// text as Prometheus would scrape it, on a manual clock.
#include <chrono>
#include <optional>
#include <sstream>

#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

double unixSeconds(WallTime t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

class EngineMetricsTest : public EngineTest {};

TEST_F(EngineMetricsTest, AttemptsAndRunsAreTimedAndCountedByWorkflow) {
  apply(workflow("flaky", R"(
steps:
  - name: call
    run: "call"
    timeout: 1m
    retry: { max_attempts: 3, backoff: fixed, initial: 10s, jitter: none }
)"));
  auto id = trigger("flaky");
  clock_.advance(2s);
  exec_.fail(0, FailureClass::kError, 1);  // attempt 1: 2 s, error
  engine_->pump();
  clock_.advance(10s);  // the backoff
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 2u);
  clock_.advance(3s);
  exec_.succeed(1);  // attempt 2: 3 s; the run: 15 s
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kSucceeded);

  const std::string text = metrics_.render();
  const std::string step = "keel_step_attempt_duration_seconds";
  EXPECT_EQ(metricValue(text, step + "_count{kind=\"run\",workflow=\"flaky\"}"), 2) << text;
  EXPECT_EQ(metricValue(text, step + "_sum{kind=\"run\",workflow=\"flaky\"}"), 5) << text;
  EXPECT_EQ(metricValue(text, step + "_bucket{kind=\"run\",workflow=\"flaky\",le=\"2.5\"}"), 1);
  EXPECT_EQ(metricValue(text, step + "_bucket{kind=\"run\",workflow=\"flaky\",le=\"5\"}"), 2);
  const std::string run = "keel_run_duration_seconds";
  EXPECT_EQ(metricValue(text, run + "_count{state=\"succeeded\",workflow=\"flaky\"}"), 1) << text;
  EXPECT_EQ(metricValue(text, run + "_sum{state=\"succeeded\",workflow=\"flaky\"}"), 15) << text;
  EXPECT_EQ(metricValue(text, run + "_bucket{state=\"succeeded\",workflow=\"flaky\",le=\"10\"}"),
            0);
  EXPECT_EQ(metricValue(text, run + "_bucket{state=\"succeeded\",workflow=\"flaky\",le=\"30\"}"),
            1);
  // A retry is no second start.
  const std::string start = "keel_run_trigger_to_start_seconds";
  EXPECT_EQ(metricValue(text, start + "_count{workflow=\"flaky\"}"), 1) << text;
  EXPECT_EQ(metricValue(text, start + "_sum{workflow=\"flaky\"}"), 0) << text;
  EXPECT_EQ(metricValue(text, "keel_attempts_failed_total{class=\"error\",workflow=\"flaky\"}"), 1)
      << text;
  EXPECT_EQ(metricValue(text, "keel_attempts_succeeded_total{workflow=\"flaky\"}"), 1) << text;
  EXPECT_EQ(metricValue(text, "keel_runs_finished_total{state=\"succeeded\",workflow=\"flaky\"}"),
            1)
      << text;
  EXPECT_EQ(metricValue(text, "keel_workflow_last_success_timestamp_seconds{workflow=\"flaky\"}"),
            unixSeconds(detail(id).run.finishedAt.value()))
      << text;
}

TEST_F(EngineMetricsTest, TriggerToStartIsTheWaitBeforeTheFirstAttempt) {
  apply(workflow("one-at-a-time", R"(
concurrency: { key: "all", limit: 1 }
steps:
  - name: a
    run: "a"
    timeout: 1m
)"));
  trigger("one-at-a-time");
  auto second = trigger("one-at-a-time");  // waits for the first one's slot
  clock_.advance(4s);
  exec_.succeed(0);
  engine_->pump();
  ASSERT_EQ(exec_.started.size(), 2u);
  clock_.advance(1s);
  exec_.succeed(1);
  engine_->pump();
  ASSERT_EQ(detail(second).run.state, RunState::kSucceeded);

  const std::string text = metrics_.render();
  const std::string start = "keel_run_trigger_to_start_seconds";
  EXPECT_EQ(metricValue(text, start + "_count{workflow=\"one-at-a-time\"}"), 2) << text;
  EXPECT_EQ(metricValue(text, start + "_sum{workflow=\"one-at-a-time\"}"), 4) << text;
  EXPECT_EQ(metricValue(text, start + "_bucket{workflow=\"one-at-a-time\",le=\"0.01\"}"), 1)
      << text;
  // The second run took 5 s from its creation, though its step took 1 s.
  EXPECT_EQ(metricValue(text,
                        "keel_run_duration_seconds_sum{state=\"succeeded\",workflow=\"one-at-a-"
                        "time\"}"),
            4 + 5)
      << text;
}

TEST_F(EngineMetricsTest, FailedAndCancelledRunsAreCountedByState) {
  apply(workflow("w", R"(
steps:
  - name: a
    run: "a"
    timeout: 1m
    retry: { max_attempts: 1 }
)"));
  trigger("w");
  exec_.fail(0, FailureClass::kBadInput, 65);
  engine_->pump();
  auto cancelled = trigger("w");
  auto f = engine_->cancel(cancelled, RequestContext{});
  engine_->pump();
  ASSERT_TRUE(f.get().ok());
  engine_->pump();

  const std::string text = metrics_.render();
  EXPECT_EQ(metricValue(text, "keel_runs_finished_total{state=\"failed\",workflow=\"w\"}"), 1)
      << text;
  EXPECT_EQ(metricValue(text, "keel_runs_finished_total{state=\"cancelled\",workflow=\"w\"}"), 1)
      << text;
  EXPECT_EQ(metricValue(text, "keel_attempts_failed_total{class=\"bad_input\",workflow=\"w\"}"), 1)
      << text;
  EXPECT_EQ(metricValue(text, "keel_attempts_failed_total{class=\"cancelled\",workflow=\"w\"}"), 1)
      << text;
  EXPECT_EQ(metricValue(text, "keel_workflow_last_success_timestamp_seconds{workflow=\"w\"}"),
            std::nullopt)
      << "no run of w succeeded";
}

TEST_F(EngineMetricsTest, ARunFailedByRecoveryIsCountedWithItsLostAttempt) {
  const std::string broken = storeRunOfAnUnparseableVersion();
  clock_.advance(7s);
  crashAndRestart();
  ASSERT_EQ(detail(broken).run.state, RunState::kFailed);

  const std::string text = metrics_.render();
  EXPECT_EQ(metricValue(text, "keel_runs_finished_total{state=\"failed\",workflow=\"broken\"}"), 1)
      << text;
  EXPECT_EQ(metricValue(text, "keel_attempts_failed_total{class=\"lost\",workflow=\"broken\"}"), 1)
      << text;
  EXPECT_EQ(metricValue(text,
                        "keel_step_attempt_duration_seconds_sum{kind=\"unknown\",workflow="
                        "\"broken\"}"),
            7)
      << text;
}

TEST_F(EngineMetricsTest, LastSuccessIsLoadedFromTheStoreAtStart) {
  apply(workflow("daily", R"(
steps:
  - name: a
    run: "a"
    timeout: 1m
)"));
  apply(workflow("never", R"(
steps:
  - name: a
    run: "a"
    timeout: 1m
)"));
  auto id = trigger("daily");
  clock_.advance(3s);
  exec_.succeed(0);
  engine_->pump();
  const double finishedAt = unixSeconds(detail(id).run.finishedAt.value());
  engine_->stop();
  engine_.reset();

  // A new keel with a registry of its own, as after a restart.
  clock_.advance(26h);
  observe::MetricsRegistry fresh;
  EngineOptions opts;
  opts.manual = true;
  opts.defaultWorkdir = dir_.path();
  opts.metrics = &fresh;
  Engine restarted(*flaky_, exec_, clock_, random_, opts);
  ASSERT_TRUE(restarted.start().ok());
  const std::string text = fresh.render();
  EXPECT_EQ(metricValue(text, "keel_workflow_last_success_timestamp_seconds{workflow=\"daily\"}"),
            finishedAt)
      << text;
  EXPECT_EQ(metricValue(text, "keel_workflow_last_success_timestamp_seconds{workflow=\"never\"}"),
            std::nullopt)
      << text;
  // Every applied workflow's counters start at 0, so a first failure is an
  // increase.
  EXPECT_EQ(metricValue(text, "keel_runs_finished_total{state=\"failed\",workflow=\"never\"}"), 0)
      << text;
  EXPECT_EQ(metricValue(text, "keel_attempts_failed_total{class=\"timeout\",workflow=\"never\"}"),
            0)
      << text;
  restarted.stop();
}

TEST_F(EngineMetricsTest, OnlyAnAppliedWorkflowGetsSeries) {
  apply(workflow("applied", R"(
steps:
  - { name: a, noop: true }
)"));
  trigger("applied");
  auto f = engine_->trigger({"no-such-workflow", nlohmann::json::object(), ""});
  engine_->pump();
  EXPECT_FALSE(f.get().ok());
  const std::string text = metrics_.render();
  EXPECT_EQ(metricValue(text, "keel_runs_finished_total{state=\"succeeded\",workflow=\"applied\"}"),
            1)
      << text;
  EXPECT_EQ(text.find("no-such-workflow"), std::string::npos) << text;
}

}  // namespace
}  // namespace keel::engine::test
