#include "exec/fake_executor.h"

#include <gtest/gtest.h>

#include <vector>

namespace keel::exec {
namespace {

StepRequest request(const std::string& step) {
  StepRequest r;
  r.runId = "run-1";
  r.step = step;
  r.command = "echo " + step;
  return r;
}

struct Recorder {
  std::vector<std::pair<std::string, StepOutcome>> outcomes;
  std::function<void(StepOutcome)> callback(const std::string& name) {
    return [this, name](StepOutcome o) { outcomes.emplace_back(name, std::move(o)); };
  }
};

TEST(FakeExecutorTest, StartRecordsAndCompleteDelivers) {
  FakeExecutor fake;
  Recorder rec;
  ExecHandle a = fake.start(request("a"), rec.callback("a"));
  ExecHandle b = fake.start(request("b"), rec.callback("b"));
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 2u);
  ASSERT_EQ(fake.pending().size(), 2u);
  EXPECT_EQ(fake.pending()[0].request.step, "a");
  EXPECT_TRUE(rec.outcomes.empty());

  EXPECT_TRUE(fake.complete(b, FakeExecutor::success(R"({"x":1})")));
  ASSERT_EQ(rec.outcomes.size(), 1u);
  EXPECT_EQ(rec.outcomes[0].first, "b");
  EXPECT_TRUE(rec.outcomes[0].second.succeeded);
  EXPECT_EQ(rec.outcomes[0].second.outputJson, R"({"x":1})");
  EXPECT_FALSE(fake.complete(b, FakeExecutor::success()));  // already ended
  EXPECT_FALSE(fake.complete(99, FakeExecutor::success()));

  auto next = fake.finishNext(FakeExecutor::failure(FailureClass::kBadInput, "bad", 65));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, a);
  EXPECT_EQ(rec.outcomes[1].second.failureClass, FailureClass::kBadInput);
  EXPECT_EQ(rec.outcomes[1].second.exitCode, 65);
  EXPECT_FALSE(fake.finishNext(FakeExecutor::success()).has_value());
  EXPECT_TRUE(fake.pending().empty());
  EXPECT_EQ(fake.started().size(), 2u);
}

TEST(FakeExecutorTest, StopCompletesWithTheGivenClassByDefault) {
  FakeExecutor fake;
  Recorder rec;
  ExecHandle a = fake.start(request("a"), rec.callback("a"));
  fake.stop(a, FailureClass::kTimeout);
  ASSERT_EQ(rec.outcomes.size(), 1u);
  EXPECT_FALSE(rec.outcomes[0].second.succeeded);
  EXPECT_EQ(rec.outcomes[0].second.failureClass, FailureClass::kTimeout);
  fake.stop(a, FailureClass::kCancelled);  // ended: recorded, no effect
  EXPECT_EQ(rec.outcomes.size(), 1u);
  auto stops = fake.stops();
  ASSERT_EQ(stops.size(), 2u);
  EXPECT_TRUE(stops[0].wasPending);
  EXPECT_FALSE(stops[1].wasPending);
  EXPECT_EQ(stops[1].why, FailureClass::kCancelled);
}

TEST(FakeExecutorTest, StopCanOnlyRecord) {
  FakeExecutor fake;
  fake.setCompleteOnStop(false);
  Recorder rec;
  ExecHandle a = fake.start(request("a"), rec.callback("a"));
  fake.stop(a, FailureClass::kTimeout);
  EXPECT_TRUE(rec.outcomes.empty());
  EXPECT_EQ(fake.pending().size(), 1u);
  EXPECT_TRUE(fake.complete(a, FakeExecutor::failure(FailureClass::kTimeout)));
  EXPECT_EQ(rec.outcomes.size(), 1u);
}

TEST(FakeExecutorTest, ShutdownCancelsPendingAndLaterStarts) {
  FakeExecutor fake;
  Recorder rec;
  fake.start(request("a"), rec.callback("a"));
  fake.start(request("b"), rec.callback("b"));
  fake.shutdown();
  ASSERT_EQ(rec.outcomes.size(), 2u);
  for (const auto& [name, o] : rec.outcomes) EXPECT_EQ(o.failureClass, FailureClass::kCancelled);
  EXPECT_TRUE(fake.isShutdown());
  fake.start(request("c"), rec.callback("c"));
  ASSERT_EQ(rec.outcomes.size(), 3u);
  EXPECT_EQ(rec.outcomes[2].second.failureClass, FailureClass::kCancelled);
  EXPECT_TRUE(fake.pending().empty());
}

TEST(FakeExecutorTest, CallbacksMayReenter) {
  FakeExecutor fake;
  Recorder rec;
  ExecHandle second = 0;
  fake.start(request("a"), [&](StepOutcome) {
    second = fake.start(request("b"), rec.callback("b"));  // the fake's lock is not held
  });
  fake.finishNext(FakeExecutor::success());
  ASSERT_NE(second, 0u);
  EXPECT_EQ(fake.pending().size(), 1u);
  EXPECT_EQ(fake.pending()[0].handle, second);
}

}  // namespace
}  // namespace keel::exec
