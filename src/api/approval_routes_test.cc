// The approval routes: approve and reject an approval step of a run, with
// the caller's actor and reason; 404, 409 and refused bodies.
#include "api/server_test_fixture.h"

namespace keel::api::test {
namespace {

TEST_F(ServerTest, ApproveAndRejectReachTheEngineWithWhoAndWhy) {
  start();
  control_.onDecideApproval = [](const std::string& id, const std::string&,
                                 bool) -> Result<store::RunRow> {
    auto row = sampleRun().run;
    row.id = id;
    return row;
  };
  const std::string run = std::string("/api/v1/runs/") + kRunIds[1] + "/steps/go-live";
  auto approved =
      post(run + "/approve", R"({"reason":"checked the numbers"})", {{"X-Keel-Actor", "alice"}});
  ASSERT_EQ(approved->status, 200) << approved->body;
  EXPECT_EQ(body(approved)["id"], kRunIds[1]);
  auto approvedNoReason = post(run + "/approve", "");
  ASSERT_EQ(approvedNoReason->status, 200) << approvedNoReason->body;
  auto rejected = post(run + "/reject", R"({"reason":"numbers are off"})");
  ASSERT_EQ(rejected->status, 200) << rejected->body;

  auto decisions = control_.decisions();
  ASSERT_EQ(decisions.size(), 3u);
  EXPECT_EQ(decisions[0], std::make_tuple(std::string(kRunIds[1]), std::string("go-live"), true));
  EXPECT_EQ(decisions[2], std::make_tuple(std::string(kRunIds[1]), std::string("go-live"), false));
  auto callers = control_.callers();
  ASSERT_EQ(callers.size(), 3u);
  EXPECT_EQ(callers[0].actor(), "alice (token tester)");
  EXPECT_EQ(callers[0].reason, "checked the numbers");
  EXPECT_EQ(callers[2].reason, "numbers are off");
}

TEST_F(ServerTest, ARejectionNeedsAReasonAndBadBodiesAreRefused) {
  start();
  control_.onDecideApproval = [](const std::string& id, const std::string&,
                                 bool) -> Result<store::RunRow> {
    auto row = sampleRun().run;
    row.id = id;
    return row;
  };
  const std::string run = std::string("/api/v1/runs/") + kRunIds[1] + "/steps/go-live";
  expectError(post(run + "/reject", ""), 400, "invalid_argument");
  expectError(post(run + "/reject", R"({"reason":""})"), 400, "invalid_argument");
  expectError(post(run + "/approve", R"({"why":"x"})"), 400, "invalid_argument");
  expectError(post(run + "/approve", R"({"reason":"two\nlines"})"), 400, "invalid_argument");
  EXPECT_EQ(control_.decisions().size(), 0u) << "a refused request reached the engine";
}

TEST_F(ServerTest, ASecondDecisionIsAConflictAndAnUnknownRunNotFound) {
  start();
  control_.onDecideApproval = [](const std::string&, const std::string&,
                                 bool) -> Result<store::RunRow> {
    return Error(ErrorCode::kConflict, "step 'go-live' was already approved by alice");
  };
  const std::string run = std::string("/api/v1/runs/") + kRunIds[1] + "/steps/go-live";
  auto res = post(run + "/reject", R"({"reason":"no"})");
  expectError(res, 409, "conflict");
  EXPECT_NE(res->body.find("already approved by alice"), std::string::npos) << res->body;
  control_.onDecideApproval = nullptr;
  expectError(post("/api/v1/runs/nope/steps/go-live/approve", ""), 404, "not_found");
}

}  // namespace
}  // namespace keel::api::test
