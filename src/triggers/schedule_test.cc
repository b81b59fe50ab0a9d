#include "triggers/schedule.h"

#include <gtest/gtest.h>

namespace keel::triggers {
namespace {

using nlohmann::json;

WallTime at(int64_t unixSeconds) { return WallTime(std::chrono::seconds(unixSeconds)); }
// 2026-01-01T00:00:00Z
constexpr int64_t kNewYear = 1'767'225'600;

spec::TriggerSpec cron(std::string expr, std::string misfire = "run_once", int limit = 10) {
  spec::TriggerSpec t;
  t.kind = spec::TriggerSpec::Kind::kCron;
  t.cron = std::move(expr);
  t.misfire = std::move(misfire);
  t.catchUpLimit = limit;
  return t;
}

TEST(Schedule, NothingIsDueBeforeTheFirstInstant) {
  auto p = planDue(cron("0 * * * *"), at(kNewYear), at(kNewYear + 3599), true);
  ASSERT_TRUE(p.ok()) << p.error().toString();
  EXPECT_TRUE(p->fire.empty());
  EXPECT_FALSE(p->latest);
}

TEST(Schedule, WhileRunningTheNewestDueInstantFiresWhateverThePolicy) {
  for (const char* policy : {"skip", "run_once"}) {
    auto p = planDue(cron("0 * * * *", policy), at(kNewYear), at(kNewYear + 3 * 3600), false);
    ASSERT_TRUE(p.ok());
    ASSERT_EQ(p->fire.size(), 1u) << policy;
    EXPECT_EQ(p->fire[0], at(kNewYear + 3 * 3600));
    EXPECT_EQ(p->skipped, 2u);
  }
}

TEST(Schedule, MisfireAtStart) {
  WallTime after = at(kNewYear), now = at(kNewYear + 5 * 3600 + 60);  // 5 hourly instants missed
  auto skip = planDue(cron("0 * * * *", "skip"), after, now, true);
  ASSERT_TRUE(skip.ok());
  EXPECT_TRUE(skip->fire.empty());
  EXPECT_EQ(skip->skipped, 5u);
  EXPECT_EQ(skip->latest, at(kNewYear + 5 * 3600));
  EXPECT_NE(skip->skipReason.find("misfire: skip"), std::string::npos);

  auto once = planDue(cron("0 * * * *", "run_once"), after, now, true);
  ASSERT_TRUE(once.ok());
  ASSERT_EQ(once->fire.size(), 1u);
  EXPECT_EQ(once->fire[0], at(kNewYear + 5 * 3600));
  EXPECT_EQ(once->skipped, 4u);

  auto all = planDue(cron("0 * * * *", "catch_up"), after, now, true);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->fire.size(), 5u);
  EXPECT_EQ(all->fire.front(), at(kNewYear + 3600));
  EXPECT_EQ(all->fire.back(), at(kNewYear + 5 * 3600));

  auto limited = planDue(cron("0 * * * *", "catch_up", 2), after, now, true);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited->fire.size(), 2u);
  EXPECT_EQ(limited->fire[0], at(kNewYear + 4 * 3600));
  EXPECT_EQ(limited->fire[1], at(kNewYear + 5 * 3600));
  EXPECT_EQ(limited->skipped, 3u);
}

TEST(Schedule, AWeekOfMinutesIsWalkedInChunks) {
  auto p = planDue(cron("* * * * *", "catch_up", 3), at(kNewYear), at(kNewYear + 7 * 86400), true);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->fire.size() + p->skipped, 7u * 24 * 60);
  EXPECT_EQ(p->latest, at(kNewYear + 7 * 86400));
}

TEST(Schedule, ParamsKeyAndInstantText) {
  auto t = cron("30 2 * * *");
  t.timezone = "Europe/Paris";
  t.params = {{"day", "{{ schedule.date }}"}, {"at", "{{ schedule.time }}"}};
  // 2026-11-28T01:30:00Z is 02:30 in Paris (UTC+1 in winter).
  WallTime instant = at(1'795'829'400);
  auto p = renderScheduleParams(t, instant);
  ASSERT_TRUE(p.ok()) << p.error().toString();
  EXPECT_EQ(*p, json({{"day", "2026-11-28"}, {"at", "2026-11-28T02:30:00+01:00"}}));
  EXPECT_EQ(formatInstant(instant), "2026-11-28T01:30:00Z");
  EXPECT_EQ(scheduleRunKey("nightly", 1, instant), "cron:nightly:1:1795829400000");
  t.params = {{"x", "{{ event.id }}"}};
  EXPECT_FALSE(renderScheduleParams(t, instant).ok());
}

}  // namespace
}  // namespace keel::triggers
