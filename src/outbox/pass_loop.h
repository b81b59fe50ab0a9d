// PassLoop: the thread of a delivery. It runs the delivery's pass once at
// start, whenever it is woken, when the time the last pass asked for comes,
// and at the latest every `pollEvery`; a failed pass is logged and tried
// again after `pollEvery`. Webhook and notification deliveries both run
// on one.
//
// Threads: wake() and stopping() from any thread, never blocking for
// long; start() and stop() from the owner's.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/result.h"

namespace keel::outbox {

// The furthest a receiver's Retry-After may push the next attempt of a
// delivery (a longer one is capped to it).
inline constexpr auto kMaxRetryAfter = std::chrono::hours(24);

class PassLoop {
 public:
  // The earliest time the next pass is wanted (none: only when woken or
  // after pollEvery).
  using Pass = std::function<Result<std::optional<WallTime>>()>;

  // `what` names the delivery in the log line of a failed pass.
  PassLoop(std::string what, const Clock& clock, std::chrono::milliseconds pollEvery);
  ~PassLoop();
  PassLoop(const PassLoop&) = delete;
  PassLoop& operator=(const PassLoop&) = delete;

  void start(Pass pass);  // a no-op while running
  void stop();            // returns once the pass in progress has ended
  void wake();
  bool stopping() const;

 private:
  void run();

  const std::string what_;
  const Clock& clock_;
  const std::chrono::milliseconds pollEvery_;
  Pass pass_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace keel::outbox
