#include "spec/slo.h"

#include <array>
#include <cctype>
#include <cstdio>

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include "spec/cron_schedule.h"
#include "spec/fire_times.h"

namespace keel::spec {
namespace {

constexpr std::array<const char*, 7> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

// Enough days to find any set weekday, with a margin for zone changes.
constexpr int kDaysSearched = 9;

WallTime instantOf(const cctz::time_zone& zone, const cctz::civil_day& day, int minuteOfDay) {
  auto lookup = zone.lookup(cctz::civil_second(day.year(), day.month(), day.day(), minuteOfDay / 60,
                                               minuteOfDay % 60, 0));
  auto at = lookup.kind == cctz::time_zone::civil_lookup::SKIPPED ? lookup.trans : lookup.pre;
  return WallTime(std::chrono::duration_cast<WallTime::duration>(at.time_since_epoch()));
}

Result<cctz::time_zone> zoneOf(const std::string& name) {
  KEEL_TRY(checkTimeZone(name));
  cctz::time_zone zone;
  if (!cctz::load_time_zone(name, &zone))
    return Error(ErrorCode::kInvalidArgument, "unknown time zone \"" + name + "\"");
  return zone;
}

cctz::civil_day localDay(const cctz::time_zone& zone, WallTime t) {
  auto secs = std::chrono::time_point_cast<cctz::seconds>(t);
  return cctz::civil_day(cctz::convert(secs, zone));
}

}  // namespace

std::optional<int> parseTimeOfDay(std::string_view text, std::string& why) {
  auto digits = [](std::string_view s) {
    if (s.size() != 2) return -1;
    for (char c : s)
      if (c < '0' || c > '9') return -1;
    return (s[0] - '0') * 10 + (s[1] - '0');
  };
  auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    why = "expected a time of day HH:MM such as \"06:00\"";
    return std::nullopt;
  }
  int h = digits(text.substr(0, colon));
  int m = digits(text.substr(colon + 1));
  if (h < 0 || m < 0) {
    why = "expected a time of day HH:MM such as \"06:00\"";
    return std::nullopt;
  }
  if (h > 23) {
    why = "the hour must be 00-23";
    return std::nullopt;
  }
  if (m > 59) {
    why = "the minute must be 00-59";
    return std::nullopt;
  }
  return h * 60 + m;
}

std::string formatTimeOfDay(int minuteOfDay) {
  char buf[24];  // room for any int, though a minute of the day is at most 1439
  std::snprintf(buf, sizeof buf, "%02d:%02d", minuteOfDay / 60, minuteOfDay % 60);
  return buf;
}

std::optional<int> parseWeekday(std::string_view text) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (size_t i = 0; i < kDayNames.size(); ++i)
    if (lower == kDayNames[i]) return static_cast<int>(i);
  return std::nullopt;
}

Result<WallTime> nextTimeOfDay(int minuteOfDay, const std::bitset<7>& days, const std::string& zone,
                               WallTime after) {
  if (days.none()) return Error(ErrorCode::kNotFound, "no day of the week is set");
  auto z = zoneOf(zone);
  if (!z.ok()) return z.error();
  const cctz::time_zone& tz = *z;
  cctz::civil_day day = localDay(tz, after) - 1;
  for (int i = 0; i < kDaysSearched; ++i, ++day) {
    if (!days.test(static_cast<size_t>(weekdayOf(day)))) continue;
    WallTime t = instantOf(tz, day, minuteOfDay);
    if (t > after) return t;
  }
  return Error(ErrorCode::kNotFound, "no such time of day within a week");
}

Result<WallTime> previousTimeOfDay(int minuteOfDay, const std::bitset<7>& days,
                                   const std::string& zone, WallTime before) {
  if (days.none()) return Error(ErrorCode::kNotFound, "no day of the week is set");
  auto z = zoneOf(zone);
  if (!z.ok()) return z.error();
  const cctz::time_zone& tz = *z;
  cctz::civil_day day = localDay(tz, before) + 1;
  for (int i = 0; i < kDaysSearched; ++i, --day) {
    if (!days.test(static_cast<size_t>(weekdayOf(day)))) continue;
    WallTime t = instantOf(tz, day, minuteOfDay);
    if (t < before) return t;
  }
  return Error(ErrorCode::kNotFound, "no such time of day within a week");
}

Result<WallTime> finishDeadline(const SloDeadline& d, const std::string& zone, WallTime created) {
  if (d.after) return created + *d.after;
  return nextTimeOfDay(d.minuteOfDay.value_or(0), std::bitset<7>().set(), zone, created);
}

std::string nextSloDeadlines(const WorkflowSpec& w, WallTime now) {
  const SloSpec& slo = w.slo;
  std::string out;
  if (slo.startBy && slo.startBy->minuteOfDay) {
    auto next = nextTimeOfDay(*slo.startBy->minuteOfDay, slo.days, slo.timezone, now);
    if (next.ok())
      out += "  slo next: start_by " + formatInstant(*next) + " (" +
             formatTimeOfDay(*slo.startBy->minuteOfDay) + " " + slo.timezone + ")\n";
  }
  if (slo.startBy && slo.startBy->after)
    for (const auto& t : w.triggers) {
      if (t.kind != TriggerSpec::Kind::kCron) continue;
      auto schedule = parseCron(t.cron);
      if (!schedule.ok()) continue;
      auto fires = nextFireTimes(*schedule, t.timezone, now, 1);
      if (!fires.ok() || fires->empty()) continue;
      out += "  slo next: start_by " + formatInstant(fires->front() + *slo.startBy->after) +
             " (the cron fire at " + formatInstant(fires->front()) + " plus " + slo.startBy->text +
             ")\n";
    }
  if (auto finish = slo.finishDeadline()) {
    auto due = finishDeadline(*finish, slo.timezone, now);
    if (due.ok())
      out += "  slo next: finish_by " + formatInstant(*due) + " (for a run created now)\n";
  }
  return out;
}

std::string formatDays(const std::bitset<7>& days) {
  if (days.all()) return "every day";
  std::string out;
  // Monday first, as people write weeks.
  for (int k = 1; k <= 7; ++k) {
    int i = k % 7;
    if (!days.test(static_cast<size_t>(i))) continue;
    if (!out.empty()) out += ",";
    out += kDayNames[static_cast<size_t>(i)];
  }
  return out;
}

}  // namespace keel::spec
