// slo: finish_by, start_by, freshness, days and timezone; what is refused
// (each at its FILE:LINE:COL); and the deadlines of slo.h.
#include <gtest/gtest.h>

#include "spec/fire_times.h"
#include "spec/slo.h"
#include "spec/spec_test_util.h"

namespace keel::spec {
namespace {

using testing::hasProblem;
using testing::parse;
using testing::plus;

// Lines 8-10: a cron trigger in Europe/Paris; the slo goes on line 11.
constexpr const char* kCron = "triggers:\n  - cron: \"0 5 * * *\"\n    timezone: Europe/Paris\n";

TEST(ParseSlo, DurationsAndTimesOfDay) {
  auto wf = parse(
      plus(std::string(kCron) + "slo: {finish_by: \"06:30\", start_by: 10m, freshness: 26h}\n"));
  ASSERT_TRUE(wf.ok()) << wf.error().toString();
  const SloSpec& slo = (*wf)->slo;
  ASSERT_TRUE(slo.finishBy);
  EXPECT_EQ(slo.finishBy->minuteOfDay, 6 * 60 + 30);
  EXPECT_FALSE(slo.finishBy->after);
  ASSERT_TRUE(slo.startBy);
  EXPECT_EQ(slo.startBy->after, Millis(10 * 60'000));
  EXPECT_EQ(slo.freshness, Millis(26 * 3'600'000));
  EXPECT_EQ(slo.timezone, "Europe/Paris");  // the first cron trigger's
  EXPECT_TRUE(slo.tracked());
  std::string explained = explainWorkflow(**wf);
  EXPECT_NE(explained.find("finish_by=06:30"), std::string::npos) << explained;
  EXPECT_NE(explained.find("start_by=10m"), std::string::npos) << explained;
  EXPECT_NE(explained.find("freshness=1d2h"), std::string::npos) << explained;
  EXPECT_NE(explained.find("timezone=Europe/Paris"), std::string::npos) << explained;
}

TEST(ParseSlo, MaxDurationIsFinishByAsADuration) {
  auto wf = parse(plus("slo: {max_duration: 45m}\n"));
  ASSERT_TRUE(wf.ok()) << wf.error().toString();
  auto d = (*wf)->slo.finishDeadline();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->after, Millis(45 * 60'000));
  EXPECT_EQ((*wf)->slo.timezone, "UTC");
}

TEST(ParseSlo, StartByTimeOfDayWithDaysAndAZone) {
  auto wf =
      parse(plus("slo: {start_by: \"07:00\", days: [mon, tue, wed, thu, FRI], timezone: "
                 "America/New_York}\n"));
  ASSERT_TRUE(wf.ok()) << wf.error().toString();
  const SloSpec& slo = (*wf)->slo;
  EXPECT_EQ(slo.startBy->minuteOfDay, 7 * 60);
  EXPECT_EQ(slo.timezone, "America/New_York");
  EXPECT_FALSE(slo.days.test(0));
  EXPECT_FALSE(slo.days.test(6));
  EXPECT_TRUE(slo.days.test(1));
  EXPECT_TRUE(slo.days.test(5));
  EXPECT_NE(explainWorkflow(**wf).find("start_by=07:00 on mon,tue,wed,thu,fri"), std::string::npos)
      << explainWorkflow(**wf);
}

TEST(ParseSlo, ErrorsSayWhatAndWhere) {
  EXPECT_TRUE(hasProblem(plus("slo: {finish_by: \"25:00\"}\n"), 8, 18,
                         "slo.finish_by: bad time of day \"25:00\": the hour must be 00-23"));
  EXPECT_TRUE(hasProblem(plus("slo: {start_by: \"07:61\"}\n"), 8, 17,
                         "slo.start_by: bad time of day \"07:61\": the minute must be 00-59"));
  EXPECT_TRUE(hasProblem(plus("slo: {freshness: 26hours}\n"), 8, 18,
                         "slo.freshness: bad duration \"26hours\""));
  EXPECT_TRUE(hasProblem(plus("slo: {finish_by: 0s}\n"), 8, 18,
                         "slo.finish_by: must be greater than zero"));
  EXPECT_TRUE(hasProblem(plus("slo: {finsh_by: 1h}\n"), 8, 7, "unknown key 'slo.finsh_by'"));
  EXPECT_TRUE(
      hasProblem(plus("slo: {start_by: \"07:00\", days: [mon, funday]}\n"), 8, 38,
                 "slo.days: unknown day \"funday\" (use mon, tue, wed, thu, fri, sat, sun)"));
  EXPECT_TRUE(hasProblem(plus("slo: {start_by: \"07:00\", timezone: Mars/Olympus}\n"), 8, 36,
                         "slo.timezone: unknown time zone \"Mars/Olympus\""));
  EXPECT_TRUE(hasProblem(plus("slo: {max_duration: 1h, finish_by: 2h}\n"), 8, 25,
                         "slo: give finish_by or max_duration, not both"));
  EXPECT_TRUE(hasProblem(plus("slo: {freshness: 1d, days: [mon]}\n"), 8, 22,
                         "slo.days: only for a start_by given as a time of day"));
}

TEST(ParseSlo, AStartByDurationNeedsACronTrigger) {
  EXPECT_TRUE(hasProblem(plus("slo: {start_by: 10m}\n"), 8, 17,
                         "slo.start_by: a duration counts from each fire of a cron trigger, and "
                         "this workflow has none"));
  EXPECT_TRUE(parse(plus(std::string(kCron) + "slo: {start_by: 10m}\n")).ok());
}

TEST(SloDeadlines, TimesOfDayInTheZone) {
  // 2026-03-27 (a Friday) 12:00 UTC = 13:00 in Paris.
  WallTime noon = *parseInstant("2026-03-27T12:00:00Z");
  auto next = nextTimeOfDay(7 * 60, std::bitset<7>().set(), "Europe/Paris", noon);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(formatInstant(*next), "2026-03-28T06:00:00Z");  // 07:00 CET
  std::bitset<7> weekdays("0111110");                       // mon..fri
  next = nextTimeOfDay(7 * 60, weekdays, "Europe/Paris", noon);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(formatInstant(*next), "2026-03-30T05:00:00Z");  // Monday, 07:00 CEST
  auto prev = previousTimeOfDay(7 * 60, weekdays, "Europe/Paris", *next);
  ASSERT_TRUE(prev.ok());
  EXPECT_EQ(formatInstant(*prev), "2026-03-27T06:00:00Z");  // Friday
  SloDeadline at6{std::nullopt, 6 * 60, "06:00"};
  auto due = finishDeadline(at6, "UTC", *parseInstant("2026-03-27T06:00:00Z"));
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(formatInstant(*due), "2026-03-28T06:00:00Z");  // strictly after the creation
  auto wf = parse(plus(std::string(kCron) + "slo: {start_by: 10m, finish_by: \"06:30\"}\n"));
  ASSERT_TRUE(wf.ok()) << wf.error().toString();
  EXPECT_EQ(nextSloDeadlines(**wf, noon),
            "  slo next: start_by 2026-03-28T04:10:00Z (the cron fire at 2026-03-28T04:00:00Z "
            "plus 10m)\n"
            "  slo next: finish_by 2026-03-28T05:30:00Z (for a run created now)\n");
  std::string why;
  EXPECT_FALSE(parseTimeOfDay("6:00", why));
  EXPECT_EQ(parseTimeOfDay("23:59", why), 23 * 60 + 59);
}

}  // namespace
}  // namespace keel::spec
