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

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "core/clock.h"

namespace keel::engine {

class EventLoop {
 public:
  using Task = std::function<void()>;

  explicit EventLoop(const Clock& clock) : clock_(clock) {}

  // Names a timer for cancel().
  struct TimerId {
    MonoTime due{};
    uint64_t seq = 0;
  };

  void post(Task task);
  // Runs `task` on the loop once clock.monoNow() >= due.
  TimerId runAt(MonoTime due, Task task);
  // Forgets a timer that has not fired; nothing if it fired or is gone.
  void cancel(TimerId id);
  void setIdleHook(Task hook) { idle_ = std::move(hook); }

  // Threaded mode: loops until stop() is called.
  void run();
  void stop();
  // Manual mode: runs posted tasks and due timers (and the idle hook)
  // until nothing is ready. Returns how many tasks and timers ran.
  int runUntilIdle();

  const Clock& clock() const { return clock_; }
  // Timers not yet fired nor cancelled. Any thread.
  size_t pendingTimers() const { return timerCount_.load(); }

 private:
  // Takes all posted tasks; returns how many ran.
  int drainPosted();
  int fireDueTimers();

  const Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> posted_;                               // guarded by mu_
  bool stopping_ = false;                                 // guarded by mu_
  std::map<std::pair<MonoTime, uint64_t>, Task> timers_;  // by due time, then order
  std::atomic<size_t> timerCount_{0};
  uint64_t timerSeq_ = 0;
  Task idle_;
};

}  // namespace keel::engine
