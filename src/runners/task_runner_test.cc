// TaskRunner with a manual clock: queueing, leases, heartbeats, reports
// (answered once durable, repeated ones answered the same), lapsed leases,
// stops, and tasks re-found after a restart of keel.
#include "runners/task_runner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "observe/trace_context.h"
#include "spec/parser.h"

namespace keel::runners {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kRunId = "01JD5V6W3Q8Z0Y2X4C6B8N0M2K";

constexpr const char* kTaskWorkflow = R"(name: score
owner: { team: data, contact: oncall@example.com }
runbook: https://wiki.example.com/rb
steps:
  - name: fetch
    run: "true"
    timeout: 1m
  - name: score.v2
    needs: [fetch]
    task: { queue: scoring, input: { file: "{{ steps.fetch.output.path }}", rows: "{{ steps.fetch.output.rows }}", day: "{{ params.day }}" } }
    timeout: 10m
    heartbeat: 30s
  - name: plain
    task: other
    timeout: 3m
  - name: timed
    task: other
    timeout: 2m
)";

class TaskRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto parsed = spec::parseWorkflow(kTaskWorkflow);
    ASSERT_TRUE(parsed.ok()) << parsed.error().toString();
    wf_ = *parsed;
    params_ = {{"day", "2026-11-28"}};
    outputs_["fetch"] = {{"path", "/data/in/a \"b\".csv"}, {"rows", 42}};
  }

  Result<std::shared_ptr<const engine::PreparedAttempt>> prepare(int step = 1, int attempt = 1,
                                                                 std::string leasedTo = {}) {
    engine::AttemptInput in;
    in.runId = kRunId;
    in.traceId = traceId_;
    in.spanId = observe::attemptSpanId(kRunId, wf_->steps[step].name, attempt);
    in.workflow = "score";
    in.attempt = attempt;
    in.workflowSpec = wf_.get();
    in.step = &wf_->steps[step];
    in.params = &params_;
    in.outputs = &outputs_;
    in.timeout = wf_->steps[step].timeout.value_or(0ms);
    in.leasedTo = std::move(leasedTo);
    return runner_.prepare(in);
  }

  // Starts attempt `attempt` of step `step`; its outcome lands in outcomes_.
  // With `commit`, the end is made durable as soon as it is reported, as the
  // engine does once it has written it.
  engine::StepRunner::Handle start(int step = 1, int attempt = 1, bool commit = true) {
    auto p = prepare(step, attempt);
    EXPECT_TRUE(p.ok()) << p.error().toString();
    std::string name = wf_->steps[step].name;
    return runner_.start(*p, [this, name, attempt, commit](exec::StepOutcome o) {
      outcomes_.push_back(o);
      ++ended_;
      if (commit) runner_.discard(exec::AttemptRef{kRunId, name, attempt});
    });
  }

  std::vector<engine::TaskView> poll(const std::string& worker, int max = 10,
                                     std::string queue = "scoring") {
    auto got = runner_.poll({{std::move(queue)}, worker, max, 0ms});
    EXPECT_TRUE(got.ok()) << got.error().toString();
    return got.ok() ? *got : std::vector<engine::TaskView>{};
  }

  Status complete(const std::string& id, const std::string& worker, json output = {{"score", 7}}) {
    return runner_.complete(id, worker, std::move(output), "scored\n", 0ms);
  }

  ManualClock clock_;
  TaskRunner runner_{clock_, {.reaper = false}};
  std::shared_ptr<const spec::WorkflowSpec> wf_;
  json params_;
  std::map<std::string, json> outputs_;
  std::vector<exec::StepOutcome> outcomes_;
  std::atomic<int> ended_{0};  // outcomes_.size(), for other threads
  std::string traceId_ = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string id1_ = std::string(kRunId) + ".score.v2.1";
};

TEST_F(TaskRunnerTest, TaskIdsNameTheAttemptAndParseBack) {
  EXPECT_EQ(engine::taskId(kRunId, "score.v2", 3), std::string(kRunId) + ".score.v2.3");
  auto ref = engine::parseTaskId(std::string(kRunId) + ".score.v2.3");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->runId, kRunId);
  EXPECT_EQ(ref->step, "score.v2");
  EXPECT_EQ(ref->attempt, 3);
  for (std::string bad :
       std::vector<std::string>{"", "x.y.1", std::string(kRunId) + ".step.0",
                                std::string(kRunId) + ".step.", std::string(kRunId) + "..1",
                                std::string(kRunId) + ".step.1x", std::string(kRunId) + "step.1"})
    EXPECT_FALSE(engine::parseTaskId(bad)) << bad;
}

// A worker is handed the run's trace and the attempt's span, to continue
// the trace under the attempt; each attempt its own span.
TEST_F(TaskRunnerTest, ATaskCarriesTheRunsTraceAndTheAttemptsSpan) {
  start(1, 2);
  auto got = poll("w1");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].traceparent,
            "00-" + traceId_ + "-" + observe::attemptSpanId(kRunId, "score.v2", 2) + "-01");
  // A run stored before runs kept their trace: the trace derived from its id.
  traceId_.clear();
  start(2, 1);
  auto other = poll("w1", 10, "other");
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0].traceparent,
            observe::formatTraceparent(observe::derivedTraceId(kRunId),
                                       observe::attemptSpanId(kRunId, "plain", 1)));
}

TEST_F(TaskRunnerTest, TheInputIsRenderedAsJsonValuesAndTheLeaseIsTheHeartbeat) {
  start();
  auto got = poll("w1");
  ASSERT_EQ(got.size(), 1u);
  const auto& t = got[0];
  EXPECT_EQ(t.id, id1_);
  EXPECT_EQ(t.queue, "scoring");
  EXPECT_EQ(t.runId, kRunId);
  EXPECT_EQ(t.workflow, "score");
  EXPECT_EQ(t.step, "score.v2");
  EXPECT_EQ(t.attempt, 1);
  EXPECT_EQ(t.input, (json{{"file", "/data/in/a \"b\".csv"}, {"rows", 42}, {"day", "2026-11-28"}}));
  EXPECT_EQ(t.idempotencyKey, std::string(kRunId) + "/score.v2");
  EXPECT_TRUE(t.leased);
  EXPECT_EQ(t.worker, "w1");
  ASSERT_TRUE(t.leaseExpiresAt);
  EXPECT_EQ(*t.leaseExpiresAt, clock_.wallNow() + 30s);
  EXPECT_TRUE(poll("w2").empty()) << "a leased task is handed to one worker only";
}

TEST_F(TaskRunnerTest, WithoutHeartbeatTheLeaseIsTheTimeout) {
  start(3);
  start(2);
  auto got = poll("w1", 10, "other");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].step, "timed");  // oldest first
  EXPECT_EQ(*got[0].leaseExpiresAt, clock_.wallNow() + 2min);
  EXPECT_EQ(got[1].step, "plain");
  EXPECT_EQ(*got[1].leaseExpiresAt, clock_.wallNow() + 3min);
  EXPECT_EQ(got[1].input, json::object());
}

TEST_F(TaskRunnerTest, AMissingTemplateValueIsBadInputBeforeAnythingIsQueued) {
  outputs_.erase("fetch");
  auto p = prepare();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(p.error().message().find("task.input.file"), std::string::npos) << p.error().message();
  EXPECT_TRUE(runner_.list("").empty());
}

TEST_F(TaskRunnerTest, ACompletionEndsTheAttemptWithTheOutputAndIsAnsweredOnceDurable) {
  start(1, 1, /*commit=*/false);
  poll("w1");
  // Not durable yet: the worker is told to send it again.
  auto st = runner_.complete(id1_, "w1", {{"score", 7}}, "scored\n", 0ms);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kUnavailable);
  ASSERT_EQ(outcomes_.size(), 1u);
  EXPECT_TRUE(outcomes_[0].succeeded);
  EXPECT_EQ(outcomes_[0].outputJson, R"({"score":7})");
  EXPECT_EQ(outcomes_[0].stdoutText, "scored\n");
  // The engine writes it; the same report again is answered, and changes nothing.
  runner_.discard(exec::AttemptRef{kRunId, "score.v2", 1});
  EXPECT_TRUE(runner_.complete(id1_, "w1", {{"score", 7}}, "", 0ms).ok());
  EXPECT_EQ(outcomes_.size(), 1u);
  // Anyone else, or another kind of report, is refused.
  auto other = complete(id1_, "w2");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code(), ErrorCode::kLeaseLost);
  EXPECT_NE(other.error().message().find("worker 'w1' already reported it"), std::string::npos);
  auto failed = runner_.fail(id1_, "w1", {}, "", 0ms);
  EXPECT_EQ(failed.error().code(), ErrorCode::kLeaseLost);
  EXPECT_TRUE(runner_.list("").empty());
}

TEST_F(TaskRunnerTest, AReportWaitsForTheEngineToMakeItDurable) {
  start(1, 1, /*commit=*/false);
  poll("w1");
  // The engine records the end on its own thread a moment later.
  std::thread engine([&] {
    while (ended_ == 0) std::this_thread::yield();
    runner_.discard(exec::AttemptRef{kRunId, "score.v2", 1});
  });
  auto st = runner_.complete(id1_, "w1", {{"score", 7}}, "", 30s);
  engine.join();
  EXPECT_TRUE(st.ok()) << st.error().toString();
}

TEST_F(TaskRunnerTest, AFailureCarriesItsClassMessageAndEarliestRetry) {
  start();
  poll("w1");
  engine::TaskFailure f;
  f.failureClass = FailureClass::kRateLimited;
  f.message = "quota exceeded";
  f.retryAfter = 90s;
  ASSERT_TRUE(runner_.fail(id1_, "w1", f, "429 from the scorer\n", 0ms).ok());
  ASSERT_EQ(outcomes_.size(), 1u);
  EXPECT_FALSE(outcomes_[0].succeeded);
  EXPECT_EQ(outcomes_[0].failureClass, FailureClass::kRateLimited);
  EXPECT_EQ(outcomes_[0].message, "quota exceeded");
  EXPECT_EQ(outcomes_[0].stderrText, "429 from the scorer\n");
  ASSERT_TRUE(outcomes_[0].retryNotBefore);
  EXPECT_EQ(*outcomes_[0].retryNotBefore, clock_.wallNow() + 90s);
}

TEST_F(TaskRunnerTest, ALapsedLeaseLosesTheAttemptAndTheLateWorkerChangesNothing) {
  start();
  poll("w1");
  clock_.advance(29s);
  EXPECT_EQ(runner_.expireLeases(), 0);
  // A heartbeat buys another lease length from now.
  auto hb = runner_.heartbeat(id1_, "w1");
  ASSERT_TRUE(hb.ok()) << hb.error().toString();
  EXPECT_EQ(*hb->leaseExpiresAt, clock_.wallNow() + 30s);
  clock_.advance(29s);
  EXPECT_EQ(runner_.expireLeases(), 0);
  EXPECT_TRUE(outcomes_.empty());
  clock_.advance(1s);
  EXPECT_EQ(runner_.expireLeases(), 1);
  ASSERT_EQ(outcomes_.size(), 1u);
  EXPECT_EQ(outcomes_[0].failureClass, FailureClass::kLost);
  EXPECT_EQ(outcomes_[0].message, "lease lapsed: worker 'w1' sent no heartbeat or result for 30s");
  auto late = complete(id1_, "w1");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code(), ErrorCode::kLeaseLost);
  EXPECT_NE(late.error().message().find("lease lapsed"), std::string::npos)
      << late.error().message();
  auto hb2 = runner_.heartbeat(id1_, "w1");
  ASSERT_FALSE(hb2.ok());
  EXPECT_EQ(hb2.error().code(), ErrorCode::kLeaseLost);
  EXPECT_EQ(outcomes_.size(), 1u);
  EXPECT_EQ(runner_.counts().leasesLapsed, 1u);
}

TEST_F(TaskRunnerTest, OnlyTheLeaseHolderMayReportOrHeartbeat) {
  start();
  poll("w1");
  auto hb = runner_.heartbeat(id1_, "w2");
  ASSERT_FALSE(hb.ok());
  EXPECT_EQ(hb.error().code(), ErrorCode::kLeaseLost);
  EXPECT_NE(hb.error().message().find("leased to worker 'w1'"), std::string::npos);
  EXPECT_EQ(complete(id1_, "w2").error().code(), ErrorCode::kLeaseLost);
  EXPECT_TRUE(outcomes_.empty());
  auto unknown = complete("no-such-task", "w1");
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
  auto ended = complete(std::string(kRunId) + ".score.v2.9", "w1");
  EXPECT_EQ(ended.error().code(), ErrorCode::kLeaseLost);
}

TEST_F(TaskRunnerTest, AQueuedTaskCannotBeReportedOn) {
  start();
  auto st = complete(id1_, "w1");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kLeaseLost);
  EXPECT_NE(st.error().message().find("queued, not leased"), std::string::npos);
  EXPECT_EQ(poll("w1").size(), 1u);
}

TEST_F(TaskRunnerTest, AnOutputTooLargeIsRefusedAndTheTaskStaysLeased) {
  TaskRunner small(clock_, {.outputCapBytes = 16, .reaper = false});
  auto p = prepare();
  std::vector<exec::StepOutcome> got;
  small.start(*p, [&](exec::StepOutcome o) { got.push_back(o); });
  ASSERT_EQ(small.poll({{"scoring"}, "w1", 1, 0ms})->size(), 1u);
  auto st = small.complete(id1_, "w1", {{"text", std::string(100, 'x')}}, "", 0ms);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kTooLarge);
  EXPECT_TRUE(got.empty());
  auto list = small.list("");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].worker, "w1");
}

TEST_F(TaskRunnerTest, StoppingEndsTheTaskWithTheEnginesClass) {
  auto queued = start(1, 1);
  start(3, 1);
  ASSERT_EQ(poll("w1", 1, "other").size(), 1u);  // "timed" is leased to w1
  runner_.stop(queued, FailureClass::kTimeout);
  ASSERT_EQ(outcomes_.size(), 1u);
  EXPECT_EQ(outcomes_[0].failureClass, FailureClass::kTimeout);
  EXPECT_EQ(outcomes_[0].message, "timed out while queued, before any worker took it");
  EXPECT_TRUE(poll("w2").empty());
  runner_.stop(queued, FailureClass::kTimeout);  // ended already: nothing
  EXPECT_EQ(outcomes_.size(), 1u);
  auto list = runner_.list("other");
  ASSERT_EQ(list.size(), 1u);
  const std::string timedId = list[0].id;
  // Cancel the leased one: its worker learns on its next report.
  runner_.stop(2, FailureClass::kCancelled);
  ASSERT_EQ(outcomes_.size(), 2u);
  EXPECT_EQ(outcomes_[1].message, "cancelled while leased to worker 'w1'");
  EXPECT_EQ(complete(timedId, "w1").error().code(), ErrorCode::kLeaseLost);
}

TEST_F(TaskRunnerTest, ATaskHandedOutBeforeARestartIsLeasedAgainToItsWorker) {
  auto p = prepare(1, 1, "w1");
  std::vector<exec::StepOutcome> got;
  std::atomic<bool> ended{false};
  runner_.attach(exec::AttemptRef{kRunId, "score.v2", 1}, *p, [&](exec::StepOutcome o) {
    got.push_back(o);
    ended = true;
  });
  // Not handed out again: its worker may still be working on it.
  EXPECT_TRUE(poll("w2").empty());
  auto list = runner_.list("scoring");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_TRUE(list[0].leased);
  EXPECT_EQ(list[0].worker, "w1");
  EXPECT_EQ(*list[0].leaseExpiresAt, clock_.wallNow() + 30s);  // one lease from the restart
  EXPECT_EQ(list[0].input["rows"], 42);
  EXPECT_EQ(runner_.heartbeat(id1_, "w2").error().code(), ErrorCode::kLeaseLost);
  ASSERT_TRUE(runner_.heartbeat(id1_, "w1").ok());
  auto answer = std::async(std::launch::async, [&] {
    return runner_.complete(id1_, "w1", {{"score", 7}}, "", 30s);
  });
  while (!ended) std::this_thread::yield();
  runner_.discard(exec::AttemptRef{kRunId, "score.v2", 1});
  EXPECT_TRUE(answer.get().ok());
  EXPECT_TRUE(got[0].succeeded);
}

TEST_F(TaskRunnerTest, ATaskNeverHandedOutIsQueuedAgainAtOnce) {
  runner_.attach(exec::AttemptRef{kRunId, "score.v2", 1}, *prepare(),
                 [&](exec::StepOutcome o) { outcomes_.push_back(o); });
  auto got = poll("w2");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, id1_);
  EXPECT_EQ(got[0].input["day"], "2026-11-28");
}

TEST_F(TaskRunnerTest, ATaskRefoundThatItsWorkerDoesNotReportOnLapsesAfterOneLease) {
  runner_.attach(exec::AttemptRef{kRunId, "score.v2", 1}, *prepare(1, 1, "w1"),
                 [&](exec::StepOutcome o) { outcomes_.push_back(o); });
  clock_.advance(29s);
  EXPECT_EQ(runner_.expireLeases(), 0);
  clock_.advance(1s);
  EXPECT_EQ(runner_.expireLeases(), 1);
  ASSERT_EQ(outcomes_.size(), 1u);
  EXPECT_EQ(outcomes_[0].failureClass, FailureClass::kLost);
  EXPECT_EQ(outcomes_[0].message,
            "lease lapsed: keel restarted and worker 'w1' did not report on this task within 30s");
}

TEST_F(TaskRunnerTest, ATaskThatCouldNotBePreparedAgainIsClaimedByItsFirstReport) {
  runner_.attach(exec::AttemptRef{kRunId, "score.v2", 1}, nullptr,
                 [&](exec::StepOutcome o) { outcomes_.push_back(o); });
  EXPECT_TRUE(poll("w2").empty());
  ASSERT_TRUE(runner_.heartbeat(id1_, "w1").ok());
  EXPECT_EQ(runner_.heartbeat(id1_, "w2").error().code(), ErrorCode::kLeaseLost);
  clock_.advance(5min);  // the default lease
  EXPECT_EQ(runner_.expireLeases(), 1);
}

// A lease log that records what it is given and answers as told.
class FakeLeaseLog final : public engine::TaskLeaseLog {
 public:
  std::future<Status> recordTaskLeases(std::vector<engine::TaskLease> leases) override {
    for (auto& l : leases) recorded.push_back(std::move(l));
    std::promise<Status> p;
    p.set_value(fail ? Status(Error(ErrorCode::kIo, "disk full")) : okStatus());
    return p.get_future();
  }
  std::vector<engine::TaskLease> recorded;
  bool fail = false;
};

TEST_F(TaskRunnerTest, APollAnswersOnceItsLeasesAreRecordedAndGivesThemBackIfTheyCannotBe) {
  FakeLeaseLog log;
  runner_.setLeaseLog(&log);
  start();
  log.fail = true;
  auto refused = runner_.poll({{"scoring"}, "w1", 5, 0ms});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(refused.error().message().find("disk full"), std::string::npos);
  log.fail = false;
  auto got = poll("w2");
  ASSERT_EQ(got.size(), 1u) << "the task went back to its queue";
  ASSERT_EQ(log.recorded.size(), 2u);
  EXPECT_EQ(log.recorded[1].runId, kRunId);
  EXPECT_EQ(log.recorded[1].step, "score.v2");
  EXPECT_EQ(log.recorded[1].attempt, 1);
  EXPECT_EQ(log.recorded[1].worker, "w2");
}

TEST(TaskLeasedEvent, TheWorkerIsReadBackFromTheMessage) {
  EXPECT_EQ(engine::leasedWorkerOf(engine::leasedMessage("host-1:42")), "host-1:42");
  EXPECT_FALSE(engine::leasedWorkerOf("leased to worker '"));
  EXPECT_FALSE(engine::leasedWorkerOf("something else"));
}

TEST_F(TaskRunnerTest, ALongPollReturnsTheTaskQueuedWhileItWaits) {
  auto waiting = std::async(std::launch::async, [&] {
    return runner_.poll({{"other", "scoring"}, "w1", 5, 30s});
  });
  start();
  auto got = waiting.get();
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].id, id1_);
}

TEST_F(TaskRunnerTest, ClosingEndsWaitingPollsAndRefusesReports) {
  start();
  poll("w1");
  auto waiting = std::async(std::launch::async, [&] {
    return runner_.poll({{"other"}, "w2", 1, 30s});
  });
  runner_.close();
  auto polled = waiting.get();
  ASSERT_FALSE(polled.ok());
  EXPECT_EQ(polled.error().code(), ErrorCode::kUnavailable);
  auto st = complete(id1_, "w1");
  EXPECT_EQ(st.error().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(outcomes_.empty()) << "a report refused while stopping changes nothing";
}

TEST_F(TaskRunnerTest, ABatchOfReportsIsAnsweredPerReport) {
  start(1, 1);
  start(3, 1);
  auto a = poll("w1");
  auto b = poll("w1", 1, "other");
  std::vector<engine::TaskReport> reports(3);
  reports[0].id = a[0].id;
  reports[0].completed = true;
  reports[0].output = {{"ok", true}};
  reports[1].id = b[0].id;
  reports[1].failure.failureClass = FailureClass::kBadInput;
  reports[2].id = "nope";
  auto st = runner_.report("w1", reports, 0ms);
  ASSERT_EQ(st.size(), 3u);
  EXPECT_TRUE(st[0].ok());
  EXPECT_TRUE(st[1].ok());
  EXPECT_EQ(st[2].error().code(), ErrorCode::kNotFound);
  ASSERT_EQ(outcomes_.size(), 2u);
  EXPECT_EQ(outcomes_[1].failureClass, FailureClass::kBadInput);
}

}  // namespace
}  // namespace keel::runners

namespace keel::runners {
namespace {

TEST_F(TaskRunnerTest, TheCountsReachTheMetricsRegistry) {
  observe::MetricsRegistry metrics;
  TaskRunner counted(clock_, {.reaper = false, .metrics = &metrics});
  auto p = prepare();
  counted.start(*p, [](exec::StepOutcome) {});
  counted.start(*prepare(1, 2), [](exec::StepOutcome) {});
  EXPECT_NE(metrics.render().find("keel_tasks_queued 2\n"), std::string::npos) << metrics.render();
  ASSERT_EQ(counted.poll({{"scoring"}, "w1", 1, 0ms})->size(), 1u);
  clock_.advance(30s);
  ASSERT_EQ(counted.expireLeases(), 1);
  const std::string text = metrics.render();
  EXPECT_NE(text.find("keel_tasks_queued 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("keel_tasks_leased 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("keel_tasks_handed_out_total 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("keel_task_leases_lapsed_total 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# HELP keel_tasks_completed_total"), std::string::npos) << text;
}

}  // namespace
}  // namespace keel::runners

namespace keel::runners {
namespace {

TEST_F(TaskRunnerTest, AReportCanAskForTheNextTasksInTheSameCall) {
  FakeLeaseLog log;
  runner_.setLeaseLog(&log);
  start(1, 1);
  start(3, 1);
  auto first = poll("w1");
  ASSERT_EQ(first.size(), 1u);
  std::vector<engine::TaskReport> reports(1);
  reports[0].id = first[0].id;
  reports[0].completed = true;
  reports[0].output = {{"score", 1}};
  auto answer = runner_.reportAndPoll("w1", reports, {{"other"}, "w1", 10, 0ms}, 0ms);
  ASSERT_EQ(answer.reports.size(), 1u);
  EXPECT_TRUE(answer.reports[0].ok()) << answer.reports[0].error().toString();
  ASSERT_TRUE(answer.tasks.ok());
  ASSERT_EQ(answer.tasks->size(), 1u);
  EXPECT_EQ((*answer.tasks)[0].step, "timed");
  EXPECT_EQ((*answer.tasks)[0].worker, "w1");
  ASSERT_EQ(log.recorded.size(), 2u) << "the new lease is recorded too";
  EXPECT_EQ(log.recorded[1].step, "timed");
  ASSERT_EQ(outcomes_.size(), 1u);
  EXPECT_TRUE(outcomes_[0].succeeded);
  // A poll that cannot be recorded gives its tasks back; the report stands.
  start(2, 1);
  log.fail = true;
  std::vector<engine::TaskReport> none;
  auto refused = runner_.reportAndPoll("w1", none, {{"other"}, "w1", 10, 0ms}, 0ms);
  EXPECT_FALSE(refused.tasks.ok());
  log.fail = false;
  EXPECT_EQ(poll("w2", 10, "other").size(), 1u);
}

}  // namespace
}  // namespace keel::runners
