// The step action routes: skip, rerun --from and cancel of one step.
#include "api/server_test_fixture.h"

namespace keel::api::test {
namespace {

TEST_F(ServerTest, SkipRerunAndCancelStepReachTheEngineWithWhoAndWhy) {
  start();
  control_.onStepAction = [](const std::string&, const std::string& id,
                             const std::string&) -> Result<store::RunRow> {
    auto row = sampleRun().run;
    row.id = id;
    row.state = RunState::kRunning;
    return row;
  };
  const std::string run = std::string("/api/v1/runs/") + kRunIds[1];
  auto skipped = post(run + "/steps/shout/skip", R"({"reason":"upstream file is bad"})",
                      {{"X-Keel-Actor", "alice"}});
  ASSERT_EQ(skipped->status, 200) << skipped->body;
  EXPECT_EQ(body(skipped)["id"], kRunIds[1]);
  auto rerun = post(run + "/rerun", R"({"from":"shout","reason":"fixed the input"})");
  ASSERT_EQ(rerun->status, 200) << rerun->body;
  auto cancelled = post(run + "/steps/greet/cancel", "");
  ASSERT_EQ(cancelled->status, 200) << cancelled->body;
  EXPECT_EQ(control_.stepActions(),
            (std::vector<std::string>{std::string("skip ") + kRunIds[1] + " shout",
                                      std::string("rerun ") + kRunIds[1] + " shout",
                                      std::string("cancel_step ") + kRunIds[1] + " greet"}));
  auto callers = control_.callers();
  ASSERT_EQ(callers.size(), 3u);
  EXPECT_EQ(callers[0].actor(), "alice (token tester)");
  EXPECT_EQ(callers[0].reason, "upstream file is bad");
  EXPECT_EQ(callers[1].reason, "fixed the input");
  EXPECT_EQ(callers[2].reason, "");
}

TEST_F(ServerTest, StepActionsAnswerTheEnginesRefusalsAndRefuseBadBodies) {
  start();
  control_.onStepAction = [](const std::string&, const std::string&,
                             const std::string& step) -> Result<store::RunRow> {
    if (step == "nope") return Error(ErrorCode::kNotFound, "run has no step 'nope'");
    return Error(ErrorCode::kConflict, "step '" + step + "' is running; cancel it first");
  };
  const std::string run = std::string("/api/v1/runs/") + kRunIds[1];
  auto refused = post(run + "/steps/greet/skip", "");
  expectError(refused, 409, "conflict");
  EXPECT_NE(refused->body.find("cancel it first"), std::string::npos) << refused->body;
  expectError(post(run + "/steps/nope/skip", ""), 404, "not_found");
  expectError(post(run + "/rerun", R"({"from":"nope"})"), 404, "not_found");
  const size_t asked = control_.stepActions().size();
  auto noFrom = post(run + "/rerun", R"({"reason":"x"})");
  expectError(noFrom, 400, "invalid_argument");
  EXPECT_NE(noFrom->body.find("'from'"), std::string::npos) << noFrom->body;
  expectError(post(run + "/rerun", R"({"from":3})"), 400, "invalid_argument");
  expectError(post(run + "/rerun", R"({"from":"a","force":true})"), 400, "invalid_argument");
  expectError(post(run + "/steps/greet/skip", R"({"from":"a"})"), 400, "invalid_argument");
  expectError(post(run + "/steps/greet/cancel", R"({"reason":"two\nlines"})"), 400,
              "invalid_argument");
  EXPECT_EQ(control_.stepActions().size(), asked) << "a refused request reached the engine";
}

}  // namespace
}  // namespace keel::api::test
