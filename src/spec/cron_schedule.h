// CronSchedule: a cron expression, parsed once into the sets of minutes,
// hours, days, months and weekdays it names. This is the one parser of cron
// expressions in keel: the workflow parser checks `cron:` triggers with it,
// `keel cron next` prints with it, and the scheduler fires with it.
//
// Syntax (as in Vixie cron and cronie): five fields separated by blanks,
//   minute (0-59) hour (0-23) day-of-month (1-31) month (1-12 or jan-dec)
//   day-of-week (0-7 or sun-sat; 0 and 7 are both Sunday),
// each a comma-separated list of items: `*`, `N`, `A-B`, `*/S`, `A-B/S` or
// `N/S` (N to the field's maximum, every S). Names are case-insensitive.
// Or one macro: @hourly (0 * * * *), @daily and @midnight (0 0 * * *),
// @weekly (0 0 * * 0), @monthly (0 0 1 * *), @yearly and @annually
// (0 0 1 1 *).
//
// Pure value type; any thread.
#pragma once

#include <bitset>
#include <string>
#include <string_view>

#include "core/result.h"

namespace keel::spec {

struct CronSchedule {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> daysOfMonth;  // bits 1..31
  std::bitset<13> months;       // bits 1..12
  std::bitset<7> daysOfWeek;    // 0 = Sunday .. 6 = Saturday (7 is folded into 0)
  // Whether the field's text starts with '*' (`*`, `*/2`). As in cronie, a
  // day field starting with '*' does not restrict the day: day-of-month and
  // day-of-week combine with OR only when neither starts with '*', with AND
  // otherwise. A job whose minute or hour starts with '*' follows the local
  // clock through daylight-saving changes; the others are fixed-time jobs
  // (see fire_times.h).
  bool minuteStar = false;
  bool hourStar = false;
  bool dayOfMonthStar = false;
  bool dayOfWeekStar = false;

  // True when neither the minute nor the hour field starts with '*'.
  bool fixedTime() const { return !minuteStar && !hourStar; }
  // Whether the schedule fires on this calendar day (month 1-12, day 1-31,
  // weekday 0 = Sunday), by the OR/AND rule above.
  bool matchesDay(int month, int dayOfMonth, int dayOfWeek) const;
};

// Parses an expression; kInvalidArgument otherwise, the message naming the
// field and what is wrong ("hour: 25 is out of range 0-23"). Blanks around
// the expression are ignored.
Result<CronSchedule> parseCron(std::string_view expr);

}  // namespace keel::spec
