// What this version of keel can run: the rule `keel apply` enforces and
// `keel validate` reports, kept in one place so the two cannot disagree.
#include <fmt/format.h>

#include "spec/cron_schedule.h"
#include "spec/fire_times.h"
#include "spec/parser.h"

namespace keel::spec {
namespace {

// A schedule no calendar date matches (`0 0 30 2 *`, `0 0 31 4 *`): whether
// it fires depends neither on the zone nor on the year the search starts
// from, as long as it covers a leap year, which 2000 plus kSearchYears does.
bool neverFires(const std::string& cron) {
  auto schedule = parseCron(cron);
  if (!schedule.ok()) return false;                      // the parser reported it
  const WallTime from{std::chrono::seconds(946684800)};  // 2000-01-01T00:00:00Z
  auto next = nextFireTimes(*schedule, "UTC", from, 1);
  return next.ok() && next->empty();
}

}  // namespace

// What this keel stores but does not act on yet is a warning, so nobody
// believes it is in force.
Runnability checkRunnable(const WorkflowSpec& spec, const std::string& file) {
  Runnability out;
  auto& warnings = out.warnings;
  for (const auto& s : spec.steps) {
    auto at = fmt::format("{}:{}:{}", file, s.pos.line, s.pos.column);
    if (!s.uses.empty())
      warnings.push_back(at + ": step '" + s.name + "': uses '" + s.uses +
                         "': dependency breakers and limits are not enforced by this version");
  }
  // Every trigger kind is fired (event, cron, after, file). A cron no date
  // matches is refused at apply, not by the parser: a stored version with
  // one still loads (and can be triggered by hand).
  for (const auto& t : spec.triggers)
    if (t.kind == TriggerSpec::Kind::kCron && neverFires(t.cron))
      out.problems.push_back(fmt::format(
          "{}:{}:{}: cron trigger \"{}\" never fires: no calendar date has that day of the "
          "month in those months",
          file, t.pos.line, t.pos.column, t.cron));
  return out;
}

}  // namespace keel::spec
