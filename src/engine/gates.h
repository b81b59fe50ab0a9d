// Gates: what a step that is ready must pass before it is dispatched.
//
// The engine consults one ordered chain of gates in one place
// (Engine::dispatchStep). The first gate that holds the step decides: the
// step stays `ready`, and the gate's kind and reason are stored as the
// step's wait (steps.wait_kind, steps.wait_reason) so that the API and
// `keel show` say what it waits for, across a restart too. A held step is
// dispatched again by the event that frees its gate (a step slot freeing,
// the next start of keel).
//
// The concurrency key admits runs, not steps; it stays in
// Engine::admitOrQueue, but says its wait with the same GateDecision, kept
// on the run (runs.wait_kind, runs.wait_reason).
//
// Pure; loop thread only.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "spec/workflow.h"

namespace keel::engine {

// The kinds of wait, as stored and shown.
inline constexpr const char* kWaitStopping = "stopping";         // keel is stopping
inline constexpr const char* kWaitMaxParallel = "max_parallel";  // --max-parallel is reached
inline constexpr const char* kWaitConcurrency = "concurrency";   // a run's concurrency key

struct GateDecision {
  bool admit = true;
  std::string kind;    // empty when admitted
  std::string reason;  // for people; empty when admitted
  // When the hold ends by itself, if it does. No gate of this keel sets
  // it: each is freed by an event, never by time.
  std::optional<WallTime> until;

  static GateDecision pass() { return {}; }
  static GateDecision hold(std::string kind, std::string reason) {
    return {false, std::move(kind), std::move(reason), std::nullopt};
  }
};

// What a gate may look at: the step and the engine's counters.
struct GateInput {
  const spec::StepSpec& spec;
  bool hasRunner = false;  // a runner for the step's kind exists
  bool draining = false;   // keel is stopping
  int runningProcs = 0;    // `run:` steps running now
  int maxParallelSteps = 0;
};

struct Gate {
  std::string kind;
  std::function<GateDecision(const GateInput&)> check;
};

class GateChain {
 public:
  GateChain() = default;
  explicit GateChain(std::vector<Gate> gates) : gates_(std::move(gates)) {}

  // The first hold in order, or pass when every gate admits.
  GateDecision check(const GateInput& in) const {
    for (const Gate& g : gates_) {
      GateDecision d = g.check(in);
      if (!d.admit) return d;
    }
    return GateDecision::pass();
  }

 private:
  std::vector<Gate> gates_;
};

// The gates of every step, in order: keel stopping, then --max-parallel.
GateChain defaultStepGates();

}  // namespace keel::engine
