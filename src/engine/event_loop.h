// EventLoop: the one thread that owns the engine's state.
//
// Other threads hand it work with post(); the loop runs posted closures in
// order, then the timers that are due by the injected Clock, then its idle
// hook (where the engine hands accumulated writes to the committer). In
// threaded mode run() blocks until stop(); in manual mode (tests) nothing
// runs until the test calls runUntilIdle(), which drains everything that
// is ready now, so tests advance a ManualClock and pump deterministically.
//
// post() and stop() are thread-safe; runAt(), now() and the rest are for
// the loop thread only.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <queue>
#include <vector>

#include "core/clock.h"

namespace keel::engine {

class EventLoop {
 public:
  using Task = std::function<void()>;

  explicit EventLoop(const Clock& clock) : clock_(clock) {}

  void post(Task task);
  // Runs `task` on the loop once clock.monoNow() >= due. Timers are never
  // cancelled: the task checks whether it still applies.
  void runAt(MonoTime due, Task task);
  void setIdleHook(Task hook) { idle_ = std::move(hook); }

  // Threaded mode: loops until stop() is called.
  void run();
  void stop();
  // Manual mode: runs posted tasks and due timers (and the idle hook)
  // until nothing is ready. Returns how many tasks and timers ran.
  int runUntilIdle();

  const Clock& clock() const { return clock_; }
  size_t pendingTimers() const { return timers_.size(); }

 private:
  struct Timer {
    MonoTime due;
    uint64_t seq;
    Task task;
    bool operator>(const Timer& o) const { return due != o.due ? due > o.due : seq > o.seq; }
  };

  // Takes all posted tasks; returns how many ran.
  int drainPosted();
  int fireDueTimers();

  const Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> posted_;  // guarded by mu_
  bool stopping_ = false;    // guarded by mu_
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  uint64_t timerSeq_ = 0;
  Task idle_;
};

}  // namespace keel::engine
