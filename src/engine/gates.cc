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

// A paused run or workflow dispatches nothing until it is resumed.
GateDecision pausedGate(const GateInput& in) {
  if (in.paused && !in.paused->empty()) return GateDecision::hold(kWaitPaused, *in.paused);
  return GateDecision::pass();
}

// "run A", "runs A, B, C", "runs A, B, C and 2 more".
std::string runList(const std::vector<std::string>& ids) {
  constexpr size_t kNamed = 3;
  std::string out = ids.size() == 1 ? "run " : "runs ";
  for (size_t i = 0; i < ids.size() && i < kNamed; ++i) out += (i ? ", " : "") + ids[i];
  if (ids.size() > kNamed) out += fmt::format(" and {} more", ids.size() - kNamed);
  return out;
}

// A run's steps start only while the run holds a slot of its key, which
// it takes when none of the runs that waited for the key first still waits.
GateDecision concurrencyGate(const GateInput& in) {
  const ConcurrencySlots* c = in.concurrency;
  if (!c || c->runHolds) return GateDecision::pass();
  const int free = c->limit - static_cast<int>(c->holders.size());
  if (c->ahead < free) return GateDecision::pass();
  if (free <= 0)
    return GateDecision::hold(kWaitConcurrency,
                              fmt::format("concurrency key '{}' is at its limit of {}, held by {}",
                                          c->key, c->limit, runList(c->holders)));
  return GateDecision::hold(
      kWaitConcurrency,
      fmt::format("concurrency key '{}' has {} free slot(s) of {}, and {} run(s) waiting "
                  "before this one take them first",
                  c->key, free, c->limit, c->ahead));
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
  return GateChain({{kWaitStopping, stoppingGate},
                    {kWaitPaused, pausedGate},
                    {kWaitConcurrency, concurrencyGate},
                    {kWaitMaxParallel, maxParallelGate}});
}

}  // namespace keel::engine
