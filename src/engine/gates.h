// Gates: what a step that is ready must pass before it is dispatched.
//
// The engine consults one ordered chain of gates in one place
// (Engine::dispatchStep). The first gate that holds the step decides: the
// step stays `ready`, and the gate's kind and reason are stored as the
// step's wait (steps.wait_kind, steps.wait_reason) so that the API and
// `keel show` say what it waits for, across a restart too. A held step is
// dispatched again by the event that frees its gate (a step slot freeing,
// a run holding a concurrency slot ending, a resume, the next start of
// keel).
//
// The concurrency key holds steps, and through them bounds runs: a run
// whose key is at its limit starts, but its ready steps wait at the
// `concurrency` gate. The first of its steps that passes that gate takes a
// slot of the key for the run, which keeps it until the run ends; its
// further steps pass. Runs waiting for one key take its slots in the order
// they first waited (oldest first after a restart).
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
inline constexpr const char* kWaitPaused = "paused";  // its workflow or its run is paused
// Not a gate: an `approval:` step waits (state `waiting`) for a decision.
inline constexpr const char* kWaitApproval = "approval";

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

// The slots of the step's run's concurrency key, as the engine counts them.
struct ConcurrencySlots {
  std::string key;                   // rendered
  int limit = 1;                     // from the run's workflow version
  bool runHolds = false;             // the step's run holds one of them
  std::vector<std::string> holders;  // the runs holding one, in the order they took it
  int ahead = 0;                     // runs waiting for the key before the step's run
};

// What a gate may look at: the step and the engine's counters.
struct GateInput {
  const spec::StepSpec& spec;
  bool hasRunner = false;  // a runner for the step's kind exists
  bool draining = false;   // keel is stopping
  int runningProcs = 0;    // `run:` steps running now
  int maxParallelSteps = 0;
  // The run's concurrency key; null when its workflow has none.
  const ConcurrencySlots* concurrency = nullptr;
  // Why the step's run is paused ("workflow W paused by ACTOR: REASON");
  // null or empty when neither it nor its workflow is.
  const std::string* paused = nullptr;
};

struct Gate {
  std::string kind;
  std::function<GateDecision(const GateInput&)> check;
};

class GateChain {
 public:
  GateChain() = default;
  explicit GateChain(std::vector<Gate> gates) : gates_(std::move(gates)) {}

  // The first hold in order, or pass when every gate admits. `passed`, if
  // given, gets the kinds of the gates that admitted the step before the
  // one that decided.
  GateDecision check(const GateInput& in, std::vector<std::string>* passed = nullptr) const {
    for (const Gate& g : gates_) {
      GateDecision d = g.check(in);
      if (!d.admit) return d;
      if (passed) passed->push_back(g.kind);
    }
    return GateDecision::pass();
  }

 private:
  std::vector<Gate> gates_;
};

// The gates of every step, in order: keel stopping, paused (the run or its
// workflow; before the key, so a paused run takes no slot), the run's
// concurrency key, then --max-parallel.
GateChain defaultStepGates();

}  // namespace keel::engine
