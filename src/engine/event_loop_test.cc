#include "engine/event_loop.h"

#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace keel::engine {
namespace {

TEST(EventLoop, RunsPostedTasksInOrderThenDueTimersByTime) {
  ManualClock clock;
  EventLoop loop(clock);
  std::vector<std::string> order;
  loop.runAt(clock.monoNow() + std::chrono::seconds(2), [&] { order.push_back("t2"); });
  loop.runAt(clock.monoNow() + std::chrono::seconds(1), [&] { order.push_back("t1"); });
  loop.post([&] { order.push_back("p1"); });
  loop.post([&] { order.push_back("p2"); });
  loop.runUntilIdle();
  EXPECT_EQ(order, (std::vector<std::string>{"p1", "p2"}));
  clock.advance(std::chrono::milliseconds(1500));
  loop.runUntilIdle();
  EXPECT_EQ(order.back(), "t1");
  EXPECT_EQ(order.size(), 3u);
  clock.advance(std::chrono::seconds(1));
  loop.runUntilIdle();
  EXPECT_EQ(order.back(), "t2");
  EXPECT_EQ(loop.pendingTimers(), 0u);
}

TEST(EventLoop, ACancelledTimerNeverRunsAndLeavesNothingBehind) {
  ManualClock clock;
  EventLoop loop(clock);
  int ran = 0;
  auto a = loop.runAt(clock.monoNow() + std::chrono::hours(24), [&] { ran += 1; });
  loop.runAt(clock.monoNow() + std::chrono::hours(24), [&] { ran += 10; });
  EXPECT_EQ(loop.pendingTimers(), 2u);
  loop.cancel(a);
  EXPECT_EQ(loop.pendingTimers(), 1u);
  loop.cancel(a);  // twice is harmless
  clock.advance(std::chrono::hours(24));
  loop.runUntilIdle();
  EXPECT_EQ(ran, 10);
  EXPECT_EQ(loop.pendingTimers(), 0u);
}

TEST(EventLoop, TasksPostedByTasksRunInTheSamePump) {
  ManualClock clock;
  EventLoop loop(clock);
  int idleCalls = 0;
  loop.setIdleHook([&] { ++idleCalls; });
  int ran = 0;
  loop.post([&] { loop.post([&] { ++ran; }); });
  loop.runUntilIdle();
  EXPECT_EQ(ran, 1);
  EXPECT_GE(idleCalls, 1);
}

TEST(EventLoop, ThreadedModeStopsWhenAsked) {
  SystemClock clock;
  EventLoop loop(clock);
  std::thread t([&] { loop.run(); });
  std::promise<int> got;
  loop.post([&] { got.set_value(42); });
  EXPECT_EQ(got.get_future().get(), 42);
  loop.stop();
  t.join();
}

}  // namespace
}  // namespace keel::engine
