// Retention: deleteFinishedRuns() removes whole finished runs older than
// the cutoff, batch by batch, and nothing else.
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "audit/verify.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/store_test_util.h"
#include "testing/temp_dir.h"

namespace keel::store {
namespace {

using testutil::at;
using testutil::makeAttempt;
using testutil::makeEvent;
using testutil::makeRun;
using testutil::makeStep;

// A run with a step, an attempt, an event and logs; finished at
// `finishedMs` when given.
void addRun(Batch& batch, const std::string& id, RunState state,
            std::optional<int64_t> finishedMs) {
  RunRow run = makeRun(id, "wf", state);
  if (finishedMs) run.finishedAt = at(*finishedMs);
  batch.mutations.push_back(PutRun{run});
  batch.mutations.push_back(PutStep{makeStep(id, "a")});
  batch.mutations.push_back(PutAttempt{makeAttempt(id, "a", 1)});
  batch.mutations.push_back(AppendEvent{makeEvent(id, "run_created")});
  batch.mutations.push_back(PutLog{{id, "a", 1, "out", "", 3, 0}});
}

using testutil::rowsOf;

TEST(SqliteGcTest, DeletesOnlyFinishedRunsOlderThanTheCutoffWithEverythingTheyOwn) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  const int64_t cutoff = 100'000;
  std::vector<std::string> old, kept;
  {
    auto store = testutil::openOrDie(path);
    ASSERT_NE(store, nullptr);
    Batch batch;
    // Seven old finished runs, deleted two per transaction: four transactions.
    for (int i = 0; i < 7; ++i) {
      RunState state = i % 3 == 0   ? RunState::kSucceeded
                       : i % 3 == 1 ? RunState::kFailed
                                    : RunState::kCancelled;
      old.push_back(fmt::format("old{}", i));
      addRun(batch, old.back(), state, cutoff - 1000 * (i + 1));
    }
    addRun(batch, "recent", RunState::kSucceeded, cutoff);  // not before the cutoff
    addRun(batch, "running", RunState::kRunning, std::nullopt);
    addRun(batch, "waiting", RunState::kWaiting, std::nullopt);
    // An active run with a finished_at left over (a retried run) stays.
    addRun(batch, "retried", RunState::kPending, 0);
    kept = {"recent", "running", "waiting", "retried"};
    ASSERT_TRUE(store->apply(batch).ok());
  }

  std::vector<int64_t> seen;
  auto result = deleteFinishedRuns(path, at(cutoff), 2,
                                   [&](const GcResult& sofar) { seen.push_back(sofar.runs); });
  ASSERT_TRUE(result.ok()) << result.error().toString();
  EXPECT_EQ(result->runs, 7);
  EXPECT_EQ(result->transactions, 4);
  EXPECT_EQ(seen, (std::vector<int64_t>{2, 4, 6, 7}));

  for (const char* table : {"runs", "steps", "attempts", "events", "logs"}) {
    for (const auto& id : old) EXPECT_EQ(rowsOf(path, table, id), 0) << table << " " << id;
    for (const auto& id : kept) EXPECT_EQ(rowsOf(path, table, id), 1) << table << " " << id;
  }
  auto problems = checkSqliteDatabase(path);
  ASSERT_TRUE(problems.ok()) << problems.error().toString();
  EXPECT_EQ(*problems, std::vector<std::string>{});

  // Nothing left to delete: a second pass is a no-op.
  auto again = deleteFinishedRuns(path, at(cutoff), 2);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->runs, 0);
  EXPECT_EQ(again->transactions, 0);

  // The store still works, and kept runs read back whole.
  auto store = testutil::openOrDie(path);
  ASSERT_NE(store, nullptr);
  auto recent = store->getRun("recent");
  ASSERT_TRUE(recent.ok() && recent->has_value());
  EXPECT_EQ((*recent)->steps.size(), 1u);
  auto gone = store->getRun("old0");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST(SqliteGcTest, RefusesADatabaseInUseMissingOrABadBatchSize) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  auto missing = deleteFinishedRuns(path, at(0));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(path));

  auto store = testutil::openOrDie(path);
  ASSERT_NE(store, nullptr);
  auto held = deleteFinishedRuns(path, at(0));
  ASSERT_FALSE(held.ok());
  EXPECT_EQ(held.error().code(), ErrorCode::kFailedPrecondition) << held.error().toString();
  store.reset();

  auto zero = deleteFinishedRuns(path, at(0), 0);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().code(), ErrorCode::kInvalidArgument);
}

// keel gc with an audit maker: one entry per transaction that deleted runs,
// sealed after the entries already in the file, each naming its count; the
// chain verifies and a store opened afterwards continues it.
TEST(SqliteGcTest, EachDeletingTransactionAppendsItsAuditEntry) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  const int64_t cutoff = 100'000;
  {
    auto store = testutil::openOrDie(path);
    ASSERT_NE(store, nullptr);
    Batch batch;
    for (int i = 0; i < 3; ++i)
      addRun(batch, fmt::format("old{}", i), RunState::kSucceeded, cutoff - 1000 * (i + 1));
    addRun(batch, "recent", RunState::kSucceeded, cutoff);
    audit::Entry first;
    first.actor = "ops";
    first.action = "token.create";
    first.target = "ci";
    batch.mutations.push_back(AppendAudit{first});
    ASSERT_TRUE(store->apply(batch).ok());
  }
  std::vector<int64_t> counts;
  DeletionAudit make = [&](const std::vector<DeletedRuns>& what) {
    audit::Entry e;
    e.actor = "keel gc";
    e.action = "gc.delete";
    e.target = "finished runs";
    EXPECT_EQ(what.size(), 1u);
    EXPECT_EQ(what[0].workflow, "wf");
    EXPECT_EQ(what[0].cutoff, at(cutoff));
    counts.push_back(what[0].runs);
    e.detailJson = fmt::format("{{\"runs\":{}}}", what[0].runs);
    return e;
  };
  auto result = deleteFinishedRuns(path, at(cutoff), 2, {}, make);
  ASSERT_TRUE(result.ok()) << result.error().toString();
  EXPECT_EQ(result->runs, 3);
  EXPECT_EQ(counts, (std::vector<int64_t>{2, 1}));
  auto again = deleteFinishedRuns(path, at(cutoff), 2, {}, make);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(counts.size(), 2u) << "nothing deleted: no entry";

  auto store = testutil::openOrDie(path);
  ASSERT_NE(store, nullptr);
  auto log = store->auditEntries(0, 100);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 3u);
  EXPECT_EQ((*log)[1].action, "gc.delete");
  EXPECT_EQ((*log)[1].detailJson, "{\"runs\":2}");
  EXPECT_EQ((*log)[2].seq, 3);
  EXPECT_EQ((*log)[2].detailJson, "{\"runs\":1}");
  EXPECT_TRUE(audit::verify(*log).intact()) << audit::verify(*log).problem;
  // The store read the head gc left: its next entry continues the chain.
  Batch next;
  audit::Entry e;
  e.actor = "ops";
  e.action = "token.revoke";
  e.target = "ci";
  next.mutations.push_back(AppendAudit{e});
  ASSERT_TRUE(store->apply(next).ok());
  log = store->auditEntries(0, 100);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 4u);
  EXPECT_TRUE(audit::verify(*log).intact()) << audit::verify(*log).problem;
}

}  // namespace
}  // namespace keel::store
