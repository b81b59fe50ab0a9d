// Connection: one SQLite connection and its cache of prepared statements.
//
// keel prepares each SQL text once per connection and reuses it: preparing
// costs more than running a small upsert, and the writer runs hundreds of
// thousands of them a second. cached() hands out a ScopedStatement that
// resets the statement (ending any implicit read transaction and dropping
// the bindings) when it goes out of scope.
//
// A Connection is used by one thread at a time (it is opened without
// SQLite's own mutex); the store's writer mutex or the read pool guarantees
// that.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.h"
#include "store/sqlite/statement.h"

struct sqlite3;

namespace keel::store::sqlite {

class ScopedStatement {
 public:
  explicit ScopedStatement(Statement& s) : s_(&s) {}
  ~ScopedStatement() {
    if (s_ != nullptr) s_->reset();
  }
  ScopedStatement(ScopedStatement&& other) noexcept : s_(other.s_) { other.s_ = nullptr; }
  ScopedStatement& operator=(ScopedStatement&&) = delete;
  ScopedStatement(const ScopedStatement&) = delete;
  ScopedStatement& operator=(const ScopedStatement&) = delete;

  Statement* operator->() const { return s_; }
  Statement& operator*() const { return *s_; }

 private:
  Statement* s_;
};

class Connection {
 public:
  enum class Mode { kReadWrite, kReadOnly };

  // Opens (creating when kReadWrite) without reading the file yet: a
  // damaged file is noticed by the first statement, not here.
  static Result<std::unique_ptr<Connection>> open(const std::string& path, Mode mode,
                                                  int busyTimeoutMs);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

  // Runs one or more statements that take no parameters (DDL, pragmas).
  Status exec(std::string_view sql);
  // The first column of the first row of a parameterless query, as text.
  Result<std::string> queryText(std::string_view sql);
  Result<int64_t> queryInt64(std::string_view sql);  // 0 when there is no row
  // A prepared statement from the cache, preparing it on first use.
  Result<ScopedStatement> cached(std::string_view sql);

  // Write transactions: BEGIN IMMEDIATE takes the write lock up front so a
  // transaction never fails half way for want of it.
  Status beginImmediate();
  Status beginRead();
  // `what` starts the error message when COMMIT fails.
  Status commit(std::string_view what = "commit failed");
  // Rolls back if a transaction is open (SQLite may already have rolled
  // back by itself after an I/O error); never fails.
  void rollback();
  bool inTransaction() const;

  Error error(int rc, std::string_view what) const;
  // SQLite's text for the most recent failure on this connection.
  std::string lastErrorMessage() const;

 private:
  Connection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  // Runs a parameterless cached statement; on failure the error starts
  // with `what`.
  Status runCached(std::string_view sql, std::string_view what);

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  sqlite3* db_;
  std::string path_;
  std::unordered_map<std::string, Statement, Hash, std::equal_to<>> cache_;
};

// Called inside a write transaction once its change is made, before COMMIT
// (the writer appends the change's audit entry there); an error rolls the
// transaction back. Empty: nothing to add.
using BeforeCommit = std::function<Status()>;

// Runs the cached statement `sql`, bound by `bind`, to its end: how many
// rows it inserted, updated or deleted.
Result<int64_t> changeRows(Connection& conn, std::string_view sql,
                           const std::function<void(Statement&)>& bind);

// Runs `body` (returning a Status or a Result) inside BEGIN IMMEDIATE ...
// COMMIT, rolling back on any error, its own or the commit's; a failed
// COMMIT's error starts with `commitFailed`.
template <typename Body>
auto writeTransaction(Connection& conn, Body body, std::string_view commitFailed = "commit failed")
    -> decltype(body()) {
  KEEL_TRY(conn.beginImmediate());
  auto result = body();
  if (!result.ok()) {
    conn.rollback();
    return result;
  }
  if (auto committed = conn.commit(commitFailed); !committed.ok()) {
    conn.rollback();
    return committed.error();
  }
  return result;
}

}  // namespace keel::store::sqlite
