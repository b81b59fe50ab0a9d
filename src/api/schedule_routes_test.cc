// GET /api/v1/schedules: the cron triggers of the latest versions, their
// next instants from the server's clock, and where each stands.
#include "api/server_test_fixture.h"

namespace keel::api::test {
namespace {

TEST_F(ServerTest, SchedulesListsCronTriggersWithNextAndLast) {
  store_.workflows.push_back(
      {"nightly", 1, "default",
       "name: nightly\nowner: { team: t }\nrunbook: https://wiki.example.com/rb\n"
       "triggers:\n  - cron: \"0 3 * * *\"\n"
       "  - event: files.arrived\n"
       "  - { cron: \"30 2 * * *\", timezone: Europe/Paris }\n"
       "steps:\n  - { name: a, noop: true }\n",
       "/w", "ddd", at(kT0)});
  store_.scheduleStates = {
      {"nightly", 2, WallTime(std::chrono::seconds(1'795'829'400)), "01KRUN1", "started"}};
  start();
  auto res = get("/api/v1/schedules");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json list = body(res)["schedules"];
  ASSERT_EQ(list.size(), 2u) << list.dump();
  EXPECT_EQ(list[0]["workflow"], "nightly");
  EXPECT_EQ(list[0]["trigger"], 0);
  EXPECT_EQ(list[0]["cron"], "0 3 * * *");
  EXPECT_EQ(list[0]["timezone"], "UTC");
  EXPECT_EQ(list[0]["misfire"], "run_once");
  EXPECT_EQ(list[0]["overlap"], "skip");
  EXPECT_TRUE(list[0]["last"].is_null());
  ASSERT_EQ(list[0]["next"].size(), 5u);
  for (const auto& t : list[0]["next"]) {
    std::string text = t.get<std::string>();
    EXPECT_EQ(text.substr(10), "T03:00:00Z") << text;
  }
  EXPECT_EQ(list[1]["trigger"], 2);
  EXPECT_EQ(list[1]["timezone"], "Europe/Paris");
  EXPECT_EQ(
      list[1]["last"],
      json({{"instant", "2026-11-28T01:30:00Z"}, {"run_id", "01KRUN1"}, {"outcome", "started"}}));
  EXPECT_TRUE(list[1]["queued"].is_null());
}

TEST_F(ServerTest, SchedulesShowAQueuedFire) {
  store_.workflows.push_back(
      {"nightly", 1, "default",
       "name: nightly\nowner: { team: t }\nrunbook: https://wiki.example.com/rb\n"
       "triggers:\n  - { cron: \"0 3 * * *\", overlap: queue }\n"
       "steps:\n  - { name: a, noop: true }\n",
       "/w", "ddd", at(kT0)});
  store_.scheduleStates = {{"nightly", 0, WallTime(std::chrono::seconds(1'795'834'800)), "01KRUN1",
                            "queued: previous run 01KRUN1 still running"}};
  start();
  auto res = get("/api/v1/schedules");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json list = body(res)["schedules"];
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["overlap"], "queue");
  EXPECT_EQ(list[0]["last"]["outcome"], "queued: previous run 01KRUN1 still running");
  EXPECT_EQ(list[0]["queued"],
            json({{"instant", "2026-11-28T03:00:00Z"}, {"waiting_for", "01KRUN1"}}));
}

}  // namespace
}  // namespace keel::api::test
