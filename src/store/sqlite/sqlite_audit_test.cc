// The audit log in the SQLite store: entries are sealed by the writer in
// the transaction of the change they record, the chain head survives a
// reopen, and a batch that fails (in a mutation, or at COMMIT) leaves
// neither its entries nor a moved head behind.
#include <gtest/gtest.h>

#include "audit/verify.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/store_test_util.h"
#include "testing/temp_dir.h"

namespace keel::store {
namespace {

using testutil::makeRun;

audit::Entry entry(const std::string& action, const std::string& target,
                   const std::string& actor = "alice", int64_t offsetMs = 0) {
  audit::Entry e;
  e.at = testutil::at(offsetMs);
  e.actor = actor;
  e.action = action;
  e.target = target;
  e.reason = "because";
  e.requestId = "req-1";
  e.detailJson = R"({"run_id":")" + target + R"("})";
  return e;
}

std::vector<audit::Entry> all(Store& store) {
  auto rows = store.auditEntries(0, 1000);
  EXPECT_TRUE(rows.ok()) << rows.error().toString();
  return rows.ok() ? *rows : std::vector<audit::Entry>{};
}

TEST(SqliteAudit, EntriesAreSealedInTheBatchAndChained) {
  testing::TempDir dir;
  auto store = testutil::openOrDie(dir.file("keel.db"));
  auto empty = store->auditHead();
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, audit::Head{});

  ASSERT_TRUE(
      store->apply({{PutRun{makeRun("r1")}, AppendAudit{entry("run.trigger", "r1")}}}).ok());
  ASSERT_TRUE(store
                  ->apply({{AppendAudit{entry("run.cancel", "r1")},
                            AppendAudit{entry("token.create", "ops", "bob", 5)}}})
                  .ok());
  auto rows = all(*store);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].seq, 1);
  EXPECT_EQ(rows[2].seq, 3);
  EXPECT_EQ(rows[1].reason, "because");
  EXPECT_EQ(rows[1].requestId, "req-1");
  EXPECT_EQ(rows[2].actor, "bob");
  audit::VerifyReport report = audit::verify(rows);
  EXPECT_TRUE(report.intact()) << report.problem;
  auto head = store->auditHead();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, report.head);
  EXPECT_EQ(head->seq, 3);
}

TEST(SqliteAudit, TheHeadIsReadBackWhenTheFileIsOpenedAgain) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  {
    auto store = testutil::openOrDie(path);
    ASSERT_TRUE(store->apply({{AppendAudit{entry("run.cancel", "r1")}}}).ok());
    ASSERT_TRUE(store->apply({{AppendAudit{entry("run.retry", "r1")}}}).ok());
  }
  auto store = testutil::openOrDie(path);
  ASSERT_TRUE(store->apply({{AppendAudit{entry("run.skip", "r1")}}}).ok());
  auto rows = all(*store);
  ASSERT_EQ(rows.size(), 3u);
  audit::VerifyReport report = audit::verify(rows);
  EXPECT_TRUE(report.intact()) << report.problem;
  EXPECT_EQ(report.head.seq, 3);
}

TEST(SqliteAudit, AFailedMutationRollsBackTheEntryAndKeepsTheHead) {
  testing::TempDir dir;
  auto store = testutil::openOrDie(dir.file("keel.db"));
  RunRow first = makeRun("r1");
  first.idempotencyKey = "k";
  ASSERT_TRUE(store->apply({{PutRun{first}, AppendAudit{entry("run.trigger", "r1")}}}).ok());
  auto before = store->auditHead();
  ASSERT_TRUE(before.ok());

  RunRow twin = makeRun("r2");
  twin.idempotencyKey = "k";  // taken: the batch fails after its entry was sealed
  Status s = store->apply({{AppendAudit{entry("run.trigger", "r2")}, PutRun{twin}}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kAlreadyExists);
  auto after = store->auditHead();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, *before);

  ASSERT_TRUE(store->apply({{AppendAudit{entry("run.cancel", "r1")}}}).ok());
  auto rows = all(*store);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].action, "run.cancel");
  EXPECT_TRUE(audit::verify(rows).intact()) << audit::verify(rows).problem;
}

TEST(SqliteAudit, AFailedCommitRollsBackTheEntryAndKeepsTheHead) {
  testing::TempDir dir;
  auto store = testutil::openOrDie(dir.file("keel.db"));
  ASSERT_TRUE(store->apply({{AppendAudit{entry("run.cancel", "r1")}}}).ok());
  auto before = store->auditHead();
  ASSERT_TRUE(before.ok());
  // An event of a run that does not exist: the deferred foreign key fails
  // the COMMIT itself, after every mutation (the entry too) went through.
  Status s = store->apply({{AppendAudit{entry("run.cancel", "ghost")},
                            AppendEvent{testutil::makeEvent("ghost", "x")}}});
  ASSERT_FALSE(s.ok());
  auto after = store->auditHead();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, *before);
  ASSERT_TRUE(store->apply({{AppendAudit{entry("run.retry", "r1")}}}).ok());
  auto rows = all(*store);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(audit::verify(rows).intact()) << audit::verify(rows).problem;
}

TEST(SqliteAudit, ListsNewestFirstWithFilters) {
  testing::TempDir dir;
  auto store = testutil::openOrDie(dir.file("keel.db"));
  ASSERT_TRUE(store
                  ->apply({{AppendAudit{entry("run.cancel", "r1", "alice", 0)},
                            AppendAudit{entry("run.retry", "r1", "bob", 1000)},
                            AppendAudit{entry("run.cancel", "r2", "alice", 2000)},
                            AppendAudit{entry("token.create", "ops", "alice", 3000)}}})
                  .ok());
  AuditFilter f;
  auto everything = store->listAudit(f);
  ASSERT_TRUE(everything.ok()) << everything.error().toString();
  ASSERT_EQ(everything->size(), 4u);
  EXPECT_EQ(everything->front().seq, 4);

  f.actor = "alice";
  auto alice = store->listAudit(f);
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(alice->size(), 3u);

  f = {};
  f.target = "r1";
  auto r1 = store->listAudit(f);
  ASSERT_TRUE(r1.ok());
  ASSERT_EQ(r1->size(), 2u);
  EXPECT_EQ((*r1)[0].action, "run.retry");

  f = {};
  f.since = testutil::at(2000);
  auto recent = store->listAudit(f);
  ASSERT_TRUE(recent.ok());
  EXPECT_EQ(recent->size(), 2u);

  f = {};
  f.limit = 2;
  f.beforeSeq = 4;
  auto page = store->listAudit(f);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].seq, 3);
  EXPECT_EQ((*page)[1].seq, 2);

  f.limit = 0;
  EXPECT_FALSE(store->listAudit(f).ok());
}

}  // namespace
}  // namespace keel::store
