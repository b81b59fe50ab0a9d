#include "triggers/after_trigger.h"

#include <functional>
#include <set>

#include <fmt/format.h>

#include "spec/template.h"
#include "triggers/trigger_params.h"

namespace keel::triggers {

using nlohmann::json;

bool afterStateMatches(const std::string& wanted, const std::string& ended) {
  if (wanted == "finished") return true;
  return wanted == ended;
}

Result<json> renderAfterParams(const spec::TriggerSpec& trigger, const UpstreamEnd& end) {
  json steps = json::object();
  for (const auto& [name, output] : end.outputs) steps[name] = {{"output", output}};
  json upstream = {{"run_id", end.runId},
                   {"workflow", end.workflow},
                   {"state", end.state},
                   {"steps", std::move(steps)}};
  spec::TemplateContext ctx;
  ctx.upstream = &upstream;
  return renderTriggerParams(trigger, ctx);
}

std::string afterRunKey(const std::string& upstreamRunId, const std::string& workflow,
                        size_t index) {
  return fmt::format("after:{}:{}:{}", upstreamRunId, workflow, index);
}

namespace {
constexpr std::string_view kOfWorkflow = " of workflow ";
constexpr std::string_view kTriggerN = " (after-trigger ";
}  // namespace

std::string afterStartedMessage(const std::string& downstreamRunId, const std::string& workflow,
                                size_t index) {
  return fmt::format("started run {}{}{}{}{})", downstreamRunId, kOfWorkflow, workflow, kTriggerN,
                     index + 1);
}

std::optional<std::pair<std::string, size_t>> parseAfterStarted(const std::string& message) {
  // Workflow names and run ids hold no spaces, so the markers are unambiguous.
  size_t of = message.find(kOfWorkflow);
  if (of == std::string::npos) return std::nullopt;
  size_t from = of + kOfWorkflow.size();
  size_t paren = message.find(kTriggerN, from);
  if (paren == std::string::npos || paren == from || message.back() != ')') return std::nullopt;
  std::string number = message.substr(paren + kTriggerN.size());
  number.pop_back();
  if (number.empty() || number.size() > 9 ||
      number.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  size_t n = std::stoul(number);
  if (n == 0) return std::nullopt;
  return std::make_pair(message.substr(from, paren - from), n - 1);
}

std::optional<std::vector<std::string>> findAfterCycle(
    const spec::WorkflowSpec& spec, const std::vector<const spec::WorkflowSpec*>& others) {
  // upstream -> the workflows its end starts.
  std::map<std::string, std::set<std::string>> starts;
  auto addEdges = [&](const spec::WorkflowSpec& w) {
    for (const auto& t : w.triggers)
      if (t.kind == spec::TriggerSpec::Kind::kAfter && !t.afterWorkflow.empty())
        starts[t.afterWorkflow].insert(w.name);
  };
  addEdges(spec);
  for (const auto* w : others)
    if (w && w->name != spec.name) addEdges(*w);
  // Depth-first from the new workflow: a path back to it is a cycle.
  std::vector<std::string> path{spec.name};
  std::set<std::string> visited;
  std::function<bool(const std::string&)> walk = [&](const std::string& from) {
    auto it = starts.find(from);
    if (it == starts.end()) return false;
    for (const auto& next : it->second) {
      path.push_back(next);
      if (next == spec.name) return true;
      if (visited.insert(next).second && walk(next)) return true;
      path.pop_back();
    }
    return false;
  };
  if (walk(spec.name)) return path;
  return std::nullopt;
}

}  // namespace keel::triggers
