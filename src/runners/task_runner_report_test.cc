// TaskRunner::report() on a batch: it answers once every end it took is
// durable (the engine's discard()), each report on its own, and
// kUnavailable for ends still unrecorded when keel releases it.
#include <gtest/gtest.h>

#include <future>

#include "runners/task_runner.h"
#include "spec/parser.h"

namespace keel::runners {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kReportWorkflow = R"(name: chain
owner: { team: data, contact: oncall@example.com }
runbook: https://wiki.example.com/rb
steps:
  - { name: a, task: { queue: q, input: { n: 1 } }, timeout: 1m }
  - { name: b, task: { queue: q }, needs: [a], timeout: 1m }
)";

class TaskReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto parsed = spec::parseWorkflow(kReportWorkflow);
    ASSERT_TRUE(parsed.ok()) << parsed.error().toString();
    wf_ = *parsed;
  }

  // Queues step `index` of the run as attempt 1; its end lands in ended_.
  void queue(size_t index) {
    engine::AttemptInput in;
    in.runId = kRunId;
    in.workflow = "chain";
    in.workflowSpec = wf_.get();
    in.step = &wf_->steps[index];
    in.params = &params_;
    in.outputs = &outputs_;
    in.timeout = 1min;
    auto p = runner_.prepare(in);
    ASSERT_TRUE(p.ok()) << p.error().toString();
    runner_.start(*p, [this](exec::StepOutcome o) { ended_.push_back(o.succeeded); });
  }

  std::vector<engine::TaskReport> completions() {
    std::vector<engine::TaskReport> out(2);
    out[0].id = engine::taskId(kRunId, "a", 1);
    out[1].id = engine::taskId(kRunId, "b", 1);
    for (auto& r : out) {
      r.completed = true;
      r.output = json{{"ok", true}};
    }
    return out;
  }

  void leaseBoth() {
    auto got = runner_.poll({{"q"}, "w1", 10, 0ms});
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), 2u);
  }

  static constexpr const char* kRunId = "01KB2C3D4E5F6G7H8J9KMNPQRS";
  ManualClock clock_;
  TaskRunner runner_{clock_, TaskRunner::Options{.reaper = false}};
  std::shared_ptr<const spec::WorkflowSpec> wf_;
  json params_ = json::object();
  std::map<std::string, json> outputs_;
  std::vector<bool> ended_;
};

TEST_F(TaskReportTest, ABatchAnswersOnceEveryEndItTookIsDurable) {
  queue(0);
  queue(1);
  leaseBoth();
  auto answer =
      std::async(std::launch::async, [&] { return runner_.report("w1", completions(), 60s); });
  // Both ends were handed to the engine before report() waits.
  while (runner_.counts().completed < 2) std::this_thread::yield();
  runner_.discard({kRunId, "a", 1, 0});
  EXPECT_EQ(answer.wait_for(50ms), std::future_status::timeout);
  runner_.discard({kRunId, "b", 1, 0});
  auto statuses = answer.get();
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_TRUE(statuses[0].ok());
  EXPECT_TRUE(statuses[1].ok());
  EXPECT_EQ(ended_, (std::vector<bool>{true, true}));
  // The same batch again is answered the same way at once.
  auto again = runner_.report("w1", completions(), 60s);
  EXPECT_TRUE(again[0].ok());
  EXPECT_TRUE(again[1].ok());
}

TEST_F(TaskReportTest, EndsNotYetRecordedWhenReleasedAnswerUnavailable) {
  queue(0);
  queue(1);
  leaseBoth();
  auto answer =
      std::async(std::launch::async, [&] { return runner_.report("w1", completions(), 60s); });
  while (runner_.counts().completed < 2) std::this_thread::yield();
  runner_.discard({kRunId, "a", 1, 0});
  runner_.release();
  auto statuses = answer.get();
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_TRUE(statuses[0].ok());
  ASSERT_FALSE(statuses[1].ok());
  EXPECT_EQ(statuses[1].error().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace keel::runners
