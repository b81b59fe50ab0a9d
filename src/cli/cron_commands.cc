// `keel cron next` (offline): when a cron expression fires, computed by the
// same code the workflow parser checks `cron:` triggers with.
#include "cli/commands.h"
#include "spec/cron_schedule.h"
#include "spec/fire_times.h"

namespace keel::cli {

using spec::formatInstant;
using spec::parseInstant;

int cronNextCommand(const Context& ctx, const CronNextArgs& args) {
  std::string expr;
  for (const auto& word : args.expression) expr += (expr.empty() ? "" : " ") + word;
  auto schedule = spec::parseCron(expr);
  if (!schedule.ok()) {
    ctx.err << "keel cron next: \"" << expr << "\": " << schedule.error().message() << '\n';
    return kExitDataErr;
  }
  WallTime from = args.now;
  if (!args.from.empty()) {
    auto parsed = parseInstant(args.from);
    if (!parsed) {
      ctx.err << "keel cron next: --from: '" << args.from
              << "' is not an RFC 3339 time such as 2026-03-29T00:00:00Z\n";
      return kExitUsage;
    }
    from = *parsed;
  }
  auto times = spec::nextFireTimes(*schedule, args.zone, from, args.count);
  if (!times.ok()) {
    ctx.err << "keel cron next: --tz: " << times.error().message() << '\n';
    return kExitUsage;
  }
  for (WallTime t : *times) ctx.out << formatInstant(t) << '\n';
  if (times->size() < static_cast<size_t>(args.count))
    ctx.err << "keel cron next: \"" << expr << "\" fires " << times->size()
            << (times->size() == 1 ? " time" : " times") << " in the " << spec::kSearchYears
            << " years after " << formatInstant(from) << " (the search stops there)\n";
  return kExitOk;
}

}  // namespace keel::cli
