// nextFireTimes(): exact UTC instants, worked out by hand from each zone's
// rules (the offsets and transition times are in the comments), around
// daylight-saving changes, rare days and never-firing expressions.
#include "spec/fire_times.h"

#include <cctz/time_zone.h>
#include <gtest/gtest.h>

namespace keel::spec {
namespace {

WallTime utc(const std::string& rfc3339) {
  cctz::time_point<cctz::seconds> tp;
  EXPECT_TRUE(cctz::parse("%Y-%m-%dT%H:%M:%E*S%Ez", rfc3339, cctz::utc_time_zone(), &tp))
      << rfc3339;
  return tp;
}

// The next `count` fire times as "YYYY-MM-DDTHH:MMZ", space-separated.
std::string next(std::string_view expr, const std::string& zone, const std::string& after,
                 int count) {
  auto schedule = parseCron(expr);
  if (!schedule.ok()) return "bad expression: " + schedule.error().message();
  auto times = nextFireTimes(*schedule, zone, utc(after), count);
  if (!times.ok()) return "error: " + times.error().message();
  std::string out;
  for (WallTime t : *times) {
    auto seconds = std::chrono::time_point_cast<cctz::seconds>(t);
    out +=
        (out.empty() ? "" : " ") + cctz::format("%Y-%m-%dT%H:%MZ", seconds, cctz::utc_time_zone());
  }
  return out;
}

TEST(FireTimes, StrictlyAfterTheGivenInstant) {
  EXPECT_EQ(next("0 5 * * *", "UTC", "2026-01-01T05:00:00Z", 2),
            "2026-01-02T05:00Z 2026-01-03T05:00Z");
  EXPECT_EQ(next("0 5 * * *", "UTC", "2026-01-01T04:59:59.999Z", 1), "2026-01-01T05:00Z");
  EXPECT_EQ(next("* * * * *", "UTC", "2026-01-01T23:58:30Z", 3),
            "2026-01-01T23:59Z 2026-01-02T00:00Z 2026-01-02T00:01Z");
  EXPECT_EQ(next("* * * * *", "UTC", "2026-01-01T00:00:00Z", 0), "");
}

TEST(FireTimes, CrontabManualExamples) {
  // crontab(5): "run at 2:15pm on the first of every month".
  EXPECT_EQ(next("15 14 1 * *", "UTC", "2026-01-15T00:00:00Z", 3),
            "2026-02-01T14:15Z 2026-03-01T14:15Z 2026-04-01T14:15Z");
  // "run at 10 pm on weekdays" (2026-01-02 is a Friday).
  EXPECT_EQ(next("0 22 * * 1-5", "UTC", "2026-01-02T12:00:00Z", 3),
            "2026-01-02T22:00Z 2026-01-05T22:00Z 2026-01-06T22:00Z");
  // "run 23 minutes after midn, 2am, 4am ..., everyday".
  EXPECT_EQ(next("23 0-23/2 * * *", "UTC", "2026-01-01T00:00:00Z", 3),
            "2026-01-01T00:23Z 2026-01-01T02:23Z 2026-01-01T04:23Z");
  // "run at 5 after 4 every sunday" (2026-01-04 is a Sunday).
  EXPECT_EQ(next("5 4 * * sun", "UTC", "2026-01-01T00:00:00Z", 2),
            "2026-01-04T04:05Z 2026-01-11T04:05Z");
  // "at 4:30 am on the 1st and 15th of each month, plus every Friday".
  EXPECT_EQ(next("30 4 1,15 * 5", "UTC", "2026-01-01T05:00:00Z", 4),
            "2026-01-02T04:30Z 2026-01-09T04:30Z 2026-01-15T04:30Z 2026-01-16T04:30Z");
}

TEST(FireTimes, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // 2026-01-01 is a Thursday: Mondays 5, 12, 19, 26, Feb 2; the 15th; Feb 1.
  EXPECT_EQ(next("0 0 1,15 * mon", "UTC", "2026-01-01T00:00:00Z", 7),
            "2026-01-05T00:00Z 2026-01-12T00:00Z 2026-01-15T00:00Z 2026-01-19T00:00Z "
            "2026-01-26T00:00Z 2026-02-01T00:00Z 2026-02-02T00:00Z");
  // A day field starting with '*' does not restrict: Mondays on odd days.
  EXPECT_EQ(next("0 0 */2 * mon", "UTC", "2026-01-01T00:00:00Z", 3),
            "2026-01-05T00:00Z 2026-01-19T00:00Z 2026-02-09T00:00Z");
  // Every day the 1st or 15th, whatever the weekday field's step.
  EXPECT_EQ(next("0 0 1,15 * */1", "UTC", "2026-01-01T00:00:00Z", 3),
            "2026-01-15T00:00Z 2026-02-01T00:00Z 2026-02-15T00:00Z");
}

TEST(FireTimes, NamesStepsAndMacros) {
  // Weekdays of January and July; 2026-07-01 is a Wednesday.
  EXPECT_EQ(next("0 9 * jan,JUL Mon-Fri", "UTC", "2026-01-30T12:00:00Z", 4),
            "2026-07-01T09:00Z 2026-07-02T09:00Z 2026-07-03T09:00Z 2026-07-06T09:00Z");
  EXPECT_EQ(next("5-20/5 */6 * * *", "UTC", "2026-01-01T05:00:00Z", 5),
            "2026-01-01T06:05Z 2026-01-01T06:10Z 2026-01-01T06:15Z 2026-01-01T06:20Z "
            "2026-01-01T12:05Z");
  EXPECT_EQ(next("50/5 * * * *", "UTC", "2026-01-01T05:00:00Z", 3),
            "2026-01-01T05:50Z 2026-01-01T05:55Z 2026-01-01T06:50Z");
  EXPECT_EQ(next("@weekly", "UTC", "2026-01-01T00:00:00Z", 3),
            "2026-01-04T00:00Z 2026-01-11T00:00Z 2026-01-18T00:00Z");
  // Midnight on Sunday in Paris (UTC+1 in winter) is Saturday 23:00 UTC.
  EXPECT_EQ(next("@weekly", "Europe/Paris", "2026-01-01T00:00:00Z", 2),
            "2026-01-03T23:00Z 2026-01-10T23:00Z");
  EXPECT_EQ(next("@monthly", "UTC", "2026-01-01T00:00:00Z", 2),
            "2026-02-01T00:00Z 2026-03-01T00:00Z");
  EXPECT_EQ(next("@yearly", "UTC", "2026-01-01T00:00:00Z", 2),
            "2027-01-01T00:00Z 2028-01-01T00:00Z");
  EXPECT_EQ(next("@hourly", "America/New_York", "2026-01-01T00:30:00Z", 2),
            "2026-01-01T01:00Z 2026-01-01T02:00Z");
}

TEST(FireTimes, RareDays) {
  // The 31st skips the months without one.
  EXPECT_EQ(next("0 12 31 * *", "UTC", "2026-01-01T00:00:00Z", 7),
            "2026-01-31T12:00Z 2026-03-31T12:00Z 2026-05-31T12:00Z 2026-07-31T12:00Z "
            "2026-08-31T12:00Z 2026-10-31T12:00Z 2026-12-31T12:00Z");
  // February 29: leap years only, and 2100 is not one.
  EXPECT_EQ(next("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", 3),
            "2028-02-29T00:00Z 2032-02-29T00:00Z 2036-02-29T00:00Z");
  EXPECT_EQ(next("0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", 1), "2104-02-29T00:00Z");
  // February 29 that is also a Sunday (the weekday field's '*' makes it AND):
  // 2032-02-29 is a Sunday, the next one 28 years later.
  EXPECT_EQ(next("0 0 29 2 */7", "UTC", "2026-01-01T00:00:00Z", 2),
            "2032-02-29T00:00Z 2060-02-29T00:00Z");
  // @yearly counted from a February 29 (in a zone, across a leap day):
  // January 1 of the following years, the leap day changes nothing.
  EXPECT_EQ(next("@yearly", "Europe/Paris", "2028-02-29T12:00:00Z", 2),
            "2028-12-31T23:00Z 2029-12-31T23:00Z");
  EXPECT_EQ(next("@yearly", "UTC", "2027-12-31T23:59:00Z", 1), "2028-01-01T00:00Z");
}

TEST(FireTimes, NeverFiringExpressionsReturnNothing) {
  EXPECT_EQ(next("0 0 30 2 *", "UTC", "2026-01-01T00:00:00Z", 5), "");
  EXPECT_EQ(next("0 0 31 4,6,9,11 *", "Europe/Paris", "2026-01-01T00:00:00Z", 5), "");
  // Fewer than asked when the search ends.
  EXPECT_EQ(next("0 0 29 2 *", "UTC", "2190-01-01T00:00:00Z", 5),
            "2192-02-29T00:00Z 2196-02-29T00:00Z");
}

TEST(FireTimes, UnknownZoneIsNamed) {
  EXPECT_EQ(next("0 5 * * *", "Mars/Olympus", "2026-01-01T00:00:00Z", 1),
            "error: unknown time zone \"Mars/Olympus\" (use an IANA name such as Europe/Paris)");
  EXPECT_EQ(next("0 5 * * *", "../../etc/passwd", "2026-01-01T00:00:00Z", 1).substr(0, 26),
            "error: unknown time zone \"");
  EXPECT_FALSE(checkTimeZone("/usr/share/zoneinfo/UTC").ok());
  EXPECT_FALSE(checkTimeZone("").ok());
  EXPECT_TRUE(checkTimeZone("UTC").ok());
  EXPECT_TRUE(checkTimeZone("America/New_York").ok());
}

// Europe/Paris 2026: 02:00 CET (01:00Z) on March 29 becomes 03:00 CEST;
// 03:00 CEST (01:00Z) on October 25 becomes 02:00 CET.
TEST(FireTimes, ParisSpringForward) {
  // Fixed time in the gap: once, at 03:00 CEST.
  EXPECT_EQ(next("30 2 * * *", "Europe/Paris", "2026-03-27T12:00:00Z", 3),
            "2026-03-28T01:30Z 2026-03-29T01:00Z 2026-03-30T00:30Z");
  // Two fixed times in the gap and one right after it: once.
  EXPECT_EQ(next("0,30 2,3 * * *", "Europe/Paris", "2026-03-29T00:00:00Z", 3),
            "2026-03-29T01:00Z 2026-03-29T01:30Z 2026-03-30T00:00Z");
  // Following the clock: nothing for 02:xx.
  EXPECT_EQ(next("*/15 * * * *", "Europe/Paris", "2026-03-29T00:30:00Z", 3),
            "2026-03-29T00:45Z 2026-03-29T01:00Z 2026-03-29T01:15Z");
  EXPECT_EQ(next("0 * * * *", "Europe/Paris", "2026-03-28T23:30:00Z", 3),
            "2026-03-29T00:00Z 2026-03-29T01:00Z 2026-03-29T02:00Z");
  EXPECT_EQ(next("*/30 2 * * *", "Europe/Paris", "2026-03-28T12:00:00Z", 3),
            "2026-03-30T00:00Z 2026-03-30T00:30Z 2026-03-31T00:00Z");
}

TEST(FireTimes, ParisFallBack) {
  // Fixed time in the repeated hour: the first (CEST) occurrence only.
  EXPECT_EQ(next("30 2 * * *", "Europe/Paris", "2026-10-23T12:00:00Z", 3),
            "2026-10-24T00:30Z 2026-10-25T00:30Z 2026-10-26T01:30Z");
  // Asked from between the two occurrences: the next day's.
  EXPECT_EQ(next("30 2 * * *", "Europe/Paris", "2026-10-25T00:45:00Z", 1), "2026-10-26T01:30Z");
  // Following the clock: the repeated hour twice.
  EXPECT_EQ(next("*/15 * * * *", "Europe/Paris", "2026-10-25T00:30:00Z", 6),
            "2026-10-25T00:45Z 2026-10-25T01:00Z 2026-10-25T01:15Z 2026-10-25T01:30Z "
            "2026-10-25T01:45Z 2026-10-25T02:00Z");
  EXPECT_EQ(next("0 * * * *", "Europe/Paris", "2026-10-24T23:30:00Z", 3),
            "2026-10-25T00:00Z 2026-10-25T01:00Z 2026-10-25T02:00Z");
}

// America/New_York 2026: 02:00 EST (07:00Z) on March 8 becomes 03:00 EDT;
// 02:00 EDT (06:00Z) on November 1 becomes 01:00 EST.
TEST(FireTimes, NewYorkSpringForwardAndFallBack) {
  EXPECT_EQ(next("30 2 * * *", "America/New_York", "2026-03-06T12:00:00Z", 3),
            "2026-03-07T07:30Z 2026-03-08T07:00Z 2026-03-09T06:30Z");
  EXPECT_EQ(next("*/15 * * * *", "America/New_York", "2026-03-08T06:40:00Z", 3),
            "2026-03-08T06:45Z 2026-03-08T07:00Z 2026-03-08T07:15Z");
  EXPECT_EQ(next("0 * * * *", "America/New_York", "2026-03-08T05:30:00Z", 3),
            "2026-03-08T06:00Z 2026-03-08T07:00Z 2026-03-08T08:00Z");
  // 02:30 exists once on November 1; 01:30 twice (first at EDT).
  EXPECT_EQ(next("30 2 * * *", "America/New_York", "2026-10-31T12:00:00Z", 2),
            "2026-11-01T07:30Z 2026-11-02T07:30Z");
  EXPECT_EQ(next("30 1 * * *", "America/New_York", "2026-10-30T12:00:00Z", 3),
            "2026-10-31T05:30Z 2026-11-01T05:30Z 2026-11-02T06:30Z");
  EXPECT_EQ(next("0 * * * *", "America/New_York", "2026-11-01T04:30:00Z", 3),
            "2026-11-01T05:00Z 2026-11-01T06:00Z 2026-11-01T07:00Z");
}

// Australia/Lord_Howe moves by 30 minutes. 2026-04-05: 02:00 at +11:00
// (15:00Z on the 4th) becomes 01:30 at +10:30. 2026-10-04: 02:00 at +10:30
// (15:30Z on the 3rd) becomes 02:30 at +11:00.
TEST(FireTimes, LordHoweHalfHourShift) {
  EXPECT_EQ(next("*/15 * * * *", "Australia/Lord_Howe", "2026-04-04T14:20:00Z", 5),
            "2026-04-04T14:30Z 2026-04-04T14:45Z 2026-04-04T15:00Z 2026-04-04T15:15Z "
            "2026-04-04T15:30Z");
  EXPECT_EQ(next("45 1 * * *", "Australia/Lord_Howe", "2026-04-04T12:00:00Z", 2),
            "2026-04-04T14:45Z 2026-04-05T15:15Z");
  EXPECT_EQ(next("0 * * * *", "Australia/Lord_Howe", "2026-10-03T14:00:00Z", 2),
            "2026-10-03T14:30Z 2026-10-03T16:00Z");
  EXPECT_EQ(next("15 2 * * *", "Australia/Lord_Howe", "2026-10-03T12:00:00Z", 2),
            "2026-10-03T15:30Z 2026-10-04T15:15Z");
}

}  // namespace
}  // namespace keel::spec
