// POST /api/v1/events/{topic}: the body checked, the engine's answer
// shaped (202 new, 200 repeated, 409 conflict, errors listed).
#include "api/server_test_fixture.h"

namespace keel::api::test {
namespace {

TEST_F(ServerTest, EmitEventAnswers202WithItsRuns) {
  control_.onEmit = [](const engine::EventRequest& r) -> Result<engine::EventResult> {
    engine::EventResult out;
    out.topic = r.topic;
    out.id = r.id;
    out.runIds = {"01KRUN1", "01KRUN2"};
    out.errors = {{"broken", "bad params for workflow 'broken'"}};
    out.created = true;
    return out;
  };
  start();
  auto res = post("/api/v1/events/files.arrived", R"({"id":"e1","payload":{"region":"eu"}})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202) << res->body;
  EXPECT_EQ(body(res),
            json({{"id", "e1"},
                  {"topic", "files.arrived"},
                  {"runs", {"01KRUN1", "01KRUN2"}},
                  {"errors",
                   {{{"workflow", "broken"}, {"message", "bad params for workflow 'broken'"}}}}}));
  auto emits = control_.emits();
  ASSERT_EQ(emits.size(), 1u);
  EXPECT_EQ(emits[0].topic, "files.arrived");
  EXPECT_EQ(emits[0].id, "e1");
  EXPECT_EQ(emits[0].payload, json({{"region", "eu"}}));
}

TEST_F(ServerTest, ARepeatedEventAnswers200AndAConflict409) {
  control_.onEmit = [](const engine::EventRequest& r) -> Result<engine::EventResult> {
    if (r.payload.contains("other"))
      return Error(ErrorCode::kIdempotencyConflict, "event 'e1' was already received");
    engine::EventResult out;
    out.topic = r.topic;
    out.id = r.id;
    out.runIds = {"01KRUN1"};
    return out;
  };
  start();
  auto again = post("/api/v1/events/t", R"({"id":"e1","payload":{}})");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(body(again)["runs"], json({"01KRUN1"}));
  expectError(post("/api/v1/events/t", R"({"id":"e1","payload":{"other":1}})"), 409,
              "idempotency_conflict");
}

TEST_F(ServerTest, EmitEventRefusesABadBody) {
  start();
  expectError(post("/api/v1/events/t", R"({"payload":{}})"), 400, "invalid_argument");
  expectError(post("/api/v1/events/t", R"({"id":5})"), 400, "invalid_argument");
  expectError(post("/api/v1/events/t", R"({"id":"e","payload":[1]})"), 400, "invalid_argument");
  expectError(post("/api/v1/events/t", R"({"id":"e","extra":1})"), 400, "invalid_argument");
  expectError(post("/api/v1/events/t", "{not json"), 400, "invalid_argument");
  EXPECT_EQ(control_.emits().size(), 0u);
}

}  // namespace
}  // namespace keel::api::test
