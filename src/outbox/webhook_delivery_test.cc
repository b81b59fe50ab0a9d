// WebhookDelivery against a real SQLite store, a ScriptedHttpClient and a
// ManualClock: order, retry timing, Retry-After, dead after the budget,
// redelivery, and the request itself.
#include "outbox/webhook_delivery.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "store/sqlite/sqlite_store.h"
#include "testing/scripted_http_client.h"
#include "testing/temp_dir.h"

namespace keel::outbox {
namespace {

class WebhookDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::openSqliteStore(dir_.file("keel.db"));
    ASSERT_TRUE(s.ok()) << s.error().toString();
    store_ = std::move(*s);
    delivery_ = std::make_unique<WebhookDelivery>(*store_, client_, clock_, random_);
  }
  void emit(const std::string& id, const std::string& topic) {
    store::OutboxEventRow row;
    row.id = id;
    row.topic = topic;
    row.payloadJson = R"({"n":")" + id + R"("})";
    row.runId = "01JQ0000000000000000000001";
    row.source = "step a";
    row.emittedAt = clock_.wallNow();
    Status s = store_->apply({{store::PutOutboxEvent{row}}});
    ASSERT_TRUE(s.ok()) << s.error().toString();
  }
  void subscribe(const std::string& name, const std::string& topic, const std::string& extra) {
    store::SubscriptionRow row;
    row.name = name;
    row.topic = topic;
    row.url = "http://receiver.test/hook";
    row.yaml = "kind: subscription\nname: " + name + "\ntopic: " + topic +
               "\nurl: http://receiver.test/hook\nheaders: { X-Tenant: acme }\n" + extra;
    row.sha256 = row.yaml;
    row.createdAt = clock_.wallNow();
    auto put = store_->putSubscription(row);
    ASSERT_TRUE(put.ok()) << put.error().toString();
  }
  // One pass, then every answer the client has, then a pass to record them.
  void pass() {
    auto r = delivery_->step();
    ASSERT_TRUE(r.ok()) << r.error().toString();
    client_.deliver();
    auto again = delivery_->step();
    ASSERT_TRUE(again.ok()) << again.error().toString();
  }
  std::vector<std::string> sentIds() const {
    std::vector<std::string> ids;
    for (const auto& r : client_.requests())
      ids.push_back(*http::findHeader(r.headers, "Idempotency-Key"));
    return ids;
  }
  std::vector<store::WebhookDeliveryRow> in(const std::string& state) {
    auto rows = store_->listWebhookDeliveries(state, 100);
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? *rows : std::vector<store::WebhookDeliveryRow>{};
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  testing::ScriptedHttpClient client_;
  ManualClock clock_;
  SeededRandom random_{7};
  std::unique_ptr<WebhookDelivery> delivery_;
};

TEST_F(WebhookDeliveryTest, EventsAfterTheSubscriptionArePostedInOrderWithTheirHeaders) {
  emit("before", "orders.loaded");  // emitted before the subscription: not delivered
  subscribe("hook", "orders.loaded", "");
  emit("e1", "orders.loaded");
  emit("other", "orders.other");
  emit("e2", "orders.loaded");
  client_.scriptStatus(200);
  client_.scriptStatus(204);
  ASSERT_TRUE(delivery_->step().ok());
  ASSERT_TRUE(delivery_->step().ok());  // e2 waits while e1 is in flight
  EXPECT_EQ(sentIds(), std::vector<std::string>({"e1"}));
  pass();  // e1 recorded, then e2 sent
  EXPECT_EQ(sentIds(), std::vector<std::string>({"e1", "e2"}));
  pass();
  EXPECT_EQ(sentIds(), std::vector<std::string>({"e1", "e2"}));
  EXPECT_EQ(in("delivered").size(), 2u);
  EXPECT_TRUE(in("pending").empty());

  auto req = client_.requests().front();
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "http://receiver.test/hook");
  EXPECT_EQ(*http::findHeader(req.headers, "Content-Type"), "application/json");
  EXPECT_EQ(*http::findHeader(req.headers, "X-Tenant"), "acme");
  auto tp = *http::findHeader(req.headers, "traceparent");
  ASSERT_EQ(tp.size(), 55u) << tp;
  EXPECT_EQ(tp.substr(0, 3), "00-");
  auto body = nlohmann::json::parse(req.body);
  EXPECT_EQ(body["id"], "e1");
  EXPECT_EQ(body["topic"], "orders.loaded");
  EXPECT_EQ(body["payload"]["n"], "e1");
  EXPECT_EQ(body["run_id"], "01JQ0000000000000000000001");
  EXPECT_TRUE(body["emitted_at"].is_string());
  // The same run: the same trace id on every event it emitted.
  auto tp2 = *http::findHeader(client_.requests()[1].headers, "traceparent");
  EXPECT_EQ(tp.substr(3, 32), tp2.substr(3, 32));
}

TEST_F(WebhookDeliveryTest, TheTraceparentCarriesTheEmittingRunsStoredTrace) {
  store::RunRow run;
  run.id = "01JQ0000000000000000000001";
  run.workflow = "load";
  run.version = 1;
  run.state = RunState::kSucceeded;
  run.traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  run.createdAt = clock_.wallNow();
  ASSERT_TRUE(store_->apply({{store::PutRun{run}}}).ok());
  subscribe("hook", "orders.loaded", "");
  emit("e1", "orders.loaded");
  pass();
  ASSERT_EQ(client_.requests().size(), 1u);
  auto tp = *http::findHeader(client_.requests()[0].headers, "traceparent");
  EXPECT_EQ(tp.substr(0, 36), "00-4bf92f3577b34da6a3ce929d0e0e4736-") << tp;
  EXPECT_EQ(tp.size(), 55u);
}

TEST_F(WebhookDeliveryTest, AFailedAttemptIsRetriedAfterItsBackoffAndHoldsTheNextEvent) {
  subscribe("hook", "t.x",
            "retry: { max_attempts: 3, backoff: fixed, initial: 10s, max: 10s, jitter: none }\n");
  emit("e1", "t.x");
  emit("e2", "t.x");
  client_.scriptStatus(500);
  pass();
  EXPECT_EQ(sentIds(), std::vector<std::string>({"e1"}));
  auto pending = in("pending");
  ASSERT_EQ(pending.size(), 2u);
  clock_.advance(std::chrono::seconds(9));
  pass();  // not due yet, and e2 is not sent before e1
  EXPECT_EQ(sentIds().size(), 1u);
  clock_.advance(std::chrono::seconds(1));
  client_.scriptStatus(200);
  client_.scriptStatus(200);
  pass();
  pass();
  EXPECT_EQ(sentIds(), std::vector<std::string>({"e1", "e1", "e2"}));
  EXPECT_EQ(in("delivered").size(), 2u);
}

TEST_F(WebhookDeliveryTest, RetryAfterOn503IsHonoured) {
  subscribe("hook", "t.x",
            "retry: { max_attempts: 3, backoff: fixed, initial: 1s, max: 1s, jitter: none }\n");
  emit("e1", "t.x");
  client_.scriptStatus(503, "", {{"Retry-After", "120"}});
  pass();
  clock_.advance(std::chrono::seconds(119));
  pass();
  EXPECT_EQ(sentIds().size(), 1u);
  clock_.advance(std::chrono::seconds(1));
  client_.scriptStatus(200);
  pass();
  EXPECT_EQ(sentIds().size(), 2u);
  EXPECT_EQ(in("delivered").size(), 1u);
}

TEST_F(WebhookDeliveryTest, AfterTheBudgetTheDeliveryIsDeadAndTheNextGoesThenRedelivered) {
  subscribe("hook", "t.x",
            "retry: { max_attempts: 2, backoff: fixed, initial: 1s, max: 1s, jitter: none }\n");
  emit("e1", "t.x");
  emit("e2", "t.x");
  client_.scriptFailure(http::TransportFailureKind::kConnectionRefused, "refused");
  pass();
  clock_.advance(std::chrono::seconds(1));
  client_.scriptStatus(502);
  client_.scriptStatus(200);  // for e2, sent once e1 is dead
  pass();
  pass();
  auto dead = in("dead");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].eventId, "e1");
  EXPECT_EQ(dead[0].attempts, 2);
  EXPECT_EQ(dead[0].lastStatus, 502);
  EXPECT_EQ(dead[0].lastError, "HTTP status 502");
  EXPECT_EQ(sentIds(), std::vector<std::string>({"e1", "e1", "e2"}));

  auto none = store_->redeliverDead("nope", "", clock_.wallNow());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
  auto again = store_->redeliverDead("e1", "", clock_.wallNow());
  ASSERT_TRUE(again.ok()) << again.error().toString();
  EXPECT_EQ(*again, 1);
  client_.scriptStatus(200);
  pass();
  EXPECT_EQ(sentIds().back(), "e1");
  EXPECT_TRUE(in("dead").empty());
  EXPECT_EQ(in("delivered").size(), 2u);
}

TEST_F(WebhookDeliveryTest, AnAttemptWithoutARecordedAnswerIsMadeAgainByANewDelivery) {
  subscribe("hook", "t.x", "");
  emit("e1", "t.x");
  ASSERT_TRUE(delivery_->step().ok());  // sent; keel dies before the answer
  EXPECT_EQ(sentIds().size(), 1u);
  testing::ScriptedHttpClient client2;
  WebhookDelivery restarted(*store_, client2, clock_, random_);
  client2.scriptStatus(200);
  ASSERT_TRUE(restarted.step().ok());
  client2.deliver();
  ASSERT_TRUE(restarted.step().ok());
  ASSERT_EQ(client2.requests().size(), 1u);
  EXPECT_EQ(in("delivered").size(), 1u);
}

}  // namespace
}  // namespace keel::outbox
