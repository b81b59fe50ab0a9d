// The states of runs, steps and attempts, and the failure classes.
//
// These names are part of keel's contract: they appear in the API, the CLI,
// the store and the event history, and are spelled as below (snake_case).
#pragma once

#include <optional>
#include <string_view>

namespace keel {

// pending -> running -> (waiting | paused)* -> succeeded | failed | cancelled
enum class RunState { kPending, kRunning, kWaiting, kPaused, kSucceeded, kFailed, kCancelled };

// pending -> ready -> running -> succeeded | skipped | dead, with retrying and
// waiting in between. dead is the dead-letter state: failed for good.
enum class StepState {
  kPending,
  kReady,
  kRunning,
  kRetrying,
  kWaiting,
  kSucceeded,
  kSkipped,
  kDead,
};

enum class AttemptState { kRunning, kSucceeded, kFailed };

enum class FailureClass {
  kNone,  // not a failure
  kTimeout,
  kDependencyUnavailable,
  kRateLimited,
  kBadInput,
  kCrash,
  kLost,
  kCancelled,
  kError,
};

std::string_view toString(RunState s);
std::string_view toString(StepState s);
std::string_view toString(AttemptState s);
std::string_view toString(FailureClass c);

std::optional<RunState> parseRunState(std::string_view s);
std::optional<StepState> parseStepState(std::string_view s);
std::optional<AttemptState> parseAttemptState(std::string_view s);
std::optional<FailureClass> parseFailureClass(std::string_view s);

inline bool isTerminal(RunState s) {
  return s == RunState::kSucceeded || s == RunState::kFailed || s == RunState::kCancelled;
}
inline bool isTerminal(StepState s) {
  return s == StepState::kSucceeded || s == StepState::kSkipped || s == StepState::kDead;
}

}  // namespace keel
