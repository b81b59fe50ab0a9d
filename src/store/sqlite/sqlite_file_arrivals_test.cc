// File arrivals: a schema 6 database gains the table on open; rows are
// written in the batch of their run (a failed batch writes neither),
// read by key and by trigger, and pruned by path.
#include <gtest/gtest.h>

#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/store_test_util.h"
#include "testing/temp_dir.h"

namespace keel::store {
namespace {

using testutil::makeRun;

FileArrivalRow arrival(const std::string& key, const std::string& path, const std::string& run) {
  return {"load",   0, key, path, 5, 1'767'225'600'000'000'001, 42, run, WallTime(Millis(60'000)),
          "started"};
}

TEST(SqliteFileArrivals, ASchema6DatabaseGainsTheTable) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  {
    auto store = openSqliteStore(path);
    ASSERT_TRUE(store.ok()) << store.error().toString();
    ASSERT_TRUE((*store)->apply({{PutRun{makeRun("r1")}}}).ok());
  }
  testutil::sqliteExec(
      path,
      "DROP TABLE subscriptions; DROP TABLE webhook_deliveries; DROP TABLE "
      "outbox; DROP TABLE file_arrivals; ALTER TABLE events DROP COLUMN actor; "
      "ALTER TABLE events DROP COLUMN reason; "
      "DROP TABLE workflow_controls; ALTER TABLE runs DROP COLUMN pause_reason; "
      "ALTER TABLE runs DROP COLUMN compensation; DROP TABLE audit_log; ALTER TABLE workflows DROP "
      "COLUMN applied_by; DROP TABLE channels; DROP TABLE notifications; ALTER TABLE runs DROP "
      "COLUMN trace_id; ALTER TABLE runs DROP COLUMN request_id; DROP TABLE incidents; DROP TABLE "
      "incident_runs; DROP TABLE incident_timeline; DROP TABLE incident_action_items; ALTER TABLE "
      "runs DROP COLUMN parent_span_id; UPDATE keel_schema SET "
      "version = 6");
  auto store = openSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.error().toString();
  EXPECT_EQ(testutil::sqliteQueryInt(path, "SELECT version FROM keel_schema"), kSchemaVersion);
  auto none = (*store)->findFileArrival("load", "k");
  ASSERT_TRUE(none.ok()) << none.error().toString();
  EXPECT_FALSE(none->has_value());
  auto run = (*store)->getRun("r1");
  ASSERT_TRUE(run.ok() && run->has_value());
}

TEST(SqliteFileArrivals, WrittenWithTheRunReadAndPruned) {
  testing::TempDir dir;
  auto store = openSqliteStore(dir.file("keel.db"));
  ASSERT_TRUE(store.ok()) << store.error().toString();
  FileArrivalRow a = arrival("file:load:0:a", "/in/a b.csv", "r1");
  FileArrivalRow b = arrival("file:load:0:b", "/in/b.csv", "r2");
  ASSERT_TRUE((*store)->apply({{PutRun{makeRun("r1")}, PutFileArrival{a}}}).ok());
  // A batch that fails (the same run id twice is fine; a bad event is not)
  // leaves no arrival: reuse a run row to break the unique key index.
  auto dup = makeRun("r9");
  dup.idempotencyKey = "k";
  auto dup2 = makeRun("r8");
  dup2.idempotencyKey = "k";
  dup2.workflow = dup.workflow;
  EXPECT_FALSE((*store)->apply({{PutRun{dup}, PutFileArrival{b}, PutRun{dup2}}}).ok());
  EXPECT_FALSE((*store)->findFileArrival("load", b.key)->has_value());
  ASSERT_TRUE((*store)->apply({{PutRun{makeRun("r2")}, PutFileArrival{b}}}).ok());
  auto found = (*store)->findFileArrival("load", a.key);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ(**found, a);
  auto all = (*store)->listFileArrivals("load", 0);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].path, "/in/a b.csv");
  ASSERT_TRUE((*store)->apply({{PruneFileArrivals{"load", 0, {"/in/a b.csv", "/in/none"}}}}).ok());
  all = (*store)->listFileArrivals("load", 0);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0], b);
  EXPECT_TRUE((*store)->listFileArrivals("load", 1)->empty());
}

}  // namespace
}  // namespace keel::store
