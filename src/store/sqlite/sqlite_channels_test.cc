// Channels and notifications in SQLite: versions, dedup by id, a
// notification written in the same transaction as the change that causes
// it (or not at all), due order, dead and redelivery.
#include <gtest/gtest.h>

#include "audit/record.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/store_test_util.h"
#include "testing/temp_dir.h"

namespace keel::store {
namespace {

const WallTime kT0 = WallTime(std::chrono::seconds(1'767'225'600));

NotificationRow note(const std::string& id, WallTime at = kT0) {
  NotificationRow n;
  n.id = id;
  n.channel = "oncall";
  n.kind = "escalated";
  n.payloadJson = R"({"id":"inc1"})";
  n.nextAt = at;
  n.createdAt = at;
  n.updatedAt = at;
  return n;
}

class SqliteChannelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = openSqliteStore(dir_.file("keel.db"));
    ASSERT_TRUE(s.ok()) << s.error().toString();
    store_ = std::move(*s);
  }
  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteChannelsTest, AChannelAppliedAgainUnchangedMakesNoNewVersion) {
  ChannelRow c;
  c.name = "oncall";
  c.type = "webhook";
  c.teams = "data,ops";
  c.yaml = "kind: channel\nname: oncall\n";
  c.createdAt = kT0;
  auto v1 = store_->putChannel(c);
  ASSERT_TRUE(v1.ok()) << v1.error().toString();
  EXPECT_EQ(v1->version, 1);
  EXPECT_EQ(store_->putChannel(c)->version, 1);
  c.yaml += "# changed\n";
  c.isDefault = true;
  EXPECT_EQ(store_->putChannel(c)->version, 2);
  auto all = store_->listChannels();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].version, 2);
  EXPECT_TRUE((*all)[0].isDefault);
  EXPECT_EQ((*all)[0].teams, "data,ops");
}

TEST_F(SqliteChannelsTest, ASecondNotificationWithTheSameIdIsANoOp) {
  ASSERT_TRUE(store_->apply({{PutNotification{note("inc1.level.1")}}}).ok());
  NotificationRow again = note("inc1.level.1");
  again.payloadJson = R"({"id":"changed"})";
  again.channel = "other";
  ASSERT_TRUE(store_->apply({{PutNotification{again}}}).ok());
  auto all = store_->listNotifications("", 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].payloadJson, R"({"id":"inc1"})");
  EXPECT_EQ((*all)[0].channel, "oncall");
}

TEST_F(SqliteChannelsTest, ANotificationIsWrittenInTheTransactionOfWhatCausedIt) {
  // A batch that fails (a run whose idempotency key is taken) writes no
  // notification; the batch that succeeds writes both.
  RunRow first = testutil::makeRun("r1");
  first.idempotencyKey = "k";
  ASSERT_TRUE(store_->apply({{PutRun{first}}}).ok());
  RunRow clash = testutil::makeRun("r2");
  clash.idempotencyKey = "k";
  Status failed = store_->apply({{PutNotification{note("inc1.level.1")}, PutRun{clash}}});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(*store_->countNotifications("pending"), 0);
  Status ok =
      store_->apply({{PutRun{testutil::makeRun("r3")}, PutNotification{note("inc1.level.1")}}});
  ASSERT_TRUE(ok.ok()) << ok.error().toString();
  EXPECT_EQ(*store_->countNotifications("pending"), 1);
  EXPECT_TRUE(store_->getRun("r3")->has_value());
}

TEST_F(SqliteChannelsTest, DueNotificationsComeByTimeAndDeadOnesAreRedelivered) {
  ASSERT_TRUE(store_
                  ->apply({{PutNotification{note("b", kT0 + std::chrono::seconds(5))},
                            PutNotification{note("a", kT0)},
                            PutNotification{note("c", kT0 + std::chrono::seconds(60))}}})
                  .ok());
  auto due = store_->dueNotifications(kT0 + std::chrono::seconds(5), 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].id, "a");
  EXPECT_EQ((*due)[1].id, "b");
  EXPECT_EQ(**store_->nextNotificationAt(), kT0);
  NotificationRow dead = (*due)[0];
  dead.state = "dead";
  dead.attempts = 8;
  dead.lastError = "HTTP status 500";
  dead.lastStatus = 500;
  ASSERT_TRUE(store_->apply({{UpdateNotification{dead}}}).ok());
  auto deadRows = store_->listNotifications("dead", 10);
  ASSERT_EQ(deadRows->size(), 1u);
  EXPECT_EQ((*deadRows)[0].lastError, "HTTP status 500");
  EXPECT_EQ((*deadRows)[0].attempts, 8);
  auto n = store_->redeliverDeadNotifications("a", kT0 + std::chrono::seconds(100));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  auto back = store_->findNotification("a");
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->state, "pending");
  EXPECT_EQ((*back)->attempts, 0);
  EXPECT_EQ(*store_->redeliverDeadNotifications("", kT0), 0);
}

TEST_F(SqliteChannelsTest, ANewChannelVersionAndARedeliveryAreAuditedOnlyWhenTheyChangeSomething) {
  RequestContext who{.token = "ops", .reason = "new pager", .requestId = "req-9"};
  ChannelRow c;
  c.name = "oncall";
  c.type = "webhook";
  c.yaml = "kind: channel\nname: oncall\n";
  c.createdAt = kT0;
  audit::Entry applied = audit::record(who, "channel.apply", "oncall", kT0);
  ASSERT_TRUE(store_->putChannel(c, &applied).ok());
  ASSERT_TRUE(store_->putChannel(c, &applied).ok());  // unchanged: no entry
  audit::Entry redeliver = audit::record(who, "notification.redeliver", "all dead", kT0);
  EXPECT_EQ(*store_->redeliverDeadNotifications("", kT0, &redeliver), 0);  // none dead
  ASSERT_TRUE(store_->apply({{PutNotification{note("a")}}}).ok());
  NotificationRow dead = note("a");
  dead.state = "dead";
  ASSERT_TRUE(store_->apply({{UpdateNotification{dead}}}).ok());
  EXPECT_EQ(*store_->redeliverDeadNotifications("a", kT0, &redeliver), 1);
  auto log = store_->auditEntries(0, 100);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ((*log)[0].action, "channel.apply");
  EXPECT_EQ((*log)[0].actor, "ops");
  EXPECT_EQ((*log)[0].reason, "new pager");
  EXPECT_EQ((*log)[0].requestId, "req-9");
  EXPECT_EQ((*log)[1].action, "notification.redeliver");
}

}  // namespace
}  // namespace keel::store
