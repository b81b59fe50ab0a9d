// What SQLite does with keel's queries on a large database: the plan of
// every run listing the API can ask for, and the schema migrations.
#include <sqlite3.h>

#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "store/sqlite/reads.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/store_test_util.h"
#include "testing/temp_dir.h"

namespace keel::store {
namespace {

using testutil::contains;
using testutil::makeRun;

// The lines of EXPLAIN QUERY PLAN for `sql` (parameters left unbound).
std::vector<std::string> queryPlan(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_stmt* stmt = nullptr;
  std::vector<std::string> lines;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  std::string explain = "EXPLAIN QUERY PLAN " + sql;
  EXPECT_EQ(sqlite3_prepare_v2(db, explain.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
    lines.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3)));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return lines;
}

// Every combination of the filters of GET /api/v1/runs (one state at a
// time: several are one such search per state) is answered by one
// index search that holds every filter, in id order (no sort, no scan of
// rows that do not match). Checked on a database with runs in it, after
// ANALYZE, so the planner has real statistics to be misled by.
TEST(SqlitePlanTest, EveryRunListingIsOneIndexSearchInIdOrder) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  {
    auto store = testutil::openOrDie(path);
    ASSERT_NE(store, nullptr);
    Batch batch;
    for (int i = 0; i < 2000; ++i) {
      RunState state = i % 50 == 1 ? RunState::kFailed : RunState::kSucceeded;
      batch.mutations.push_back(
          PutRun{makeRun(fmt::format("r{:05}", i), fmt::format("wf-{}", i % 20), state)});
    }
    ASSERT_TRUE(store->apply(batch).ok());
  }
  testutil::sqliteExec(path, "ANALYZE");

  for (int mask = 0; mask < 16; ++mask) {
    RunFilter filter;
    std::vector<std::string> constraints;
    if (mask & 1) {
      filter.workflow = "wf-3";
      constraints.push_back("workflow=?");
    }
    if (mask & 2) {
      filter.states = {RunState::kFailed};
      constraints.push_back("state=?");
    }
    if (mask & 8) {
      filter.since = WallTime{};
      constraints.push_back("id>?");
    }
    if (mask & 4) {
      filter.cursor = "r01000";
      constraints.push_back("id<?");
    }
    std::string sql = sqlite::runListSql(filter);
    auto plan = queryPlan(path, sql);
    ASSERT_EQ(plan.size(), 1u) << sql << "\n" << fmt::format("{}", fmt::join(plan, "\n"));
    const std::string& line = plan[0];
    SCOPED_TRACE(fmt::format("filters {}: {}", fmt::join(constraints, " "), line));
    EXPECT_FALSE(contains(line, "TEMP B-TREE"));
    if (constraints.empty()) {
      // Newest first along the primary key, stopped by LIMIT.
      EXPECT_EQ(line, "SCAN runs");
      continue;
    }
    EXPECT_TRUE(line.rfind("SEARCH runs USING ", 0) == 0);
    EXPECT_TRUE(contains(line, fmt::format("({})", fmt::join(constraints, " AND "))));
  }
}

}  // namespace
}  // namespace keel::store
