// Schedules: which instants of a cron trigger are due, and what to do with
// them by its misfire policy; the params and idempotency key of the run a
// fire starts. Pure functions of the trigger and times passed in (no clock
// is read); the engine (engine_schedules.cc) keeps where each trigger
// stands, durably, and starts the runs. Thread-safe: no shared state.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/result.h"
#include "spec/workflow.h"

namespace keel::triggers {

// What to do with the instants of a cron trigger in (after, now].
struct DuePlan {
  // Instants to start a run for, oldest first.
  std::vector<WallTime> fire;
  // How many due instants are not in `fire` (passed over by the policy).
  size_t skipped = 0;
  // The newest due instant (the trigger's new last instant), if any is due.
  std::optional<WallTime> latest;
  // Why the newest due instant starts no run (fire is empty), for the
  // schedule state: "missed while keel was down (misfire: skip)".
  std::string skipReason;
};

// The instants of `trigger` (a cron trigger) in (after, now], planned by
// its misfire policy. `atStart`: keel has just started, so every due
// instant was missed while it was down: skip starts none; run_once one for
// the newest; catch_up one per instant, the newest catch_up_limit of them,
// oldest first. Otherwise (a timer while keel runs) the newest due instant
// always starts a run and only earlier ones (a clock stepped forward, a
// stalled loop) follow the policy. kInvalidArgument for a bad cron or zone.
Result<DuePlan> planDue(const spec::TriggerSpec& trigger, WallTime after, WallTime now,
                        bool atStart);

// The next `count` instants of `trigger` after `after`, ascending.
Result<std::vector<WallTime>> nextInstants(const spec::TriggerSpec& trigger, WallTime after,
                                           int count);

// The trigger's params rendered for the instant: an object of strings
// (empty without `params:`), with schedule.time (RFC 3339 in the trigger's
// zone) and schedule.date (its local date). kInvalidArgument naming the
// param when a template cannot render.
Result<nlohmann::json> renderScheduleParams(const spec::TriggerSpec& trigger, WallTime instant);

// The idempotency key of the run trigger `index` (0-based) starts for an
// instant: "cron:WORKFLOW:INDEX:UNIX_MS".
std::string scheduleRunKey(const std::string& workflow, size_t index, WallTime instant);

// An instant in UTC to the second: "2026-11-28T01:30:00Z".
std::string formatInstant(WallTime instant);

}  // namespace keel::triggers
