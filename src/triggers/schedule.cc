#include "triggers/schedule.h"

#include <deque>

#include <fmt/format.h>

#include "spec/cron_schedule.h"
#include "spec/fire_times.h"
#include "spec/template.h"
#include "triggers/trigger_params.h"

namespace keel::triggers {

using nlohmann::json;

namespace {

// Instants asked from nextFireTimes() at a time while walking a gap.
constexpr int kChunk = 512;

}  // namespace

Result<std::vector<WallTime>> nextInstants(const spec::TriggerSpec& trigger, WallTime after,
                                           int count) {
  auto schedule = spec::parseCron(trigger.cron);
  if (!schedule.ok()) return schedule.error();
  return spec::nextFireTimes(*schedule, trigger.timezone, after, count);
}

Result<DuePlan> planDue(const spec::TriggerSpec& trigger, WallTime after, WallTime now,
                        bool atStart) {
  auto schedule = spec::parseCron(trigger.cron);
  if (!schedule.ok()) return schedule.error();
  DuePlan plan;
  if (now <= after) return plan;
  const bool catchUp = trigger.misfire == "catch_up";
  const size_t keep = catchUp ? static_cast<size_t>(std::max(1, trigger.catchUpLimit)) : 1;
  std::deque<WallTime> newest;  // the newest `keep` due instants
  size_t due = 0;
  WallTime cursor = after;
  for (bool more = true; more;) {
    auto next = spec::nextFireTimes(*schedule, trigger.timezone, cursor, kChunk);
    if (!next.ok()) return next.error();
    more = next->size() == static_cast<size_t>(kChunk);
    for (WallTime t : *next) {
      if (t > now) {
        more = false;
        break;
      }
      ++due;
      newest.push_back(t);
      if (newest.size() > keep) newest.pop_front();
      cursor = t;
    }
  }
  if (due == 0) return plan;
  plan.latest = newest.back();
  if (atStart && trigger.misfire == "skip") {
    plan.skipped = due;
    plan.skipReason = "missed while keel was down (misfire: skip)";
    return plan;
  }
  plan.fire.assign(newest.begin(), newest.end());
  plan.skipped = due - plan.fire.size();
  return plan;
}

Result<json> renderScheduleParams(const spec::TriggerSpec& trigger, WallTime instant) {
  auto local = spec::inZone(instant, trigger.timezone);
  if (!local.ok()) return local.error();
  json schedule = {{"time", local->rfc3339}, {"date", local->date}};
  spec::TemplateContext ctx;
  ctx.schedule = &schedule;
  return renderTriggerParams(trigger, ctx);
}

std::string scheduleRunKey(const std::string& workflow, size_t index, WallTime instant) {
  return fmt::format("cron:{}:{}:{}", workflow, index, toUnixMillis(instant));
}

std::string formatInstant(WallTime instant) {
  std::string s = formatRfc3339(instant);  // ...T01:30:00.000Z
  if (s.size() > 5 && s.compare(s.size() - 5, 5, ".000Z") == 0) s.replace(s.size() - 5, 5, "Z");
  return s;
}

}  // namespace keel::triggers
