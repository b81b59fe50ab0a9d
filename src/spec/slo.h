// SLO deadlines (`slo:` of a workflow): when a time of day next comes in an
// IANA time zone, and the text forms of the SLO's fields. Pure: the caller
// passes the time in, so the engine, `keel validate --explain` and the tests
// agree. Any thread.
#pragma once

#include <bitset>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "spec/workflow.h"

namespace keel::spec {

// "06:00" -> 360; nullopt with `why` set when it is not HH:MM with an hour
// 00-23 and a minute 00-59.
std::optional<int> parseTimeOfDay(std::string_view text, std::string& why);
// 360 -> "06:00".
std::string formatTimeOfDay(int minuteOfDay);

// "mon" .. "sun" (any case) -> 1 .. 6, 0 for Sunday; nullopt otherwise.
std::optional<int> parseWeekday(std::string_view text);

// The first instant strictly after `after` at which the local clock of
// `zone` shows `minuteOfDay` on one of `days` (bit 0 = Sunday). A local
// time skipped by a daylight-saving change counts at the end of the gap; a
// repeated one at its first occurrence. kInvalidArgument for an unknown
// zone; kNotFound when no day is set.
Result<WallTime> nextTimeOfDay(int minuteOfDay, const std::bitset<7>& days, const std::string& zone,
                               WallTime after);
// The last such instant strictly before `before`.
Result<WallTime> previousTimeOfDay(int minuteOfDay, const std::bitset<7>& days,
                                   const std::string& zone, WallTime before);

// When a run created at `created` must have finished by `d`: created + the
// duration, or the first time of day after `created` (every day counts).
Result<WallTime> finishDeadline(const SloDeadline& d, const std::string& zone, WallTime created);

// `keel validate --explain`: the next deadlines of the SLO after `now`,
// one line each ("  slo next: start_by 2026-11-29T06:00:00Z (07:00
// Europe/Paris)"): a time-of-day start_by, each cron fire's start_by (the
// fire plus the duration), and the finish_by of a run created at `now`.
// Empty when it has none (freshness depends on the last success).
std::string nextSloDeadlines(const WorkflowSpec& w, WallTime now);

// "mon,tue,wed" for explain; "every day" when all are set.
std::string formatDays(const std::bitset<7>& days);

}  // namespace keel::spec
