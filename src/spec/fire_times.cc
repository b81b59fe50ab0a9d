// nextFireTimes(): walks the calendar day by day in the zone (skipping whole
// months the schedule excludes), turns each matching local time of a
// matching day into instants by cctz's lookup, then sorts: a repeated hour
// makes instants of one day come out of order.
#include "spec/fire_times.h"

#include <algorithm>
#include <cctype>

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

namespace keel::spec {
namespace {

using Seconds = cctz::time_point<cctz::seconds>;

// The year past which instants no longer fit a system_clock time point
// (nanoseconds since 1970 reach 2262), with a margin.
constexpr int kLastYear = 2200;

// IANA names only: cctz would also read a file at any path it is given.
bool plausibleZoneName(const std::string& tz) {
  if (tz.empty() || tz.size() > 64 || tz[0] == '/' || tz.find("..") != std::string::npos)
    return false;
  for (char c : tz) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+';
    if (!ok) return false;
  }
  return true;
}

Result<cctz::time_zone> loadZone(const std::string& name) {
  cctz::time_zone zone;
  if (!plausibleZoneName(name) || !cctz::load_time_zone(name, &zone))
    return Error(ErrorCode::kInvalidArgument,
                 "unknown time zone \"" + name + "\" (use an IANA name such as Europe/Paris)");
  return zone;
}

// Appends the instants of every matching local time of day `d`.
void fireTimesOfDay(const CronSchedule& s, const cctz::time_zone& zone, const cctz::civil_day& d,
                    std::vector<Seconds>& out) {
  for (int h = 0; h < 24; ++h) {
    if (!s.hours.test(h)) continue;
    for (int m = 0; m < 60; ++m) {
      if (!s.minutes.test(m)) continue;
      auto lookup = zone.lookup(cctz::civil_second(d.year(), d.month(), d.day(), h, m, 0));
      switch (lookup.kind) {
        case cctz::time_zone::civil_lookup::UNIQUE:
          out.push_back(lookup.pre);
          break;
        case cctz::time_zone::civil_lookup::SKIPPED:
          // `pre` and `post` of a skipped time lie on either side of the
          // gap; `trans` is its end, the first instant after it.
          if (s.fixedTime()) out.push_back(lookup.trans);
          break;
        case cctz::time_zone::civil_lookup::REPEATED:
          out.push_back(lookup.pre);  // the first occurrence
          if (!s.fixedTime()) out.push_back(lookup.post);
          break;
      }
    }
  }
}

}  // namespace

Status checkTimeZone(const std::string& zone) {
  auto loaded = loadZone(zone);
  if (!loaded.ok()) return loaded.error();
  return okStatus();
}

Result<std::vector<WallTime>> nextFireTimes(const CronSchedule& schedule, const std::string& zone,
                                            WallTime after, int count) {
  auto tz = loadZone(zone);
  if (!tz.ok()) return tz.error();
  std::vector<WallTime> result;
  if (count <= 0) return result;
  const Seconds afterSecond = std::chrono::floor<cctz::seconds>(after);
  // From the day before: an offset change may put a local time of that day
  // after `after`.
  cctz::civil_day day = cctz::civil_day(tz->lookup(afterSecond).cs) - 1;
  const cctz::civil_day last(std::min<cctz::year_t>(day.year() + kSearchYears, kLastYear), 12, 31);
  // Once `count` instants are found, two more days are looked at: instants
  // of a later day may precede some of an earlier day's repeated hour.
  cctz::civil_day stop = last;
  std::vector<Seconds> found;
  std::vector<Seconds> ofDay;
  while (day <= last && day <= stop) {
    if (!schedule.months.test(day.month())) {
      day = cctz::civil_day(cctz::civil_month(day) + 1);
      continue;
    }
    if (schedule.matchesDay(day.month(), day.day(), weekdayOf(day))) {
      ofDay.clear();
      fireTimesOfDay(schedule, *tz, day, ofDay);
      for (const Seconds& t : ofDay)
        if (t > after) found.push_back(t);
      if (stop == last && found.size() >= static_cast<size_t>(count)) stop = day + 2;
    }
    ++day;
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  if (found.size() > static_cast<size_t>(count)) found.resize(static_cast<size_t>(count));
  result.assign(found.begin(), found.end());
  return result;
}

Result<ZonedTime> inZone(WallTime t, const std::string& zone) {
  auto tz = loadZone(zone);
  if (!tz.ok()) return tz.error();
  auto secs = std::chrono::time_point_cast<cctz::seconds>(t);
  return ZonedTime{cctz::format("%Y-%m-%dT%H:%M:%S%Ez", secs, *tz),
                   cctz::format("%Y-%m-%d", secs, *tz)};
}

std::optional<WallTime> parseInstant(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) {
    return static_cast<char>(c == 't' || c == 'z' ? std::toupper(c) : c);
  });
  cctz::time_point<cctz::seconds> seconds;
  if (!cctz::parse("%Y-%m-%dT%H:%M:%E*S%Ez", text, cctz::utc_time_zone(), &seconds))
    return std::nullopt;
  // Whole seconds are enough, and years far away would not fit a WallTime.
  auto year = cctz::convert(seconds, cctz::utc_time_zone()).year();
  if (year < 1900 || year >= 2200) return std::nullopt;
  return WallTime(seconds);
}

std::string formatInstant(WallTime t) {
  return cctz::format("%Y-%m-%dT%H:%M:%SZ", std::chrono::time_point_cast<cctz::seconds>(t),
                      cctz::utc_time_zone());
}

int weekdayOf(const cctz::civil_day& d) {
  switch (cctz::get_weekday(d)) {
    case cctz::weekday::sunday:
      return 0;
    case cctz::weekday::monday:
      return 1;
    case cctz::weekday::tuesday:
      return 2;
    case cctz::weekday::wednesday:
      return 3;
    case cctz::weekday::thursday:
      return 4;
    case cctz::weekday::friday:
      return 5;
    case cctz::weekday::saturday:
      return 6;
  }
  return 0;
}

}  // namespace keel::spec
