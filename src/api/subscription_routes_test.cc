// GET /api/v1/subscriptions, GET /api/v1/events/dead and
// POST /api/v1/events/dead/redeliver over canned store rows.
#include <atomic>

#include "api/server_test_fixture.h"

namespace keel::api::test {
namespace {

class SubscriptionRoutesTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    store_.subscriptions = {
        {"to-billing", 2, "orders.done", "https://billing.example.com/hook", "", "", at(kT0), 0},
        {"to-crm", 1, "orders.new", "http://keel:s3cr%40t@crm.example.com/in?a=b@c", "", "",
         at(kT0 + 1000), 0}};
    auto row = [](std::string sub, std::string id, std::string topic, std::string state, int status,
                  std::string error) {
      store::WebhookDeliveryRow d;
      d.subscription = std::move(sub);
      d.eventId = std::move(id);
      d.topic = std::move(topic);
      d.state = std::move(state);
      d.attempts = 3;
      d.lastStatus = status;
      d.lastError = std::move(error);
      d.updatedAt = at(kT0 + 5000);
      return d;
    };
    store_.deliveries = {row("to-billing", "ev-2", "orders.done", "dead", 503, ""),
                         row("to-crm", "ev-1", "orders.new", "dead", 0, "connection refused"),
                         row("to-crm", "ev-0", "orders.new", "delivered", 200, "")};
    ServerOptions options;
    options.onWebhooksChanged = [this] { ++woken_; };
    options.clock = &clock_;  // stopped: two applies happen at the same instant
    start(std::move(options));
  }

  std::string stateOf(const std::string& eventId) const {
    for (const auto& d : store_.deliveries)
      if (d.eventId == eventId) return d.state;
    return "";
  }

  std::atomic<int> woken_{0};
  ManualClock clock_;
};

TEST_F(SubscriptionRoutesTest, ListsTheSubscriptions) {
  auto res = get("/api/v1/subscriptions");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(body(res), json::parse(R"({"subscriptions":[
      {"name":"to-billing","version":2,"topic":"orders.done",
       "url":"https://billing.example.com/hook","created_at":"2026-01-01T00:00:00.000Z"},
      {"name":"to-crm","version":1,"topic":"orders.new","url":"http://***@crm.example.com/in?a=b@c",
       "created_at":"2026-01-01T00:00:01.000Z"}]})"))
      << "a password in a URL is not listed";
}

TEST_F(SubscriptionRoutesTest, ListsOnlyTheDeadDeliveries) {
  auto res = get("/api/v1/events/dead");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json dead = body(res)["dead"];
  ASSERT_EQ(dead.size(), 2u) << res->body;
  EXPECT_EQ(dead[0], json::parse(R"({"subscription":"to-billing","event_id":"ev-2",
      "topic":"orders.done","attempts":3,"last_status":503,"last_error":"",
      "dead_at":"2026-01-01T00:00:05.000Z"})"));
  EXPECT_EQ(dead[1]["event_id"], "ev-1");
  EXPECT_EQ(dead[1]["last_status"], 0);
  EXPECT_EQ(dead[1]["last_error"], "connection refused");
}

TEST_F(SubscriptionRoutesTest, RedeliversOneEventAndWakesTheDelivery) {
  auto res = post("/api/v1/events/dead/redeliver", R"({"id":"ev-1"})");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(body(res), json({{"redelivered", 1}}));
  EXPECT_EQ(stateOf("ev-1"), "pending");
  EXPECT_EQ(stateOf("ev-2"), "dead");
  EXPECT_EQ(woken_.load(), 1);
  // Now pending, it is no longer dead: a second call finds nothing.
  expectError(post("/api/v1/events/dead/redeliver", R"({"id":"ev-1"})"), 404, "not_found");
}

TEST_F(SubscriptionRoutesTest, RedeliversATopic) {
  auto res = post("/api/v1/events/dead/redeliver", R"({"topic":"orders.done"})");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(body(res), json({{"redelivered", 1}}));
  EXPECT_EQ(stateOf("ev-2"), "pending");
  EXPECT_EQ(stateOf("ev-1"), "dead");
}

TEST_F(SubscriptionRoutesTest, UnknownEventOrTopicIs404) {
  auto res = post("/api/v1/events/dead/redeliver", R"({"id":"no-such"})");
  expectError(res, 404, "not_found");
  EXPECT_NE(res->body.find("no-such"), std::string::npos) << res->body;
  // A delivered event is not dead.
  expectError(post("/api/v1/events/dead/redeliver", R"({"id":"ev-0"})"), 404, "not_found");
  expectError(post("/api/v1/events/dead/redeliver", R"({"topic":"nothing.here"})"), 404,
              "not_found");
  EXPECT_EQ(woken_.load(), 0);
}

TEST_F(SubscriptionRoutesTest, BadBodiesAre400AndChangeNothing) {
  for (const char* text :
       {R"({})", R"({"id":"ev-1","topic":"orders.new"})", R"({"id":""})", R"({"topic":""})",
        R"({"id":7})", R"({"topic":["a"]})", R"([])", R"({"id":)", ""}) {
    SCOPED_TRACE(text);
    expectError(post("/api/v1/events/dead/redeliver", text), 400, "invalid_argument");
  }
  EXPECT_EQ(stateOf("ev-1"), "dead");
  EXPECT_EQ(stateOf("ev-2"), "dead");
  EXPECT_EQ(woken_.load(), 0);
}

TEST_F(SubscriptionRoutesTest, ABodyThatIsNotJsonIs415) {
  auto res = client().Post("/api/v1/events/dead/redeliver", R"({"id":"ev-1"})", "text/plain");
  expectError(res, 415, "unsupported_media_type");
  EXPECT_EQ(stateOf("ev-1"), "dead");
}

TEST_F(SubscriptionRoutesTest, AStoreWithoutSubscriptionsAnswersAnError) {
  store_.readError = Error(ErrorCode::kUnavailable, "disk gone");
  auto res = get("/api/v1/subscriptions");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503) << res->body;
}

// Applying a subscription answers 201 for a new version and 200 for the
// same document again, even when both happen at the same instant (the
// clock is stopped here).
TEST_F(SubscriptionRoutesTest, ApplyingTheSameDocumentAgainChangesNothing) {
  const std::string doc =
      "kind: subscription\nname: to-erp\ntopic: orders.done\nurl: https://erp.example.com/in\n";
  auto first = client().Post("/api/v1/workflows", doc, "application/yaml");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 201) << first->body;
  EXPECT_EQ(body(first)["version"], 1);
  EXPECT_EQ(body(first)["changed"], true);
  auto again = client().Post("/api/v1/workflows", doc, "application/yaml");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;
  EXPECT_EQ(body(again)["version"], 1);
  EXPECT_EQ(body(again)["changed"], false);
  auto changed = client().Post("/api/v1/workflows", doc + "timeout: 5s\n", "application/yaml");
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->status, 201) << changed->body;
  EXPECT_EQ(body(changed)["version"], 2);
}

}  // namespace
}  // namespace keel::api::test
