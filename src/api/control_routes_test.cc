// Pause, resume, disable and enable routes: each reaches the engine with
// the caller and the reason, answers what the engine says (200 with
// `changed`, 404, 409), refuses unknown fields; the workflow reads show
// `paused` and `disabled`.
#include "api/server_test_fixture.h"

namespace keel::api::test {
namespace {

TEST_F(ServerTest, WorkflowControlsReachTheEngineWithTheCallerAndTheReason) {
  start();
  auto paused = post("/api/v1/workflows/hello/pause", R"({"reason":"deploy window"})",
                     {{"X-Keel-Actor", "alice"}});
  ASSERT_EQ(paused->status, 200) << paused->body;
  auto j = body(paused);
  EXPECT_EQ(j["name"], "hello");
  EXPECT_EQ(j["changed"], true);
  EXPECT_EQ(j["paused"]["by"], "alice (token tester)");
  EXPECT_EQ(j["paused"]["reason"], "deploy window");
  EXPECT_TRUE(j["disabled"].is_null());
  for (const char* action : {"resume", "disable", "enable"})
    EXPECT_EQ(post(std::string("/api/v1/workflows/hello/") + action, "")->status, 200) << action;
  EXPECT_EQ(control_.controls(), (std::vector<std::string>{"pause hello", "resume hello",
                                                           "disable hello", "enable hello"}));
  EXPECT_EQ(control_.callers()[0].reason, "deploy window");
  EXPECT_EQ(control_.callers()[0].actor(), "alice (token tester)");

  control_.onWorkflowControl =
      [](const std::string&, const std::string& name) -> Result<engine::WorkflowControlResult> {
    if (name == "nope") return Error(ErrorCode::kNotFound, "no workflow named 'nope'");
    engine::WorkflowControlResult r;
    r.control.name = name;
    r.control.paused = true;
    r.control.pausedBy = "bob";
    r.control.pausedAt = at(kT0);
    return r;  // changed = false: it was paused already
  };
  auto again = body(post("/api/v1/workflows/hello/pause", ""));
  EXPECT_EQ(again["changed"], false);
  EXPECT_EQ(again["paused"]["at"], "2026-01-01T00:00:00.000Z");
  expectError(post("/api/v1/workflows/nope/pause", ""), 404, "not_found");
  const size_t before = control_.controls().size();
  expectError(post("/api/v1/workflows/hello/pause", R"({"why":"x"})"), 400, "invalid_argument");
  expectError(post("/api/v1/workflows/hello/disable", R"({"reason":"two\nlines"})"), 400,
              "invalid_argument");
  EXPECT_EQ(control_.controls().size(), before) << "a refused request reached the engine";
}

TEST_F(ServerTest, RunPauseAndResumeAnswerTheRun) {
  start();
  control_.onRunControl = [](const std::string& action,
                             const std::string& id) -> Result<store::RunRow> {
    if (id == kRunIds[2]) return Error(ErrorCode::kConflict, "run already finished (failed)");
    auto row = sampleRun().run;
    row.id = id;
    row.state = action == "pause" ? RunState::kPaused : RunState::kRunning;
    row.reason = action == "pause" ? "run paused by tester" : "";
    row.finishedAt.reset();
    return row;
  };
  auto paused = post(std::string("/api/v1/runs/") + kRunIds[1] + "/pause",
                     R"({"reason":"look at it first"})");
  ASSERT_EQ(paused->status, 200) << paused->body;
  EXPECT_EQ(body(paused)["state"], "paused");
  auto resumed = post(std::string("/api/v1/runs/") + kRunIds[1] + "/resume", "");
  ASSERT_EQ(resumed->status, 200) << resumed->body;
  EXPECT_EQ(body(resumed)["state"], "running");
  expectError(post(std::string("/api/v1/runs/") + kRunIds[2] + "/pause", ""), 409, "conflict");
  EXPECT_EQ(control_.controls(), (std::vector<std::string>{std::string("pause ") + kRunIds[1],
                                                           std::string("resume ") + kRunIds[1],
                                                           std::string("pause ") + kRunIds[2]}));
  EXPECT_EQ(control_.callers()[0].reason, "look at it first");
}

TEST_F(ServerTest, WorkflowReadsShowPausedAndDisabled) {
  store::WorkflowControlRow c;
  c.name = "hello";
  c.disabled = true;
  c.disabledBy = "alice";
  c.disabledAt = at(kT0);
  c.disabledReason = "retired";
  store_.workflowControls = {c};
  start();
  auto list = body(get("/api/v1/workflows"));
  ASSERT_FALSE(list["workflows"].empty());
  for (const auto& w : list["workflows"]) {
    ASSERT_TRUE(w.contains("paused") && w.contains("disabled")) << w.dump();
    EXPECT_TRUE(w["paused"].is_null());
    if (w["name"] == "hello") {
      EXPECT_EQ(w["disabled"]["by"], "alice");
      EXPECT_EQ(w["disabled"]["reason"], "retired");
    } else {
      EXPECT_TRUE(w["disabled"].is_null());
    }
  }
  auto one = body(get("/api/v1/workflows/hello"));
  EXPECT_EQ(one["disabled"]["at"], "2026-01-01T00:00:00.000Z");
  EXPECT_TRUE(one["paused"].is_null());
}

}  // namespace
}  // namespace keel::api::test
