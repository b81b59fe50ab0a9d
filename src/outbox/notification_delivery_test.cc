// NotificationDelivery against a real SQLite store, a ScriptedHttpClient and
// a ManualClock: what a webhook and Alertmanager receive (firing, then
// resolved), backoff, Retry-After, dead after the budget, redelivery, and
// a channel that is not applied.
#include "outbox/notification_delivery.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "store/sqlite/sqlite_store.h"
#include "testing/scripted_http_client.h"
#include "testing/temp_dir.h"

namespace keel::outbox {
namespace {

using nlohmann::json;

const char* kIncident = R"({"id":"inc-7","title":"planning-feed: retrieve-files failed",
  "severity":"SEV2","owner":{"team":"data-platform","contact":"oncall-data@example.com"},
  "workflow":"planning-feed","step":"retrieve-files",
  "runbook":"https://wiki.example.com/runbooks/planning-feed",
  "opened_at":"2026-01-01T00:00:00.000Z","labels":{"env":"prod","alertname":"Other"}})";

class RecordingMail final : public MailSender {
 public:
  MailResult send(const MailRequest& request) override {
    sent.push_back(request);
    return {true, 250, ""};
  }
  std::vector<MailRequest> sent;
};

class NotificationDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::openSqliteStore(dir_.file("keel.db"));
    ASSERT_TRUE(s.ok()) << s.error().toString();
    store_ = std::move(*s);
    delivery_ = std::make_unique<NotificationDelivery>(*store_, client_, mail_, clock_, random_);
  }
  void channel(const std::string& yaml) {
    auto spec = spec::parseChannel(yaml);
    ASSERT_TRUE(spec.ok()) << spec.error().toString();
    store::ChannelRow row;
    row.name = spec->name;
    row.type = std::string(spec::toString(spec->type));
    row.yaml = yaml;
    row.createdAt = clock_.wallNow();
    auto put = store_->putChannel(row);
    ASSERT_TRUE(put.ok()) << put.error().toString();
  }
  void notify(const std::string& id, const std::string& channelName, const std::string& kind) {
    store::NotificationRow n;
    n.id = id;
    n.channel = channelName;
    n.kind = kind;
    n.payloadJson = json::parse(kIncident).dump();
    n.nextAt = clock_.wallNow();
    n.createdAt = clock_.wallNow();
    n.updatedAt = clock_.wallNow();
    Status s = store_->apply({{store::PutNotification{n}}});
    ASSERT_TRUE(s.ok()) << s.error().toString();
  }
  // One pass, then every answer the client has, then a pass to record them.
  std::optional<WallTime> pass() {
    auto r = delivery_->step();
    EXPECT_TRUE(r.ok()) << r.error().toString();
    client_.deliver();
    auto again = delivery_->step();
    EXPECT_TRUE(again.ok()) << again.error().toString();
    return again.ok() ? *again : std::nullopt;
  }
  store::NotificationRow row(const std::string& id) {
    auto r = store_->findNotification(id);
    EXPECT_TRUE(r.ok() && r->has_value());
    return r.ok() && r->has_value() ? **r : store::NotificationRow{};
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  testing::ScriptedHttpClient client_;
  RecordingMail mail_;
  ManualClock clock_;
  SeededRandom random_{7};
  std::unique_ptr<NotificationDelivery> delivery_;
};

const char* kWebhook =
    "kind: channel\nname: hook\ntype: webhook\nteams: [data-platform]\n"
    "url: http://receiver.test/hook\nheaders: { Authorization: Bearer s3cret }\n"
    "retry: { max_attempts: 3, backoff: exponential, initial: 1s, max: 1m, jitter: none }\n";

TEST_F(NotificationDeliveryTest, AWebhookGetsTheEventAndTheWholeIncidentOnce) {
  channel(kWebhook);
  notify("inc-7.level.1", "hook", "escalated");
  client_.scriptStatus(204);
  pass();
  auto requests = client_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& req = requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "http://receiver.test/hook");
  EXPECT_EQ(*http::findHeader(req.headers, "Idempotency-Key"), "inc-7.level.1");
  EXPECT_EQ(*http::findHeader(req.headers, "Content-Type"), "application/json");
  EXPECT_EQ(*http::findHeader(req.headers, "Authorization"), "Bearer s3cret");
  json body = json::parse(req.body);
  EXPECT_EQ(body["event"], "escalated");
  EXPECT_EQ(body["notification_id"], "inc-7.level.1");
  EXPECT_EQ(body["incident"], json::parse(kIncident));
  EXPECT_EQ(row("inc-7.level.1").state, "delivered");
  EXPECT_EQ(row("inc-7.level.1").attempts, 1);
  // The same notification written again (a repeated escalation) sends nothing.
  notify("inc-7.level.1", "hook", "escalated");
  pass();
  EXPECT_EQ(client_.requests().size(), 1u);
}

TEST_F(NotificationDeliveryTest, AlertmanagerGetsAFiringAlertThenTheSameLabelsResolved) {
  channel(
      "kind: channel\nname: am\ntype: alertmanager\ndefault: true\n"
      "url: http://am.test:9093/\n");
  notify("inc-7.level.1", "am", "escalated");
  client_.scriptStatus(200);
  pass();
  clock_.advance(std::chrono::minutes(10));
  notify("inc-7.resolved", "am", "resolved");
  client_.scriptStatus(200);
  pass();
  auto requests = client_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].url, "http://am.test:9093/api/v2/alerts");
  json firing = json::parse(requests[0].body);
  json resolved = json::parse(requests[1].body);
  ASSERT_TRUE(firing.is_array());
  ASSERT_EQ(firing.size(), 1u);
  json labels = firing[0]["labels"];
  EXPECT_EQ(labels["alertname"], "KeelIncident");  // the payload's own cannot replace it
  EXPECT_EQ(labels["incident"], "inc-7");
  EXPECT_EQ(labels["workflow"], "planning-feed");
  EXPECT_EQ(labels["severity"], "SEV2");
  EXPECT_EQ(labels["team"], "data-platform");
  EXPECT_EQ(labels["env"], "prod");
  EXPECT_EQ(firing[0]["annotations"]["runbook_url"],
            "https://wiki.example.com/runbooks/planning-feed");
  EXPECT_EQ(firing[0]["annotations"]["summary"], "planning-feed: retrieve-files failed");
  EXPECT_EQ(firing[0]["startsAt"], "2026-01-01T00:00:00.000Z");
  EXPECT_GT(firing[0]["endsAt"].get<std::string>(), formatRfc3339(clock_.wallNow()));
  EXPECT_EQ(resolved[0]["labels"], labels);  // the same alert
  EXPECT_EQ(resolved[0]["endsAt"], formatRfc3339(clock_.wallNow()));
  EXPECT_EQ(row("inc-7.resolved").state, "delivered");
}

TEST_F(NotificationDeliveryTest, FailuresBackOffHonourRetryAfterAndEndDead) {
  channel(kWebhook);
  notify("n1", "hook", "escalated");
  client_.scriptStatus(500);
  auto next = pass();
  EXPECT_EQ(row("n1").state, "pending");
  EXPECT_EQ(row("n1").lastError, "HTTP status 500");
  EXPECT_EQ(row("n1").lastStatus, 500);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, clock_.wallNow() + std::chrono::seconds(1));  // 1s, no jitter
  // Not due yet: nothing is sent.
  ASSERT_TRUE(delivery_->step().ok());
  EXPECT_EQ(client_.requests().size(), 1u);
  clock_.advance(std::chrono::seconds(1));
  client_.scriptStatus(503, "", {{"Retry-After", "120"}});
  next = pass();
  EXPECT_EQ(client_.requests().size(), 2u);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, clock_.wallNow() + std::chrono::seconds(120));  // Retry-After beats 2s
  clock_.advance(std::chrono::seconds(119));
  ASSERT_TRUE(delivery_->step().ok());
  EXPECT_EQ(client_.requests().size(), 2u);
  clock_.advance(std::chrono::seconds(1));
  client_.scriptFailure(http::TransportFailureKind::kConnectionRefused, "refused");
  next = pass();
  EXPECT_EQ(client_.requests().size(), 3u);
  EXPECT_FALSE(next.has_value());
  auto dead = row("n1");
  EXPECT_EQ(dead.state, "dead");
  EXPECT_EQ(dead.attempts, 3);
  EXPECT_EQ(dead.lastError, "connection_refused: refused");
  // Redelivered: a new budget, sent at once.
  ASSERT_EQ(*store_->redeliverDeadNotifications("n1", clock_.wallNow()), 1);
  client_.scriptStatus(200);
  pass();
  EXPECT_EQ(client_.requests().size(), 4u);
  EXPECT_EQ(row("n1").state, "delivered");
  EXPECT_EQ(row("n1").attempts, 1);
}

TEST_F(NotificationDeliveryTest, AResolutionWaitsForTheEscalationStillBeingRetried) {
  channel(
      "kind: channel\nname: am\ntype: alertmanager\ndefault: true\n"
      "url: http://am.test:9093\n"
      "retry: { max_attempts: 5, backoff: fixed, initial: 10s, max: 10s, jitter: none }\n");
  notify("inc-7.level.1", "am", "escalated");
  client_.scriptStatus(500);
  pass();
  notify("inc-7.resolved", "am", "resolved");
  pass();
  ASSERT_EQ(client_.requests().size(), 1u);  // the resolution did not overtake it
  EXPECT_EQ(row("inc-7.resolved").attempts, 0);
  EXPECT_NE(row("inc-7.resolved").lastError.find("waits for escalation 'inc-7.level.1'"),
            std::string::npos);
  clock_.advance(std::chrono::seconds(10));
  client_.scriptStatus(200);
  client_.scriptStatus(200);
  pass();
  EXPECT_EQ(row("inc-7.level.1").state, "delivered");
  clock_.advance(std::chrono::seconds(1));
  pass();
  auto requests = client_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(json::parse(requests[1].body)[0]["endsAt"].get<std::string>() >
                formatRfc3339(clock_.wallNow()),
            true);  // firing
  EXPECT_EQ(json::parse(requests[2].body)[0]["endsAt"], formatRfc3339(clock_.wallNow()));
  EXPECT_EQ(row("inc-7.resolved").state, "delivered");
}

TEST_F(NotificationDeliveryTest, ANotificationToAChannelNotAppliedWaitsForIt) {
  notify("n1", "later", "escalated");
  pass();
  EXPECT_EQ(client_.requests().size(), 0u);
  EXPECT_EQ(row("n1").lastError, "no channel named 'later' is applied");
  EXPECT_EQ(row("n1").state, "pending");
  channel("kind: channel\nname: later\ntype: webhook\ndefault: true\nurl: http://r.test/x\n");
  clock_.advance(std::chrono::minutes(1));
  client_.scriptStatus(200);
  pass();
  EXPECT_EQ(client_.requests().size(), 1u);
  EXPECT_EQ(row("n1").state, "delivered");
}

TEST_F(NotificationDeliveryTest, EmailGoesThroughTheMailSenderWithThePasswordFromTheEnvironment) {
  NotificationDeliveryOptions options;
  options.getenv = [](const std::string& name) -> std::optional<std::string> {
    if (name == "KEEL_TEST_SMTP_PASSWORD") return std::string("pw");
    return std::nullopt;
  };
  delivery_ =
      std::make_unique<NotificationDelivery>(*store_, client_, mail_, clock_, random_, options);
  channel(
      "kind: channel\nname: mail\ntype: email\nteams: [data-platform]\n"
      "smtp_url: smtp://mail.test:25\nfrom: keel@example.com\nto: [oncall@example.com]\n"
      "username: keel\npassword_env: KEEL_TEST_SMTP_PASSWORD\n");
  channel(
      "kind: channel\nname: nopw\ntype: email\nteams: [x]\n"
      "smtp_url: smtp://mail.test:25\nfrom: keel@example.com\nto: [oncall@example.com]\n"
      "username: keel\npassword_env: KEEL_TEST_UNSET\n");
  notify("n1", "mail", "escalated");
  notify("n2", "nopw", "escalated");
  pass();
  ASSERT_EQ(mail_.sent.size(), 1u);
  EXPECT_EQ(mail_.sent[0].password, "pw");
  EXPECT_EQ(mail_.sent[0].username, "keel");
  EXPECT_EQ(mail_.sent[0].to, std::vector<std::string>{"oncall@example.com"});
  EXPECT_NE(mail_.sent[0].message.find("Subject: [keel] SEV2 escalated: planning-feed"),
            std::string::npos);
  EXPECT_EQ(row("n1").state, "delivered");
  EXPECT_EQ(row("n2").state, "pending");
  EXPECT_NE(row("n2").lastError.find("KEEL_TEST_UNSET (password_env) is not set"),
            std::string::npos);
}

}  // namespace
}  // namespace keel::outbox
