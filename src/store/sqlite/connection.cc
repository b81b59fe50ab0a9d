#include "store/sqlite/connection.h"

#include <sqlite3.h>

#include "store/sqlite/sqlite_error.h"

namespace keel::store::sqlite {

Result<std::unique_ptr<Connection>> Connection::open(const std::string& path, Mode mode,
                                                     int busyTimeoutMs) {
  // NOMUTEX: each connection is used by one thread at a time (see header),
  // so SQLite's per-connection mutex would be pure overhead.
  int flags =
      SQLITE_OPEN_NOMUTEX |
      (mode == Mode::kReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error e = sqliteError(db, rc, "cannot open", path);
    sqlite3_close_v2(db);
    return e;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, busyTimeoutMs);
  return std::unique_ptr<Connection>(new Connection(db, path));
}

Connection::~Connection() {
  cache_.clear();  // statements must be finalized before the connection closes
  sqlite3_close_v2(db_);
}

Status Connection::exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  sqlite3_free(message);  // sqlite3_errmsg still holds the same text
  if (rc != SQLITE_OK) return error(rc, "statement failed");
  return okStatus();
}

Result<std::string> Connection::queryText(std::string_view sql) {
  auto stmt = cached(sql);
  if (!stmt.ok()) return stmt.error();
  auto row = (*stmt)->next();
  if (!row.ok()) return row.error();
  if (!*row) return std::string();
  return (*stmt)->textAt(0);
}

Result<int64_t> Connection::queryInt64(std::string_view sql) {
  auto stmt = cached(sql);
  if (!stmt.ok()) return stmt.error();
  auto row = (*stmt)->next();
  if (!row.ok()) return row.error();
  if (!*row) return int64_t{0};
  return (*stmt)->int64At(0);
}

Result<ScopedStatement> Connection::cached(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(raw);
      return error(rc, "cannot prepare statement");
    }
    it = cache_.emplace(std::string(sql), Statement(raw)).first;
  }
  return ScopedStatement(it->second);
}

Status Connection::runCached(std::string_view sql, std::string_view what) {
  auto s = cached(sql);
  if (!s.ok()) return s.error();
  auto more = (*s)->next();
  if (!more.ok()) return error(sqlite3_extended_errcode(db_), what);
  return okStatus();
}

Status Connection::beginImmediate() {
  return runCached("BEGIN IMMEDIATE", "cannot start a write transaction");
}

Status Connection::beginRead() { return runCached("BEGIN", "cannot start a read transaction"); }

Status Connection::commit(std::string_view what) { return runCached("COMMIT", what); }

Result<int64_t> changeRows(Connection& conn, std::string_view sql,
                           const std::function<void(Statement&)>& bind) {
  auto s = conn.cached(sql);
  if (!s.ok()) return s.error();
  bind(**s);
  KEEL_TRY((*s)->run());
  return static_cast<int64_t>(sqlite3_changes64(conn.handle()));
}

void Connection::rollback() {
  if (!inTransaction()) return;
  // Not through the cache: after some errors SQLite wants every statement
  // reset before ROLLBACK, and sqlite3_exec works in every state.
  for (auto& [sql, stmt] : cache_) stmt.reset();
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

bool Connection::inTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

std::string Connection::lastErrorMessage() const { return sqlite3_errmsg(db_); }

Error Connection::error(int rc, std::string_view what) const {
  return sqliteError(db_, rc, what, path_);
}

}  // namespace keel::store::sqlite
