// When a cron schedule fires: the next instants after a given one, computed
// in an IANA time zone. Pure: the caller passes the time in (no clock is
// read), so the scheduler, `keel cron next` and the tests agree.
//
// Each matching local time (a civil date and hour:minute in `zone`) becomes
// an instant. Daylight-saving changes follow cronie's rule:
//  - a fixed-time job (CronSchedule::fixedTime(): neither the minute nor the
//    hour field starts with '*') whose local time falls in a spring-forward
//    gap fires once, at the first instant after the gap (the transition);
//    one whose local time happens twice (fall back) fires once, at the first
//    occurrence;
//  - any other job (`*/15 * * * *`, `0 * * * *`) follows the local clock as
//    it is: nothing for local times that do not exist, and it fires again
//    in the second pass of a repeated hour.
// Several matching local times that land on one instant fire once.
//
// Any thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <cctz/civil_time.h>

#include "core/clock.h"
#include "core/result.h"
#include "spec/cron_schedule.h"

namespace keel::spec {

// How far ahead nextFireTimes() looks before deciding a schedule never fires
// (`0 0 30 2 *`): long enough for a February 29 on a given weekday.
inline constexpr int kSearchYears = 100;

// kInvalidArgument naming the zone unless `zone` is an IANA time zone name
// known to this machine ("UTC", "Europe/Paris"). Names that look like paths
// ("/etc/...", "..") are refused without touching the file system.
Status checkTimeZone(const std::string& zone);

// Up to `count` fire instants strictly after `after`, ascending, whole
// minutes (UTC time points). Fewer, or none, when the schedule does not fire
// that often within kSearchYears of `after` (nor after the year 2200). An
// unknown zone is kInvalidArgument naming it.
Result<std::vector<WallTime>> nextFireTimes(const CronSchedule& schedule, const std::string& zone,
                                            WallTime after, int count);

// An instant as the clock of `zone` shows it: `rfc3339` with the zone's
// offset ("2026-03-29T03:00:00+02:00", whole seconds), `date` the local
// date ("2026-03-29"). An unknown zone is kInvalidArgument naming it.
struct ZonedTime {
  std::string rfc3339;
  std::string date;
};
Result<ZonedTime> inZone(WallTime t, const std::string& zone);

// An RFC 3339 instant with 'Z' or a numeric offset and an optional
// fraction ('t' and 'z' may be lower case), to whole seconds; nullopt if
// it is not one, or not within the years 1900–2199.
std::optional<WallTime> parseInstant(std::string text);
// "2026-03-29T01:00:00Z": whole seconds, UTC.
std::string formatInstant(WallTime t);

// The day of the week of `d`: 0 = Sunday .. 6 = Saturday.
int weekdayOf(const cctz::civil_day& d);

}  // namespace keel::spec
