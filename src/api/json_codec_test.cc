#include "api/json_codec.h"

#include <gtest/gtest.h>

namespace keel::api {
namespace {

using nlohmann::json;

store::RunDetail waitingDetail() {
  store::RunDetail d;
  d.run.id = "r1";
  d.run.workflow = "wf";
  d.run.version = 1;
  d.run.state = RunState::kRunning;
  store::StepRow held;
  held.runId = "r1";
  held.name = "a";
  held.state = StepState::kReady;
  held.reason = "queued: all 2 step slots are busy";
  held.waitKind = "max_parallel";
  held.waitReason = "queued: all 2 step slots are busy";
  store::StepRow free;
  free.runId = "r1";
  free.name = "b";
  free.state = StepState::kPending;
  d.steps = {held, free};
  return d;
}

TEST(JsonCodecTest, AHeldStepShowsItsWaitAndAFreeOneNull) {
  json out = runDetailJson(waitingDetail());
  ASSERT_EQ(out["steps"].size(), 2u);
  EXPECT_EQ(out["steps"][0]["wait"],
            json({{"kind", "max_parallel"}, {"reason", "queued: all 2 step slots are busy"}}));
  ASSERT_TRUE(out["steps"][1].contains("wait"));
  EXPECT_TRUE(out["steps"][1]["wait"].is_null());
  EXPECT_TRUE(out["wait"].is_null());
  EXPECT_TRUE(out["cancel_reason"].is_null());
}

TEST(JsonCodecTest, ARunWaitingForItsConcurrencyKeyShowsItsWaitInItsSummaryAndACancelItsReason) {
  store::RunRow run;
  run.id = "r2";
  run.state = RunState::kRunning;
  run.waitKind = "concurrency";
  run.waitReason = "concurrency key 'eu' is at its limit of 1, held by run r1";
  run.cancelReason = "cancel requested";
  const json wait = {{"kind", "concurrency"},
                     {"reason", "concurrency key 'eu' is at its limit of 1, held by run r1"}};
  EXPECT_EQ(runSummaryJson(run)["wait"], wait) << "run listings show the wait";
  json out = runJson(run);
  EXPECT_EQ(out["wait"], wait);
  EXPECT_EQ(out["cancel_reason"], "cancel requested");
}

TEST(JsonCodecTest, EachStepSaysWhatItNeedsOrNullWhenUnknown) {
  RunFacts facts{"qa", "qa@example.com", "https://wiki.example.com/rb", {}};
  facts.steps["a"] = {{}, 1};
  facts.steps["b"] = {{"a"}, 5};
  json out = runDetailJson(waitingDetail(), &facts);
  EXPECT_EQ(out["steps"][0]["needs"], json::array());
  EXPECT_EQ(out["steps"][1]["needs"], json::array({"a"}));
  EXPECT_EQ(out["steps"][1]["max_attempts"], 5);
  EXPECT_EQ(out["runbook"], "https://wiki.example.com/rb");
  json unknown = runDetailJson(waitingDetail());
  ASSERT_TRUE(unknown["steps"][1].contains("needs"));
  EXPECT_TRUE(unknown["steps"][1]["needs"].is_null());
}

}  // namespace
}  // namespace keel::api
