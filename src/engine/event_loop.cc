#include "engine/event_loop.h"

namespace keel::engine {

void EventLoop::post(Task task) {
  {
    std::lock_guard lock(mu_);
    posted_.push_back(std::move(task));
  }
  cv_.notify_one();
}

EventLoop::TimerId EventLoop::runAt(MonoTime due, Task task) {
  TimerId id{due, timerSeq_++};
  timers_.emplace(std::make_pair(id.due, id.seq), std::move(task));
  timerCount_ = timers_.size();
  return id;
}

void EventLoop::cancel(TimerId id) {
  timers_.erase({id.due, id.seq});
  timerCount_ = timers_.size();
}

void EventLoop::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
}

int EventLoop::drainPosted() {
  std::deque<Task> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(posted_);
  }
  for (auto& t : batch) t();
  return static_cast<int>(batch.size());
}

int EventLoop::fireDueTimers() {
  int fired = 0;
  MonoTime now = clock_.monoNow();
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    Task t = std::move(timers_.begin()->second);
    timers_.erase(timers_.begin());
    timerCount_ = timers_.size();
    t();
    ++fired;
  }
  return fired;
}

int EventLoop::runUntilIdle() {
  int total = 0;
  for (;;) {
    int n = drainPosted();
    n += fireDueTimers();
    if (idle_) idle_();
    bool more;
    {
      std::lock_guard lock(mu_);
      more = !posted_.empty();
    }
    total += n;
    if (n == 0 && !more) return total;
  }
}

void EventLoop::run() {
  for (;;) {
    drainPosted();
    fireDueTimers();
    if (idle_) idle_();
    std::unique_lock lock(mu_);
    if (stopping_) return;
    if (!posted_.empty()) continue;
    if (timers_.empty()) {
      cv_.wait(lock, [&] { return stopping_ || !posted_.empty(); });
    } else {
      // The real clock is steady_clock, so its time points can be waited on.
      auto wait = timers_.begin()->first.first - clock_.monoNow();
      if (wait > std::chrono::nanoseconds(0))
        cv_.wait_for(lock, wait, [&] { return stopping_ || !posted_.empty(); });
    }
    if (stopping_) return;
  }
}

}  // namespace keel::engine
