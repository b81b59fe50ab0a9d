#include "core/states.h"

#include <array>
#include <utility>

namespace keel {
namespace {

template <typename E, size_t N>
std::string_view nameOf(const std::array<std::pair<E, std::string_view>, N>& table, E e) {
  for (const auto& [k, v] : table)
    if (k == e) return v;
  return "unknown";
}

template <typename E, size_t N>
std::optional<E> parseOf(const std::array<std::pair<E, std::string_view>, N>& table,
                         std::string_view s) {
  for (const auto& [k, v] : table)
    if (v == s) return k;
  return std::nullopt;
}

constexpr std::array<std::pair<RunState, std::string_view>, 7> kRunStates{{
    {RunState::kPending, "pending"},
    {RunState::kRunning, "running"},
    {RunState::kWaiting, "waiting"},
    {RunState::kPaused, "paused"},
    {RunState::kSucceeded, "succeeded"},
    {RunState::kFailed, "failed"},
    {RunState::kCancelled, "cancelled"},
}};

constexpr std::array<std::pair<StepState, std::string_view>, 8> kStepStates{{
    {StepState::kPending, "pending"},
    {StepState::kReady, "ready"},
    {StepState::kRunning, "running"},
    {StepState::kRetrying, "retrying"},
    {StepState::kWaiting, "waiting"},
    {StepState::kSucceeded, "succeeded"},
    {StepState::kSkipped, "skipped"},
    {StepState::kDead, "dead"},
}};

constexpr std::array<std::pair<AttemptState, std::string_view>, 3> kAttemptStates{{
    {AttemptState::kRunning, "running"},
    {AttemptState::kSucceeded, "succeeded"},
    {AttemptState::kFailed, "failed"},
}};

constexpr std::array<std::pair<FailureClass, std::string_view>, 9> kClasses{{
    {FailureClass::kNone, ""},
    {FailureClass::kTimeout, "timeout"},
    {FailureClass::kDependencyUnavailable, "dependency_unavailable"},
    {FailureClass::kRateLimited, "rate_limited"},
    {FailureClass::kBadInput, "bad_input"},
    {FailureClass::kCrash, "crash"},
    {FailureClass::kLost, "lost"},
    {FailureClass::kCancelled, "cancelled"},
    {FailureClass::kError, "error"},
}};

}  // namespace

std::string_view toString(RunState s) { return nameOf(kRunStates, s); }
std::string_view toString(StepState s) { return nameOf(kStepStates, s); }
std::string_view toString(AttemptState s) { return nameOf(kAttemptStates, s); }
std::string_view toString(FailureClass c) { return nameOf(kClasses, c); }

std::optional<RunState> parseRunState(std::string_view s) { return parseOf(kRunStates, s); }
std::optional<StepState> parseStepState(std::string_view s) { return parseOf(kStepStates, s); }
std::optional<AttemptState> parseAttemptState(std::string_view s) {
  return parseOf(kAttemptStates, s);
}
std::optional<FailureClass> parseFailureClass(std::string_view s) {
  if (s.empty()) return std::nullopt;
  return parseOf(kClasses, s);
}

}  // namespace keel
