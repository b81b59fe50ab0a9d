// Row builders and a store opener shared by the SQLite store tests.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "store/records.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace keel::store::testutil {

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Runs SQL on a file with plain SQLite, as an operator (or an attacker)
// might, outside keel; fails the test if SQLite refuses it.
inline void sqliteExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string message = err != nullptr ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

// The first column of the first row of `sql` on the file, or -1.
inline int64_t sqliteQueryInt(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_stmt* stmt = nullptr;
  int64_t value = -1;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    value = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

// How many rows of `table` belong to run `id` (the runs table by its id,
// the others by run_id).
inline int64_t rowsOf(const std::string& path, const std::string& table, const std::string& id) {
  std::string column = table == "runs" ? "id" : "run_id";
  return sqliteQueryInt(path,
                        "SELECT COUNT(*) FROM " + table + " WHERE " + column + " = '" + id + "'");
}

// A fixed instant, whole milliseconds (the store keeps milliseconds).
inline WallTime at(int64_t offsetMs) { return fromUnixMillis(1'767'225'600'000 + offsetMs); }

inline RunRow makeRun(const std::string& id, const std::string& workflow = "wf",
                      RunState state = RunState::kPending, int64_t createdMs = 0) {
  RunRow r;
  r.id = id;
  r.workflow = workflow;
  r.version = 1;
  r.state = state;
  r.paramsJson = R"({"region":"eu"})";
  r.createdAt = at(createdMs);
  return r;
}

inline StepRow makeStep(const std::string& runId, const std::string& name,
                        StepState state = StepState::kPending) {
  StepRow s;
  s.runId = runId;
  s.name = name;
  s.state = state;
  return s;
}

inline AttemptRow makeAttempt(const std::string& runId, const std::string& step, int n,
                              AttemptState state = AttemptState::kRunning) {
  AttemptRow a;
  a.runId = runId;
  a.step = step;
  a.n = n;
  a.state = state;
  a.startedAt = at(1000 * n);
  return a;
}

inline EventRow makeEvent(const std::string& runId, const std::string& kind,
                          const std::string& step = "") {
  EventRow e;
  e.runId = runId;
  e.at = at(5);
  e.kind = kind;
  e.step = step;
  return e;
}

inline RunFilter runFilter(const std::string& workflow, std::optional<RunState> state = {},
                           int limit = 50, const std::string& cursor = "") {
  RunFilter f;
  f.workflow = workflow;
  if (state) f.states = {*state};
  f.limit = limit;
  f.cursor = cursor;
  return f;
}
inline RunFilter limitOnly(int limit) { return runFilter("", std::nullopt, limit); }

inline StoreOptions nodeOptions(const std::string& nodeId) {
  StoreOptions o;
  o.nodeId = nodeId;
  return o;
}

// Opens `path`, failing the calling test when it cannot.
inline std::unique_ptr<Store> openOrDie(const std::string& path, const StoreOptions& options = {}) {
  auto s = openSqliteStore(path, options);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().toString());
  return s.ok() ? std::move(*s) : nullptr;
}

}  // namespace keel::store::testutil
