// The audit routes (GET /api/v1/audit, GET /api/v1/audit/verify) and the
// entries the API's own writes (tokens, subscriptions' redelivery, apply,
// events) carry: the caller, the reason, never a secret.
#include "api/server_test_fixture.h"

namespace keel::api::test {
namespace {

audit::Entry entry(const std::string& actor, const std::string& action, const std::string& target,
                   int64_t offsetMs) {
  audit::Entry e;
  e.at = at(kT0 + offsetMs);
  e.actor = actor;
  e.action = action;
  e.target = target;
  e.reason = "r-" + target;
  e.detailJson = R"({"run_id":")" + target + R"("})";
  return e;
}

void fill(testing::FakeStore& store) {
  store::Batch b;
  b.mutations = {store::AppendAudit{entry("alice", "run.cancel", "R1", 0)},
                 store::AppendAudit{entry("bob", "run.retry", "R1", 1000)},
                 store::AppendAudit{entry("alice", "run.cancel", "R2", 2000)}};
  ASSERT_TRUE(store.apply(b).ok());
}

TEST_F(ServerTest, AuditListsEntriesNewestFirstWithFilters) {
  fill(store_);
  start();
  auto res = get("/api/v1/audit");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json list = body(res)["entries"];
  ASSERT_EQ(list.size(), 3u) << res->body;
  EXPECT_EQ(list[0]["seq"], 3);
  EXPECT_EQ(list[0]["actor"], "alice");
  EXPECT_EQ(list[0]["action"], "run.cancel");
  EXPECT_EQ(list[0]["target"], "R2");
  EXPECT_EQ(list[0]["reason"], "r-R2");
  EXPECT_EQ(list[0]["detail"], json({{"run_id", "R2"}}));
  EXPECT_EQ(list[0]["hash"].get<std::string>().size(), 64u);
  EXPECT_EQ(list[2]["prev_hash"], audit::kGenesisHash);
  EXPECT_TRUE(body(res)["next_cursor"].is_null());

  auto bob = get("/api/v1/audit?actor=bob");
  ASSERT_EQ(bob->status, 200);
  ASSERT_EQ(body(bob)["entries"].size(), 1u);
  EXPECT_EQ(body(bob)["entries"][0]["action"], "run.retry");

  auto page = get("/api/v1/audit?limit=2");
  ASSERT_EQ(body(page)["entries"].size(), 2u);
  EXPECT_EQ(body(page)["next_cursor"], "2");
  auto rest = get("/api/v1/audit?limit=2&cursor=2");
  ASSERT_EQ(body(rest)["entries"].size(), 1u);
  EXPECT_EQ(body(rest)["entries"][0]["seq"], 1);

  auto r1 = get("/api/v1/audit?target=R1");
  EXPECT_EQ(body(r1)["entries"].size(), 2u);
  EXPECT_EQ(get("/api/v1/audit?limit=0")->status, 400);
  EXPECT_EQ(get("/api/v1/audit?since=yesterday")->status, 400);
  EXPECT_EQ(get("/api/v1/audit?color=red")->status, 400);
}

TEST_F(ServerTest, AuditVerifySaysIntactOrWhereTheChainBreaks) {
  fill(store_);
  start();
  auto res = get("/api/v1/audit/verify");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(body(res)["intact"], true);
  EXPECT_EQ(body(res)["entries"], 3);
  EXPECT_EQ(body(res)["head"]["seq"], 3);
  EXPECT_EQ(body(res)["head"]["hash"], store_.audit.back().hash);

  store_.audit[1].reason = "nothing happened";
  res = get("/api/v1/audit/verify");
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(body(res)["intact"], false);
  EXPECT_EQ(body(res)["breach"], "edited");
  EXPECT_EQ(body(res)["seq"], 2);
  EXPECT_NE(body(res)["problem"].get<std::string>().find("entry 2 was edited"), std::string::npos);
}

TEST_F(ServerTest, TokenChangesAreAuditedWithTheirReasonAndNoSecret) {
  start();
  auto created = post("/api/v1/tokens", R"({"name":"ci","reason":"new pipeline"})");
  ASSERT_EQ(created->status, 201) << created->body;
  std::string secret = body(created)["token"];
  auto revoked = post("/api/v1/tokens/ci/revoke", R"({"reason":"pipeline gone"})");
  ASSERT_EQ(revoked->status, 200) << revoked->body;
  ASSERT_EQ(store_.audit.size(), 2u);
  EXPECT_EQ(store_.audit[0].action, "token.create");
  EXPECT_EQ(store_.audit[0].actor, "tester");
  EXPECT_EQ(store_.audit[0].target, "ci");
  EXPECT_EQ(store_.audit[0].reason, "new pipeline");
  EXPECT_EQ(store_.audit[1].action, "token.revoke");
  EXPECT_EQ(store_.audit[1].reason, "pipeline gone");
  for (const auto& e : store_.audit) {
    EXPECT_EQ(audit::canonical(e).find(secret), std::string::npos);
    EXPECT_EQ(audit::canonical(e).find(auth::tokenHash(secret)), std::string::npos);
  }
  EXPECT_EQ(post("/api/v1/tokens/ci/revoke", R"({"why":"x"})")->status, 400);
}

TEST_F(ServerTest, RedeliveryIsAuditedWithItsReason) {
  store::WebhookDeliveryRow dead;
  dead.subscription = "s";
  dead.eventSeq = 1;
  dead.eventId = "e1";
  dead.topic = "t";
  dead.state = "dead";
  store_.deliveries = {dead};
  start();
  auto res = post("/api/v1/events/dead/redeliver", R"({"id":"e1","reason":"receiver fixed"})");
  ASSERT_EQ(res->status, 200) << res->body;
  ASSERT_EQ(store_.audit.size(), 1u);
  EXPECT_EQ(store_.audit[0].action, "webhook.redeliver");
  EXPECT_EQ(store_.audit[0].target, "event e1");
  EXPECT_EQ(store_.audit[0].reason, "receiver fixed");
}

TEST_F(ServerTest, ApplyAndEventsPassTheCallerAndReasonToTheEngine) {
  start();
  auto applied = client().Post("/api/v1/workflows?reason=hotfix%20for%20INC-7", "name: x\n",
                               "application/yaml");
  ASSERT_TRUE(applied);
  ASSERT_EQ(applied->status, 201) << applied->body;
  ASSERT_FALSE(control_.callers().empty());
  EXPECT_EQ(control_.callers().back().reason, "hotfix for INC-7");
  EXPECT_EQ(control_.callers().back().actor(), "tester");

  auto sent = post("/api/v1/events/orders", R"({"id":"o1","reason":"replay"})");
  ASSERT_TRUE(sent);
  ASSERT_FALSE(control_.emits().empty()) << sent->body;
  EXPECT_EQ(control_.emits().back().who.reason, "replay");
  EXPECT_EQ(control_.emits().back().who.actor(), "tester");
}

}  // namespace
}  // namespace keel::api::test
