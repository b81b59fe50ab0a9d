// parseCron(): which bits each syntax sets, and the error for each mistake.
#include "spec/cron_schedule.h"

#include <gtest/gtest.h>

namespace keel::spec {
namespace {

CronSchedule parsedCron(std::string_view expr) {
  auto s = parseCron(expr);
  EXPECT_TRUE(s.ok()) << expr << ": " << (s.ok() ? "" : s.error().message());
  return s.ok() ? *s : CronSchedule{};
}

std::string errorOf(std::string_view expr) {
  auto s = parseCron(expr);
  if (s.ok()) return "(accepted)";
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  return s.error().message();
}

template <size_t N>
std::string bits(const std::bitset<N>& b) {
  std::string out;
  for (size_t i = 0; i < N; ++i)
    if (b.test(i)) out += (out.empty() ? "" : ",") + std::to_string(i);
  return out;
}

TEST(CronSchedule, ListsRangesAndSteps) {
  auto s = parsedCron("5,10-12,40-50/5 */6 1-31/10 */4 1-5");
  EXPECT_EQ(bits(s.minutes), "5,10,11,12,40,45,50");
  EXPECT_EQ(bits(s.hours), "0,6,12,18");
  EXPECT_EQ(bits(s.daysOfMonth), "1,11,21,31");
  EXPECT_EQ(bits(s.months), "1,5,9");
  EXPECT_EQ(bits(s.daysOfWeek), "1,2,3,4,5");
}

TEST(CronSchedule, StarsAndTheirFlags) {
  auto all = parsedCron("* * * * *");
  EXPECT_EQ(all.minutes.count(), 60u);
  EXPECT_EQ(all.hours.count(), 24u);
  EXPECT_EQ(bits(all.daysOfMonth), bits(parsedCron("0 0 1-31 * *").daysOfMonth));
  EXPECT_EQ(all.months.count(), 12u);
  EXPECT_EQ(all.daysOfWeek.count(), 7u);
  EXPECT_TRUE(all.minuteStar && all.hourStar && all.dayOfMonthStar && all.dayOfWeekStar);
  EXPECT_FALSE(all.fixedTime());

  // A field starting with '*' counts as unrestricted, even with a step (cronie).
  auto stepped = parsedCron("0 2 */2 * */3");
  EXPECT_TRUE(stepped.fixedTime());
  EXPECT_TRUE(stepped.dayOfMonthStar);
  EXPECT_TRUE(stepped.dayOfWeekStar);
  EXPECT_EQ(bits(stepped.daysOfWeek), "0,3,6");
  auto restricted = parsedCron("0-59 0-23 1-31 * 0-7");
  EXPECT_FALSE(restricted.minuteStar || restricted.hourStar || restricted.dayOfMonthStar ||
               restricted.dayOfWeekStar);
  EXPECT_FALSE(parsedCron("*/15 2 * * *").fixedTime());
  EXPECT_FALSE(parsedCron("30 * * * *").fixedTime());
}

TEST(CronSchedule, NamesAnyCaseAndSundayAsSeven) {
  auto s = parsedCron("0 0 * JAN,jul,Dec sun,Fri-SAT");
  EXPECT_EQ(bits(s.months), "1,7,12");
  EXPECT_EQ(bits(s.daysOfWeek), "0,5,6");
  EXPECT_EQ(bits(parsedCron("0 0 * * 7").daysOfWeek), "0");
  EXPECT_EQ(bits(parsedCron("0 0 * * 5-7").daysOfWeek), "0,5,6");
  EXPECT_EQ(bits(parsedCron("0 0 * * */7").daysOfWeek), "0");
  EXPECT_EQ(bits(parsedCron("0 0 * feb-apr *").months), "2,3,4");
}

TEST(CronSchedule, NumberSlashStepRunsToTheMaximum) {
  EXPECT_EQ(bits(parsedCron("50/5 * * * *").minutes), "50,55");
  EXPECT_EQ(bits(parsedCron("0 20/2 * * *").hours), "20,22");
  // A step longer than the range keeps its first value (accepted as before).
  EXPECT_EQ(bits(parsedCron("*/100 * * * *").minutes), "0");
}

TEST(CronSchedule, Macros) {
  auto same = [](std::string_view macro, std::string_view expr) {
    auto a = parsedCron(macro);
    auto b = parsedCron(expr);
    EXPECT_EQ(bits(a.minutes), bits(b.minutes)) << macro;
    EXPECT_EQ(bits(a.hours), bits(b.hours)) << macro;
    EXPECT_EQ(bits(a.daysOfMonth), bits(b.daysOfMonth)) << macro;
    EXPECT_EQ(bits(a.months), bits(b.months)) << macro;
    EXPECT_EQ(bits(a.daysOfWeek), bits(b.daysOfWeek)) << macro;
    EXPECT_EQ(a.hourStar, b.hourStar) << macro;
    EXPECT_EQ(a.dayOfMonthStar, b.dayOfMonthStar) << macro;
    EXPECT_EQ(a.dayOfWeekStar, b.dayOfWeekStar) << macro;
  };
  same("@hourly", "0 * * * *");
  same("@daily", "0 0 * * *");
  same("@midnight", "0 0 * * *");
  same("@weekly", "0 0 * * 0");
  same("@monthly", "0 0 1 * *");
  same("@yearly", "0 0 1 1 *");
  same("@annually", "0 0 1 1 *");
  same("  @daily\t", "0 0 * * *");
  same(" 0  5\t* * * ", "0 5 * * *");
}

TEST(CronSchedule, ErrorsNameTheFieldAndTheProblem) {
  EXPECT_EQ(errorOf("0 25 * * *"), "hour: 25 is out of range 0-23");
  EXPECT_EQ(errorOf("60 * * * *"), "minute: 60 is out of range 0-59");
  EXPECT_EQ(errorOf("0 0 0 * *"), "day-of-month: 0 is out of range 1-31");
  EXPECT_EQ(errorOf("0 0 * 13 *"), "month: 13 is out of range 1-12");
  EXPECT_EQ(errorOf("0 0 * * 8"), "day-of-week: 8 is out of range 0-7");
  EXPECT_EQ(errorOf("0 5 * *"),
            "expected 5 fields (minute hour day-of-month month day-of-week), got 4");
  EXPECT_EQ(errorOf(""), "expected 5 fields (minute hour day-of-month month day-of-week), got 0");
  EXPECT_EQ(errorOf("0 0 * * * *"),
            "expected 5 fields (minute hour day-of-month month day-of-week), got 6");
  EXPECT_EQ(errorOf("*/0 * * * *"), "minute: a step must be 1 or more");
  EXPECT_EQ(errorOf("*/x * * * *"), "minute: step 'x' is not a number");
  EXPECT_EQ(errorOf("*/ * * * *"), "minute: step '' is not a number");
  EXPECT_EQ(errorOf("0 0 * foo *"), "month: 'foo' is not a number or a name");
  EXPECT_EQ(errorOf("0 mon * * *"), "hour: 'mon' is not a number");
  EXPECT_EQ(errorOf("0 0 * * sunday"), "day-of-week: 'sunday' is not a number or a name");
  EXPECT_EQ(errorOf("1x * * * *"), "minute: '1x' is not a number");
  EXPECT_EQ(errorOf("0 0 1,,2 * *"), "day-of-month: empty item in a list");
  EXPECT_EQ(errorOf("0 0 1, * *"), "day-of-month: empty item in a list");
  EXPECT_EQ(errorOf("0 20-5 * * *"), "hour: range 20-5 goes backwards");
  EXPECT_EQ(errorOf("0 0 * * fri-mon"), "day-of-week: range fri-mon goes backwards");
  EXPECT_EQ(errorOf("0 5- * * *"), "hour: a value is missing");
  EXPECT_EQ(errorOf("0 -5 * * *"), "hour: a value is missing");
  EXPECT_EQ(errorOf("99999 * * * *"), "minute: '99999' is not a number");
  EXPECT_EQ(errorOf("@fortnightly"),
            "unknown macro (use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or "
            "@annually)");
  EXPECT_EQ(errorOf("@Daily"),
            "unknown macro (use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or "
            "@annually)");
  EXPECT_EQ(errorOf("@daily 5"), "a macro such as @daily stands alone, without fields");
}

TEST(CronSchedule, DayOfMonthAndDayOfWeekCombine) {
  // Both restricted: either matches (crontab(5): "30 4 1,15 * 5" runs on the
  // 1st and 15th and on every Friday).
  auto both = parsedCron("30 4 1,15 * 5");
  EXPECT_TRUE(both.matchesDay(3, 1, 2));
  EXPECT_TRUE(both.matchesDay(3, 6, 5));
  EXPECT_FALSE(both.matchesDay(3, 7, 6));
  // One starts with '*': both must match.
  auto oddMondays = parsedCron("0 0 */2 * mon");
  EXPECT_TRUE(oddMondays.matchesDay(1, 5, 1));
  EXPECT_FALSE(oddMondays.matchesDay(1, 12, 1));
  EXPECT_FALSE(oddMondays.matchesDay(1, 7, 3));
  auto firsts = parsedCron("0 0 1 * *");
  EXPECT_TRUE(firsts.matchesDay(2, 1, 0));
  EXPECT_FALSE(firsts.matchesDay(2, 2, 1));
  // The month always restricts.
  EXPECT_FALSE(parsedCron("0 0 1 jan *").matchesDay(2, 1, 0));
}

}  // namespace
}  // namespace keel::spec
