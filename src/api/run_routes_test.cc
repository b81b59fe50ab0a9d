// The run routes of the HTTP API: listing and pagination, a run's detail,
// timeline and logs, cancel and retry.
#include <atomic>
#include <mutex>

#include <fmt/format.h>

#include "api/server_test_fixture.h"
#include "core/ids.h"
#include "core/random.h"

namespace keel::api::test {
namespace {

TEST_F(ServerTest, ListRunsPaginatesNewestFirst) {
  start();
  auto first = get("/api/v1/runs?limit=2");
  ASSERT_EQ(first->status, 200);
  auto page1 = body(first);
  ASSERT_EQ(page1["runs"].size(), 2u);
  EXPECT_EQ(page1["runs"][0]["id"], kRunIds[2]);
  EXPECT_EQ(page1["runs"][1]["id"], kRunIds[1]);
  EXPECT_EQ(page1["next_cursor"], kRunIds[1]);
  EXPECT_EQ(store_.lastFilter().limit, 3) << "one extra row tells whether more exist";
  auto second = get("/api/v1/runs?limit=2&cursor=" + page1["next_cursor"].get<std::string>());
  auto page2 = body(second);
  ASSERT_EQ(page2["runs"].size(), 1u);
  EXPECT_EQ(page2["runs"][0]["id"], kRunIds[0]);
  EXPECT_TRUE(page2["next_cursor"].is_null());
  auto all = body(get("/api/v1/runs"));
  EXPECT_EQ(all["runs"].size(), 3u);
  EXPECT_TRUE(all["next_cursor"].is_null());
  EXPECT_EQ(store_.lastFilter().limit, 51);
}

TEST_F(ServerTest, ListRunsSummaryShapeAndFilters) {
  start();
  auto res = body(get("/api/v1/runs?workflow=hello&state=failed"));
  auto filter = store_.lastFilter();
  EXPECT_EQ(filter.workflow, "hello");
  EXPECT_EQ(filter.states, std::vector<RunState>{RunState::kFailed});
  EXPECT_FALSE(filter.since.has_value());
  ASSERT_EQ(res["runs"].size(), 1u);
  EXPECT_EQ(res["runs"][0], json({{"id", kRunIds[2]},
                                  {"workflow", "hello"},
                                  {"version", 2},
                                  {"state", "failed"},
                                  {"reason", "step shout is dead"},
                                  {"wait", nullptr},
                                  {"params", {{"who", "ops"}}},
                                  {"created_at", "2026-01-01T00:00:00.000Z"},
                                  {"started_at", "2026-01-01T00:00:00.010Z"},
                                  {"finished_at", "2026-01-01T00:00:01.510Z"}}));
}

// state=a,b is any of them; since is a duration before the server's now or
// an RFC 3339 instant, filtered by the store (the fake applies it as the
// SQLite store does, by the time in the run id).
TEST_F(ServerTest, ListRunsBySeveralStatesAndATimeWindow) {
  ManualClock clock(at(kT0 + 3'600'000));  // an hour after the fixture's runs
  ServerOptions options;
  options.clock = &clock;
  start(std::move(options));
  auto both = body(get("/api/v1/runs?state=failed,succeeded"));
  EXPECT_EQ(store_.lastFilter().states,
            (std::vector<RunState>{RunState::kFailed, RunState::kSucceeded}));
  EXPECT_EQ(both["runs"].size(), 3u);
  EXPECT_EQ(body(get("/api/v1/runs?state=failed,cancelled"))["runs"].size(), 1u);

  body(get("/api/v1/runs?since=90m"));
  ASSERT_TRUE(store_.lastFilter().since.has_value());
  EXPECT_EQ(*store_.lastFilter().since, at(kT0 + 3'600'000 - 90 * 60'000));
  body(get("/api/v1/runs?since=2026-01-01T01:00:00%2B01:00"));
  ASSERT_TRUE(store_.lastFilter().since.has_value());
  EXPECT_EQ(*store_.lastFilter().since, WallTime(std::chrono::seconds(1'767'225'600)));
  // Run ids carry their creation time: a window after it finds none.
  SeededRandom random(7);
  store::RunDetail recent;
  recent.run.id = newRunId(at(kT0 + 3'000'000), random);
  recent.run.workflow = "hello";
  store::RunDetail old;
  old.run.id = newRunId(at(kT0), random);
  old.run.workflow = "hello";
  store_.runs = {old, recent};
  auto window = body(get("/api/v1/runs?since=30m"));
  ASSERT_EQ(window["runs"].size(), 1u);
  EXPECT_EQ(window["runs"][0]["id"], recent.run.id);
}

TEST_F(ServerTest, ListRunsRejectsBadQueries) {
  start();
  expectError(get("/api/v1/runs?state=exploded"), 400, "invalid_argument");
  expectError(get("/api/v1/runs?state=failed,,succeeded"), 400, "invalid_argument");
  expectError(get("/api/v1/runs?since=yesterday"), 400, "invalid_argument");
  expectError(get("/api/v1/runs?since=-5m"), 400, "invalid_argument");
  auto dead = get("/api/v1/runs?state=failed,dead");
  expectError(dead, 400, "invalid_argument");
  EXPECT_NE(dead->body.find("a run with a dead step is 'failed'"), std::string::npos) << dead->body;
  expectError(get("/api/v1/runs?limit=0"), 400, "invalid_argument");
  expectError(get("/api/v1/runs?limit=1001"), 400, "invalid_argument");
  expectError(get("/api/v1/runs?limit=ten"), 400, "invalid_argument");
  expectError(get("/api/v1/runs?limit=5x"), 400, "invalid_argument");
  expectError(get("/api/v1/runs?cursor=not-an-id"), 400, "invalid_argument");
  EXPECT_EQ(get("/api/v1/runs?limit=1000")->status, 200);
}

TEST_F(ServerTest, RunDetailShape) {
  start();
  auto res = get(std::string("/api/v1/runs/") + kRunIds[2]);
  ASSERT_EQ(res->status, 200);
  auto j = body(res);
  EXPECT_EQ(j["params"], json({{"who", "ops"}}));
  EXPECT_EQ(j["idempotency_key"], "nightly-1");
  EXPECT_TRUE(j["concurrency_key"].is_null());
  EXPECT_EQ(j["duration_ms"], 1500);
  ASSERT_EQ(j["steps"].size(), 2u);
  auto greet = j["steps"][0];
  EXPECT_EQ(greet["name"], "greet");
  EXPECT_EQ(greet["state"], "succeeded");
  EXPECT_EQ(greet["output"], json({{"rows", 4}}));
  EXPECT_TRUE(greet["due_at"].is_null());
  ASSERT_EQ(greet["attempts"].size(), 1u);
  EXPECT_EQ(greet["attempts"][0], json({{"n", 1},
                                        {"state", "succeeded"},
                                        {"started_at", "2026-01-01T00:00:00.010Z"},
                                        {"finished_at", "2026-01-01T00:00:00.110Z"},
                                        {"duration_ms", 100},
                                        {"exit_code", 0},
                                        {"signal", nullptr},
                                        {"failure_class", nullptr},
                                        {"message", ""}}));
  auto shout = j["steps"][1];
  EXPECT_TRUE(shout["output"].is_null());
  EXPECT_EQ(shout["reason"], "exit code 3");
  ASSERT_EQ(shout["attempts"].size(), 2u);
  EXPECT_TRUE(shout["attempts"][0]["exit_code"].is_null());
  EXPECT_EQ(shout["attempts"][0]["signal"], 9);
  EXPECT_EQ(shout["attempts"][0]["failure_class"], "crash");
  EXPECT_EQ(shout["attempts"][1]["exit_code"], 3);
  expectError(get("/api/v1/runs/01KA0000000000000000000009"), 404, "not_found");
}

TEST_F(ServerTest, EachStepOfARunSaysWhatItNeedsFromTheRunsWorkflowVersion) {
  store_.workflows[1].yaml =
      "name: hello\n"
      "owner: { team: qa, contact: qa@example.com }\n"
      "runbook: https://wiki.example.com/rb\n"
      "steps:\n"
      "  - { name: greet, run: 'echo hi', timeout: 1m }\n"
      "  - { name: shout, run: 'echo HI', timeout: 1m, needs: [greet] }\n";
  start();
  auto j = body(get(std::string("/api/v1/runs/") + kRunIds[2]));
  ASSERT_EQ(j["steps"].size(), 2u);
  EXPECT_EQ(j["steps"][0]["needs"], json::array());
  EXPECT_EQ(j["steps"][1]["needs"], json::array({"greet"}));
  EXPECT_EQ(j["steps"][1]["max_attempts"], 3) << "the default retry policy";
  EXPECT_EQ(j["owner"], json({{"team", "qa"}, {"contact", "qa@example.com"}}));
  EXPECT_EQ(j["runbook"], "https://wiki.example.com/rb");
}

TEST_F(ServerTest, StepNeedsAreNullWhenTheRunsWorkflowVersionNoLongerParses) {
  start();  // hello@v2 is stored as a bare name
  auto res = get(std::string("/api/v1/runs/") + kRunIds[2]);
  ASSERT_EQ(res->status, 200);
  auto j = body(res);
  ASSERT_EQ(j["steps"].size(), 2u);
  ASSERT_TRUE(j["steps"][1].contains("needs"));
  EXPECT_TRUE(j["steps"][1]["needs"].is_null());
  EXPECT_TRUE(j["steps"][1]["max_attempts"].is_null());
  EXPECT_TRUE(j["owner"].is_null());
}

TEST_F(ServerTest, RunEvents) {
  start();
  auto j = body(get(std::string("/api/v1/runs/") + kRunIds[2] + "/events"));
  ASSERT_EQ(j["events"].size(), 2u);
  EXPECT_EQ(j["events"][0], json({{"seq", 1},
                                  {"at", "2026-01-01T00:00:00.000Z"},
                                  {"kind", "run_created"},
                                  {"step", nullptr},
                                  {"attempt", nullptr},
                                  {"message", "by api"},
                                  {"actor", nullptr},
                                  {"reason", nullptr}}));
  EXPECT_EQ(j["events"][1]["step"], "greet");
  EXPECT_EQ(j["events"][1]["attempt"], 1);
  auto none = get(std::string("/api/v1/runs/") + kRunIds[0] + "/events");
  EXPECT_EQ(none->status, 200);
  EXPECT_EQ(body(none)["events"], json::array());
  expectError(get("/api/v1/runs/01KA0000000000000000000009/events"), 404, "not_found");
}

TEST_F(ServerTest, StepLogs) {
  start();
  std::string base = std::string("/api/v1/runs/") + kRunIds[2] + "/steps/";
  auto all = body(get(base + "shout/logs"));
  EXPECT_EQ(all["run"], kRunIds[2]);
  EXPECT_EQ(all["step"], "shout");
  ASSERT_EQ(all["attempts"].size(), 2u);
  EXPECT_EQ(all["attempts"][0], json({{"attempt", 1},
                                      {"stdout", "out1\n"},
                                      {"stderr", "err1\n"},
                                      {"stdout_bytes", 5},
                                      {"stderr_bytes", 5}}));
  EXPECT_EQ(store_.lastLogsAttempt(), std::nullopt);
  auto second = body(get(base + "shout/logs?attempt=2"));
  ASSERT_EQ(second["attempts"].size(), 1u);
  EXPECT_EQ(second["attempts"][0]["stdout_bytes"], 3000000);
  // The store is asked for that attempt alone, not for all of them.
  EXPECT_EQ(store_.lastLogsAttempt(), 2);
  EXPECT_EQ(body(get(base + "shout/logs?attempt=3"))["attempts"], json::array());
  EXPECT_EQ(body(get(base + "greet/logs"))["attempts"], json::array());
  expectError(get(base + "nope/logs"), 404, "not_found");
  expectError(get("/api/v1/runs/01KA0000000000000000000009/steps/shout/logs"), 404, "not_found");
  expectError(get(base + "shout/logs?attempt=0"), 400, "invalid_argument");
}

// A run whose step `shout` runs its third attempt (the sample's run, active).
void makeShoutRun(testing::FakeStore& store) {
  auto& d = store.runs.back();
  d.run.state = RunState::kRunning;
  d.run.finishedAt.reset();
  for (auto& s : d.steps)
    if (s.name == "shout") {
      s.state = StepState::kRunning;
      s.attempts = 3;
    }
  store::AttemptRow a3{d.run.id,
                       "shout",
                       3,
                       AttemptState::kRunning,
                       at(kT0 + 900),
                       std::nullopt,
                       std::nullopt,
                       std::nullopt,
                       FailureClass::kNone,
                       ""};
  d.attempts.push_back(a3);
}

TEST_F(ServerTest, FollowingLogsWaitsForLiveBytesPastTheOffset) {
  makeShoutRun(store_);
  std::atomic<int> calls{0};
  std::vector<engine::LiveLogRequest> asked;
  std::mutex mu;
  control_.onLiveLog = [&](const engine::LiveLogRequest& r) -> Result<engine::LiveLog> {
    {
      std::lock_guard lock(mu);
      asked.push_back(r);
    }
    // Nothing new for the first reads of the long poll, then a line.
    if (++calls < 3) return engine::LiveLog{"", r.offset, false};
    return engine::LiveLog{"line 2\n", r.offset + 7, false};
  };
  start();
  const std::string base = std::string("/api/v1/runs/") + kRunIds[2] + "/steps/shout/logs";
  auto got = body(get(base + "?follow=true&offset=7&wait_ms=30000"));
  EXPECT_EQ(got, json({{"run", kRunIds[2]},
                       {"step", "shout"},
                       {"attempt", 3},
                       {"data", "line 2\n"},
                       {"offset", 14},
                       {"running", true}}));
  EXPECT_EQ(calls.load(), 3);  // it waited rather than answering empty
  std::lock_guard lock(mu);
  ASSERT_FALSE(asked.empty());
  EXPECT_EQ(asked[0].runId, kRunIds[2]);
  EXPECT_EQ(asked[0].step, "shout");
  EXPECT_EQ(asked[0].attempt, 3);
  EXPECT_EQ(asked[0].offset, 7);
}

TEST_F(ServerTest, FollowingAnswersEmptyAfterWaitMsAndTheRestWhenTheAttemptEnds) {
  makeShoutRun(store_);
  std::atomic<bool> ended{false};
  control_.onLiveLog = [&](const engine::LiveLogRequest& r) -> Result<engine::LiveLog> {
    if (ended) return engine::LiveLog{r.offset == 0 ? "all\n" : "", 4, true};
    return engine::LiveLog{"", r.offset, false};
  };
  start();
  const std::string base = std::string("/api/v1/runs/") + kRunIds[2] + "/steps/shout/logs";
  auto idle = body(get(base + "?follow=true&offset=0&wait_ms=0"));
  EXPECT_EQ(idle["data"], "");
  EXPECT_EQ(idle["offset"], 0);
  EXPECT_EQ(idle["running"], true);
  ended = true;
  auto rest = body(get(base + "?follow=true&offset=0&wait_ms=1000"));
  EXPECT_EQ(rest["data"], "all\n");
  EXPECT_EQ(rest["offset"], 4);
  EXPECT_EQ(rest["running"], false);
}

TEST_F(ServerTest, FollowingAnEndedAttemptWithoutLiveOutputAnswersItsStoredLogs) {
  start();  // FakeControl keeps no live output; the sample's step is dead
  const std::string base = std::string("/api/v1/runs/") + kRunIds[2] + "/steps/shout/logs";
  auto first = body(get(base + "?follow=true&attempt=1&wait_ms=30000"));
  EXPECT_EQ(first["attempt"], 1);
  EXPECT_EQ(first["data"], "out1\nerr1\n");  // stdout, then stderr
  EXPECT_EQ(first["offset"], 10);
  EXPECT_EQ(first["running"], false);
  auto later = body(get(base + "?follow=true&offset=3"));
  EXPECT_EQ(later["attempt"], 2);  // the latest
  EXPECT_EQ(later["data"], "");
  EXPECT_EQ(later["running"], false);
  EXPECT_NE(later["message"].get<std::string>().find("stored logs"), std::string::npos);
}

TEST_F(ServerTest, FollowingRefusesBadParameters) {
  start();
  const std::string base = std::string("/api/v1/runs/") + kRunIds[2] + "/steps/shout/logs";
  expectError(get(base + "?follow=yes"), 400, "invalid_argument");
  expectError(get(base + "?follow=true&offset=-1"), 400, "invalid_argument");
  expectError(get(base + "?follow=true&offset=x"), 400, "invalid_argument");
  expectError(get(base + "?follow=true&wait_ms=30001"), 400, "invalid_argument");
  expectError(get(base + "?offset=3"), 400, "invalid_argument");
  expectError(get(base + "?follow=true&attempt=9"), 404, "not_found");
  expectError(get(std::string("/api/v1/runs/") + kRunIds[2] + "/steps/nope/logs?follow=true"), 404,
              "not_found");
}

TEST_F(ServerTest, CancelAndRetry) {
  start();
  control_.onCancel = [](const std::string& id) -> Result<store::RunRow> {
    auto row = sampleRun().run;
    row.id = id;
    row.state = RunState::kCancelled;
    return row;
  };
  auto cancelled = post(std::string("/api/v1/runs/") + kRunIds[1] + "/cancel", "");
  ASSERT_EQ(cancelled->status, 200) << cancelled->body;
  EXPECT_EQ(body(cancelled)["state"], "cancelled");
  EXPECT_EQ(body(cancelled)["id"], kRunIds[1]);
  EXPECT_EQ(control_.cancels(), std::vector<std::string>{kRunIds[1]});
  control_.onRetry = [](const std::string&) -> Result<store::RunRow> {
    return Error(ErrorCode::kConflict, "run is still running");
  };
  expectError(post(std::string("/api/v1/runs/") + kRunIds[1] + "/retry", ""), 409, "conflict");
  control_.onRetry = nullptr;
  expectError(post("/api/v1/runs/nope/retry", ""), 404, "not_found");
}

TEST_F(ServerTest, CancelWithCompensateAsksTheEngineForCompensation) {
  start();
  control_.onCancel = [](const std::string& id) -> Result<store::RunRow> {
    auto row = sampleRun().run;
    row.id = id;
    row.reason = "compensating";
    row.compensation = "running";
    return row;
  };
  const std::string run = std::string("/api/v1/runs/") + kRunIds[1];
  auto answer = post(run + "/cancel", R"({"compensate":true,"reason":"order withdrawn"})");
  ASSERT_EQ(answer->status, 200) << answer->body;
  EXPECT_EQ(body(answer)["compensation"], "running");
  EXPECT_EQ(control_.compensatedCancels(), std::vector<std::string>{kRunIds[1]});
  EXPECT_EQ(control_.callers().at(0).reason, "order withdrawn");
  // false is a plain cancel.
  ASSERT_EQ(post(run + "/cancel", R"({"compensate":false})")->status, 200);
  EXPECT_EQ(control_.compensatedCancels().size(), 1u);
  EXPECT_EQ(control_.cancels().size(), 2u);
  expectError(post(run + "/cancel", R"({"compensate":"yes"})"), 400, "invalid_argument");
  EXPECT_EQ(control_.cancels().size(), 2u);
}

// Who acted and why reach the engine: the token, the person an admin token
// acts for (X-Keel-Actor) and the body's reason; bad ones are refused
// before the engine is asked.
TEST_F(ServerTest, CancelAndRetryCarryTheActorAndTheReason) {
  start();
  control_.onCancel = [](const std::string& id) -> Result<store::RunRow> {
    auto row = sampleRun().run;
    row.id = id;
    return row;
  };
  control_.onRetry = control_.onCancel;
  const std::string run = std::string("/api/v1/runs/") + kRunIds[1];
  auto cancelled = post(run + "/cancel", R"({"reason":"disk full on host-3"})",
                        {{"X-Keel-Actor", "alice@example.com"}});
  ASSERT_EQ(cancelled->status, 200) << cancelled->body;
  auto retried = post(run + "/retry", "");
  ASSERT_EQ(retried->status, 200) << retried->body;
  auto callers = control_.callers();
  ASSERT_EQ(callers.size(), 2u);
  EXPECT_EQ(callers[0].token, "tester");
  EXPECT_EQ(callers[0].onBehalfOf, "alice@example.com");
  EXPECT_EQ(callers[0].reason, "disk full on host-3");
  EXPECT_EQ(callers[0].actor(), "alice@example.com (token tester)");
  EXPECT_EQ(callers[1].actor(), "tester");
  EXPECT_EQ(callers[1].reason, "");

  expectError(post(run + "/cancel", R"({"reason":"two\nlines"})"), 400, "invalid_argument");
  expectError(post(run + "/cancel", R"({"reason":42})"), 400, "invalid_argument");
  expectError(post(run + "/cancel", "{\"reason\":\"" + std::string(1001, 'x') + "\"}"), 400,
              "invalid_argument");
  expectError(post(run + "/cancel", R"({"why":"x"})"), 400, "invalid_argument");
  expectError(post(run + "/cancel", "",
                   {{"X-Keel-Actor",
                     "al\xc3\xaf"
                     "ce"}}),
              400, "invalid_argument");
  expectError(post(run + "/cancel", "", {{"X-Keel-Actor", std::string(129, 'a')}}), 400,
              "invalid_argument");
  EXPECT_EQ(control_.callers().size(), 2u) << "a refused request reached the engine";
}

TEST_F(ServerTest, AFullLastPageOfTheLargestSizeHasNoNextCursor) {
  store_.runs.clear();
  for (int i = 0; i < kMaxListLimit; ++i) {
    store::RunDetail d;
    d.run.id = fmt::format("01KB{:022d}", i);
    d.run.workflow = "hello";
    d.run.createdAt = at(kT0 + i);
    store_.runs.push_back(d);
  }
  start();
  auto res = get("/api/v1/runs?limit=1000");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  auto j = body(res);
  EXPECT_EQ(j["runs"].size(), 1000u);
  EXPECT_TRUE(j["next_cursor"].is_null()) << j["next_cursor"];
  auto smaller = body(get("/api/v1/runs?limit=999"));
  EXPECT_EQ(smaller["next_cursor"], fmt::format("01KB{:022d}", 1));
}

}  // namespace
}  // namespace keel::api::test
