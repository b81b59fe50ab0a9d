// What this version of keel can run: the rule `keel apply` enforces and
// `keel validate` reports, kept in one place so the two cannot disagree.
#include <fmt/format.h>

#include "spec/parser.h"

namespace keel::spec {

// What this keel stores but does not act on yet is a warning, so nobody
// believes it is in force.
Runnability checkRunnable(const WorkflowSpec& spec, const std::string& file) {
  Runnability out;
  auto& problems = out.problems;
  auto& warnings = out.warnings;
  for (const auto& s : spec.steps) {
    auto at = fmt::format("{}:{}:{}", file, s.pos.line, s.pos.column);
    if (!s.compensate.empty())
      warnings.push_back(at + ": step '" + s.name +
                         "': compensate is stored but not run by this version of keel");
    if (!s.uses.empty())
      warnings.push_back(at + ": step '" + s.name + "': uses '" + s.uses +
                         "': dependency breakers and limits are not enforced by this version");
  }
  for (const auto& t : spec.triggers) {
    if (t.kind == TriggerSpec::Kind::kEvent) continue;  // fired by POST /api/v1/events/TOPIC
    if (t.kind == TriggerSpec::Kind::kCron) {           // fired by the engine's schedules
      if (t.overlap == "queue")
        problems.push_back(fmt::format(
            "{}:{}:{}: cron trigger: overlap: queue is not supported by this version of keel; "
            "use skip (the default) or allow",
            file, t.pos.line, t.pos.column));
      continue;
    }
    if (t.kind == TriggerSpec::Kind::kAfter) continue;  // fired when the upstream run ends
    const char* kind = t.kind == TriggerSpec::Kind::kCron    ? "cron"
                       : t.kind == TriggerSpec::Kind::kAfter ? "after"
                                                             : "file";
    warnings.push_back(
        fmt::format("{}:{}:{}: {} trigger is stored but not fired by this version "
                    "of keel; trigger runs through the API or `keel run`",
                    file, t.pos.line, t.pos.column, kind));
  }
  if (spec.slo.maxDuration) warnings.push_back(file + ": slo is stored but not yet tracked");
  return out;
}

}  // namespace keel::spec
