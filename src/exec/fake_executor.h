// FakeExecutor: a StepExecutor for other modules' tests. Nothing runs; the
// test decides when and how each attempt ends.
//
// start() records the request and returns a handle; the attempt stays
// pending until the test calls complete(handle, outcome) or
// finishNext(outcome). stop() is recorded and, by default, completes the
// attempt at once with the class given to stop() (as the real executor
// would after its SIGTERM); with setCompleteOnStop(false) it is only
// recorded and the test completes the attempt itself, which models a
// process that takes its time to die.
//
// Deterministic: `done` is called synchronously on the thread that ends the
// attempt (the test's, in complete() / finishNext(), or the caller of stop()
// / shutdown()), never on a thread of its own, and never under the fake's
// lock, so a callback may call back into the fake. Handles count up from 1.
// Thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "exec/executor.h"

namespace keel::exec {

class FakeExecutor final : public StepExecutor {
 public:
  struct Started {
    ExecHandle handle = 0;
    StepRequest request;
  };
  struct Stopped {
    ExecHandle handle = 0;
    FailureClass why = FailureClass::kNone;
    bool wasPending = false;  // false: a no-op stop of an ended attempt
  };

  ExecHandle start(StepRequest request, std::function<void(StepOutcome)> done) override;
  void stop(ExecHandle handle, FailureClass why) override;
  // Completes every pending attempt with class cancelled; later start()s
  // complete at once with class cancelled.
  void shutdown() override;

  // Whether stop() completes the attempt (true, the default) or only records
  // the stop.
  void setCompleteOnStop(bool complete);

  // Ends a pending attempt. False if it is not pending (unknown or ended).
  bool complete(ExecHandle handle, StepOutcome outcome);
  // Ends the oldest pending attempt; nullopt if none is pending.
  std::optional<ExecHandle> finishNext(StepOutcome outcome);

  // Running attempts, oldest first.
  std::vector<Started> pending() const;
  // Every start() ever made, in order, ended or not.
  std::vector<Started> started() const;
  // Every stop() ever made, in order.
  std::vector<Stopped> stops() const;
  bool isShutdown() const;

  // Outcomes to complete with.
  static StepOutcome success(std::string outputJson = "");
  static StepOutcome failure(FailureClass cls, std::string message = "",
                             std::optional<int> exitCode = std::nullopt);

 private:
  struct Pending {
    ExecHandle handle;
    std::function<void(StepOutcome)> done;
  };
  // Removes a pending attempt and returns its callback.
  std::optional<std::function<void(StepOutcome)>> takeLocked(ExecHandle handle);

  mutable std::mutex mu_;
  std::vector<Started> started_;
  std::vector<Pending> pending_;  // in start order
  std::vector<Stopped> stops_;
  ExecHandle next_ = 1;
  bool completeOnStop_ = true;
  bool shutdown_ = false;
};

}  // namespace keel::exec
