// The task routes against a broker that the test controls: how many polls
// may wait at once, and how the answers are shaped.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>

#include "api/server_test_fixture.h"

namespace keel::api::test {
namespace {

// A broker whose waiting polls wait until the test lets them go.
class HeldPolls final : public engine::TaskBroker {
 public:
  Result<std::vector<engine::TaskView>> poll(const engine::PollRequest& request) override {
    if (request.wait.count() == 0) return std::vector<engine::TaskView>{};
    std::unique_lock lock(mu_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return released_; });
    --waiting_;
    return std::vector<engine::TaskView>{};
  }
  Result<engine::TaskView> heartbeat(const std::string&, const std::string&) override {
    return Error(ErrorCode::kLeaseLost, "not held");
  }
  std::vector<Status> report(const std::string&, std::vector<engine::TaskReport> reports,
                             std::chrono::milliseconds) override {
    return std::vector<Status>(reports.size(), okStatus());
  }
  std::vector<engine::TaskView> list(const std::string&) const override { return {}; }

  void waitUntilWaiting(int n) {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return waiting_ >= n; });
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool released_ = false;
};

class TaskRoutesTest : public ServerTest {
 protected:
  void TearDown() override {
    broker_.release();
    ServerTest::TearDown();
  }
  HeldPolls broker_;
};

TEST_F(TaskRoutesTest, PollsBeyondHalfTheServerThreadsAreToldToComeBack) {
  ServerOptions options;
  options.workerThreads = 4;  // at most 2 polls wait at once
  options.tasks = &broker_;
  start(std::move(options));
  const std::string poll = R"({"worker":"w1","queues":["q"],"wait_ms":30000})";
  auto first = std::async(std::launch::async, [&] { return post("/api/v1/tasks/poll", poll); });
  auto second = std::async(std::launch::async, [&] { return post("/api/v1/tasks/poll", poll); });
  broker_.waitUntilWaiting(2);
  auto third = post("/api/v1/tasks/poll", poll);
  expectError(third, 429, "too_many_polls");
  EXPECT_EQ(third->get_header_value("Retry-After"), "1");
  // A poll that does not wait, a heartbeat and a report still get through.
  auto now = post("/api/v1/tasks/poll", R"({"worker":"w1","queues":["q"]})");
  ASSERT_TRUE(now);
  EXPECT_EQ(now->status, 200) << now->body;
  auto hb = post("/api/v1/tasks/01JD5V6W3Q8Z0Y2X4C6B8N0M2K.s.1/heartbeat", R"({"worker":"w1"})");
  expectError(hb, 409, "lease_lost");
  broker_.release();
  EXPECT_EQ(first.get()->status, 200);
  EXPECT_EQ(second.get()->status, 200);
  auto again = post("/api/v1/tasks/poll", poll);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;
}

}  // namespace
}  // namespace keel::api::test
