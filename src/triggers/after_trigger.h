// Chains: a workflow's `after:` trigger starts a run of it when a run of
// another workflow (the upstream) ends in a matching state.
//
// Pure functions of the upstream run's end and a TriggerSpec; the engine
// (engine_chains.cc) creates the runs in the batch of the upstream's end and
// remembers which triggers an upstream run has fired. Thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "spec/workflow.h"

namespace keel::triggers {

// Whether an after trigger's `state:` matches how the upstream run ended
// ("succeeded", "failed" or "cancelled"): `succeeded` and `failed` match
// that end only (a cancelled run is not failed); `finished` matches any end.
bool afterStateMatches(const std::string& wanted, const std::string& ended);

// What an after trigger's params may use: {{ upstream.run_id }},
// {{ upstream.workflow }}, {{ upstream.state }} and
// {{ upstream.steps.X.output[.KEY...] }}.
struct UpstreamEnd {
  std::string runId;
  std::string workflow;
  std::string state;                              // succeeded | failed | cancelled
  std::map<std::string, nlohmann::json> outputs;  // step name -> its output
};

// The trigger's params rendered for this end: an object of strings (empty
// without `params:`). kInvalidArgument naming the param and the missing
// value when a template cannot render.
Result<nlohmann::json> renderAfterParams(const spec::TriggerSpec& trigger, const UpstreamEnd& end);

// The idempotency key of the run that trigger `index` (0-based) of
// `workflow` starts after upstream run `upstreamRunId`:
// "after:UPSTREAM_RUN_ID:WORKFLOW:INDEX".
std::string afterRunKey(const std::string& upstreamRunId, const std::string& workflow,
                        size_t index);

// The upstream run's timeline event saying which run a trigger started
// ("started run ID of workflow W (after-trigger N)", N 1-based), and its
// reading back: (workflow, 0-based index), nullopt if the text is not one.
// The event is how an upstream run that ends again (after a retry) knows
// the triggers it already fired.
std::string afterStartedMessage(const std::string& downstreamRunId, const std::string& workflow,
                                size_t index);
std::optional<std::pair<std::string, size_t>> parseAfterStarted(const std::string& message);

// The after-trigger cycle that applying `spec` would close, checked
// against `others`: the latest version of every other workflow (a version
// of `spec`'s own name among them is ignored). nullopt without one, else
// the cycle in the order runs would start each other, e.g. {"a", "b", "a"}.
std::optional<std::vector<std::string>> findAfterCycle(
    const spec::WorkflowSpec& spec, const std::vector<const spec::WorkflowSpec*>& others);

}  // namespace keel::triggers
