#include "engine/gates.h"

#include <fmt/format.h>

namespace keel::engine {

namespace {

// Nothing starts while keel stops; the next start dispatches it.
GateDecision stoppingGate(const GateInput& in) {
  if (in.hasRunner && in.draining)
    return GateDecision::hold(kWaitStopping, "queued: keel is stopping");
  return GateDecision::pass();
}

// `run:` steps share --max-parallel process slots.
GateDecision maxParallelGate(const GateInput& in) {
  if (in.spec.kind == spec::StepKind::kRun && in.runningProcs >= in.maxParallelSteps)
    return GateDecision::hold(
        kWaitMaxParallel, fmt::format("queued: all {} step slots are busy", in.maxParallelSteps));
  return GateDecision::pass();
}

}  // namespace

GateChain defaultStepGates() {
  return GateChain({{kWaitStopping, stoppingGate}, {kWaitMaxParallel, maxParallelGate}});
}

}  // namespace keel::engine
