// GET /api/v1/schedules: every cron trigger of every workflow's latest
// version, its next instants and where it stands, read from the store (the
// workflows and the schedule state), never through the engine loop; and
// every file trigger as the engine's file watcher sees it.
#include <fmt/format.h>

#include "api/reply.h"
#include "api/routes.h"
#include "spec/cron_schedule.h"
#include "spec/fire_times.h"
#include "spec/parser.h"

namespace keel::api {

namespace {

using nlohmann::json;

constexpr int kNextCount = 5;

// "2026-11-28T01:30:00Z": schedule instants are whole minutes.
std::string instantText(WallTime t) {
  std::string s = formatRfc3339(t);
  if (s.size() > 5 && s.compare(s.size() - 5, 5, ".000Z") == 0) s.replace(s.size() - 5, 5, "Z");
  return s;
}

Reply listSchedules(const RouteContext& ctx, const ApiRequest&) {
  auto workflows = ctx.store.listWorkflows();
  if (!workflows.ok()) return errorReply(workflows.error());
  auto states = ctx.store.listScheduleStates();
  if (!states.ok()) return errorReply(states.error());
  std::map<std::pair<std::string, int>, store::ScheduleStateRow> byKey;
  for (auto& s : *states) byKey[{s.workflow, s.trigger}] = std::move(s);
  WallTime now = ctx.clock.wallNow();
  json list = json::array();
  for (const auto& wf : *workflows) {
    spec::ParseOptions options;
    options.fileName = fmt::format("{}@v{}", wf.name, wf.version);
    auto parsed = spec::parseWorkflow(wf.yaml, options);
    if (!parsed.ok()) continue;  // a version this keel cannot parse fires nothing
    const auto& triggers = (*parsed)->triggers;
    for (size_t i = 0; i < triggers.size(); ++i) {
      const auto& t = triggers[i];
      if (t.kind != spec::TriggerSpec::Kind::kCron) continue;
      json next = json::array();
      if (auto schedule = spec::parseCron(t.cron); schedule.ok()) {
        auto instants = spec::nextFireTimes(*schedule, t.timezone, now, kNextCount);
        if (instants.ok())
          for (WallTime at : *instants) next.push_back(instantText(at));
      }
      json last = nullptr;
      json queued = nullptr;
      if (auto it = byKey.find({wf.name, static_cast<int>(i)}); it != byKey.end()) {
        const auto& row = it->second;
        last = {{"instant", instantText(row.lastInstant)},
                {"run_id", row.lastRunId.empty() ? json(nullptr) : json(row.lastRunId)},
                {"outcome", row.outcome}};
        // overlap: queue: the fire at lastInstant waits for run lastRunId.
        if (row.outcome.rfind("queued:", 0) == 0)
          queued = {{"instant", instantText(row.lastInstant)}, {"waiting_for", row.lastRunId}};
      }
      list.push_back({{"workflow", wf.name},
                      {"trigger", i},
                      {"cron", t.cron},
                      {"timezone", t.timezone},
                      {"misfire", t.misfire},
                      {"overlap", t.overlap},
                      {"next", std::move(next)},
                      {"last", std::move(last)},
                      {"queued", std::move(queued)}});
    }
  }
  // File triggers: where the engine's watcher stands (in memory, since
  // keel started).
  json files = json::array();
  for (const auto& f : ctx.control.fileTriggers()) {
    auto time = [](const std::optional<WallTime>& t) {
      return t ? json(formatRfc3339(*t)) : json(nullptr);
    };
    json last = nullptr;
    if (!f.lastPath.empty())
      last = {{"path", f.lastPath}, {"at", time(f.lastArrivalAt)}, {"run_id", f.lastRunId}};
    files.push_back({{"workflow", f.workflow},
                     {"trigger", f.trigger},
                     {"path", f.path},
                     {"pattern", f.pattern},
                     {"stable_for_ms", f.stableFor.count()},
                     {"pending", f.pending},
                     {"last_listed", time(f.lastListed)},
                     {"error", f.error.empty() ? json(nullptr) : json(f.error)},
                     {"error_since", time(f.errorSince)},
                     {"last", std::move(last)}});
  }
  return jsonReply(200, {{"schedules", std::move(list)}, {"file_triggers", std::move(files)}});
}

}  // namespace

void addScheduleRoutes(Router& router, const RouteContext& context) {
  router.add("GET", "/api/v1/schedules",
             [context](const ApiRequest& request) { return listSchedules(context, request); });
}

}  // namespace keel::api
