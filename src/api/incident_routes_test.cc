// The incident routes: text a person writes (root cause, action items,
// workaround) is refused with a NUL or another control character before it
// reaches the engine, and kept as written with tabs and line breaks.
#include "api/server_test_fixture.h"

namespace keel::api::test {
namespace {

TEST_F(ServerTest, IncidentTextWithAControlCharacterIsRefusedBeforeTheEngine) {
  start();
  int calls = 0;
  engine::IncidentRequest seen;
  control_.onIncidentAction = [&](const engine::IncidentRequest& r) -> Result<incidents::Incident> {
    ++calls;
    seen = r;
    incidents::Incident i;
    i.id = r.id;
    i.state = incidents::IncidentState::kResolved;
    return i;
  };
  const std::string resolve = "/api/v1/incidents/inc-000001/resolve";
  auto nul = post(resolve, std::string(R"({"root_cause":"a\u0000b","no_action_reason":"n"})"));
  expectError(nul, 400, "invalid_argument");
  EXPECT_NE(nul->body.find("'root_cause' holds a control character at byte 1"), std::string::npos)
      << nul->body;
  auto escape = post(resolve, R"({"root_cause":"rc","action_items":[{"text":"fix \u001b[2J",)"
                              R"("owner":"o","due":"2026-12-01"}]})");
  expectError(escape, 400, "invalid_argument");
  EXPECT_NE(escape->body.find("action item 1: 'text' holds a control character"), std::string::npos)
      << escape->body;
  expectError(post("/api/v1/incidents/inc-000001/workaround",
                   R"({"text":"restart\u0007","expires":"2026-12-01T00:00:00Z"})"),
              400, "invalid_argument");
  EXPECT_EQ(calls, 0) << "a refused body never reaches the engine";

  auto ok =
      post(resolve, R"({"root_cause":"disk full\n\tafter the upgrade","no_action_reason":"n"})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen.resolve.rootCause, "disk full\n\tafter the upgrade");
}

}  // namespace
}  // namespace keel::api::test
