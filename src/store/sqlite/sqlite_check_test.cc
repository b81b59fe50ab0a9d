// Opening stays cheap on a large database (one counter row, a few pages per
// table) and the full check moved to checkSqliteDatabase (`keel check`).
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/store_test_util.h"
#include "testing/temp_dir.h"

namespace keel::store {
namespace {

using testing::readFile;
using testing::writeFile;
using testutil::contains;
using testutil::makeRun;
using testutil::makeStep;

// `runs` runs of two steps each, with outputs large enough that the steps
// table spans many pages.
void fill(const std::string& path, int runs) {
  auto store = testutil::openOrDie(path);
  ASSERT_NE(store, nullptr);
  Batch batch;
  for (int i = 0; i < runs; ++i) {
    std::string id = fmt::format("r{:05}", i);
    batch.mutations.push_back(PutRun{makeRun(id)});
    for (const char* name : {"fetch", "load"}) {
      StepRow step = makeStep(id, name, StepState::kSucceeded);
      step.outputJson = fmt::format(R"({{"note":"{}"}})", std::string(200, 'x'));
      batch.mutations.push_back(PutStep{step});
    }
  }
  ASSERT_TRUE(store->apply(batch).ok());
}

std::vector<std::string> checkOk(const std::string& path) {
  auto problems = checkSqliteDatabase(path);
  EXPECT_TRUE(problems.ok()) << problems.error().toString();
  return problems.ok() ? *problems : std::vector<std::string>{"<error>"};
}

TEST(SqliteCheckTest, TheStepCounterIsKeptInTheFileAndReadAtOpen) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  fill(path, 3);  // steps at positions 1..6
  EXPECT_EQ(
      testutil::sqliteQueryInt(path, "SELECT value FROM keel_counters WHERE name = 'step_pos'"), 6);
  // Open takes the counter as it is (no MAX(pos) over the steps): a
  // counter moved ahead shows in the position of the next new step.
  testutil::sqliteExec(path, "UPDATE keel_counters SET value = 1000 WHERE name = 'step_pos'");
  {
    auto store = testutil::openOrDie(path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->apply({{PutStep{makeStep("r00000", "report")}}}).ok());
    // Updating an existing step keeps its position and spends none.
    ASSERT_TRUE(store->apply({{PutStep{makeStep("r00000", "fetch")}}}).ok());
    auto run = store->getRun("r00000");
    ASSERT_TRUE(run.ok() && run->has_value());
    ASSERT_EQ((*run)->steps.size(), 3u);
    EXPECT_EQ((*run)->steps[2].name, "report");
  }
  EXPECT_EQ(testutil::sqliteQueryInt(
                path, "SELECT pos FROM steps WHERE run_id = 'r00000' AND name = 'report'"),
            1001);
  EXPECT_EQ(testutil::sqliteQueryInt(
                path, "SELECT pos FROM steps WHERE run_id = 'r00000' AND name = 'fetch'"),
            1);
  EXPECT_GE(
      testutil::sqliteQueryInt(path, "SELECT value FROM keel_counters WHERE name = 'step_pos'"),
      1001);
  EXPECT_EQ(checkOk(path), std::vector<std::string>{});
}

TEST(SqliteCheckTest, ACounterBehindTheStepsIsReported) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  fill(path, 2);
  testutil::sqliteExec(path, "UPDATE keel_counters SET value = 1 WHERE name = 'step_pos'");
  auto problems = checkOk(path);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0],
            "keel_counters: step_pos is 1 but a step has position 4 (new steps would be ordered "
            "before old ones)");
}

// A damaged page deep in the steps table: opening does not read it (open
// costs a few pages per table, whatever the size), the full check finds it.
TEST(SqliteCheckTest, ADamagedStepPageIsFoundByTheCheckNotAtOpen) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  fill(path, 400);
  ASSERT_FALSE(std::filesystem::exists(path + "-wal"));  // checkpointed at close
  int64_t pageSize = testutil::sqliteQueryInt(path, "PRAGMA page_size");
  int64_t leaves = testutil::sqliteQueryInt(path,
                                            "SELECT COUNT(*) FROM dbstat WHERE name = 'steps' AND "
                                            "pagetype = 'leaf'");
  ASSERT_GE(leaves, 10);
  int64_t page = testutil::sqliteQueryInt(
      path, fmt::format("SELECT pageno FROM dbstat WHERE name = 'steps' AND "
                        "pagetype = 'leaf' ORDER BY path LIMIT 1 OFFSET {}",
                        leaves / 2));
  ASSERT_GT(page, 1);
  std::string bytes = readFile(path);
  for (int64_t i = (page - 1) * pageSize; i < page * pageSize; ++i) {
    bytes[static_cast<size_t>(i)] = static_cast<char>(0x5A ^ (i & 0xff));
  }
  writeFile(path, bytes);

  {
    auto store = openSqliteStore(path);
    ASSERT_TRUE(store.ok()) << store.error().toString();
  }
  auto problems = checkOk(path);
  ASSERT_FALSE(problems.empty());
  std::string all = fmt::format("{}", fmt::join(problems, "\n"));
  // SQLite either lists the bad pages or stops at the first one.
  EXPECT_TRUE(contains(all, fmt::format("page {}", page)) || contains(all, "malformed")) << all;
}

TEST(SqliteCheckTest, OrphanRowsAreReportedPerTable) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  fill(path, 1);
  testutil::sqliteExec(path,
                       "PRAGMA foreign_keys = OFF; "
                       "INSERT INTO logs VALUES ('gone', 'a', 1, X'', X'', 0, 0); "
                       "INSERT INTO logs VALUES ('gone', 'a', 2, X'', X'', 0, 0); "
                       "INSERT INTO events (run_id, at, kind, step, attempt, message) "
                       "  VALUES ('gone', 0, 'x', '', 0, '')");
  EXPECT_EQ(checkOk(path), (std::vector<std::string>{"table events: 1 row(s) belong to no run",
                                                     "table logs: 2 row(s) belong to no run"}));
}

TEST(SqliteCheckTest, AGarbageFileIsReportedAndUnchanged) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  std::string garbage(20000, 'g');
  writeFile(path, garbage);
  auto problems = checkOk(path);
  ASSERT_FALSE(problems.empty());
  EXPECT_TRUE(contains(problems[0], "not a database")) << problems[0];
  EXPECT_EQ(problems.size(), 1u);
  EXPECT_EQ(readFile(path), garbage);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST(SqliteCheckTest, ADatabaseInUseOrMissingIsNotChecked) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  auto missing = checkSqliteDatabase(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message(), fmt::format("database {} does not exist", path));
  EXPECT_FALSE(std::filesystem::exists(path));

  auto store = testutil::openOrDie(path);
  ASSERT_NE(store, nullptr);
  auto held = checkSqliteDatabase(path);
  ASSERT_FALSE(held.ok());
  EXPECT_EQ(held.error().code(), ErrorCode::kFailedPrecondition) << held.error().toString();
  store.reset();
  EXPECT_EQ(checkOk(path), std::vector<std::string>{});
  // Nothing left behind but what keel serve leaves.
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  EXPECT_FALSE(std::filesystem::exists(path + "-shm"));
}

}  // namespace
}  // namespace keel::store
