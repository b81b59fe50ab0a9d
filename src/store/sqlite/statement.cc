#include "store/sqlite/statement.h"

#include <sqlite3.h>

#include "store/sqlite/sqlite_error.h"

namespace keel::store::sqlite {

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

// Binding errors are programming errors (a wrong index or a statement in
// use); they also resurface as the statement's error on the next step, so
// the return codes are not checked one by one.
void Statement::bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }

void Statement::bind(int i, std::string_view text) {
  // A null data pointer would bind NULL, not ''.
  sqlite3_bind_text64(stmt_, i, text.empty() ? "" : text.data(), text.size(), SQLITE_STATIC,
                      SQLITE_UTF8);
}

void Statement::bind(int i, WallTime t) { bind(i, toUnixMillis(t)); }

void Statement::bind(int i, const std::optional<WallTime>& t) {
  if (t) {
    bind(i, *t);
  } else {
    bindNull(i);
  }
}

void Statement::bind(int i, const std::optional<int>& v) {
  if (v) {
    bind(i, *v);
  } else {
    bindNull(i);
  }
}

void Statement::bindBlob(int i, std::string_view bytes) {
  // A zero-length blob, not NULL: a step that printed nothing has "" output.
  sqlite3_bind_blob64(stmt_, i, bytes.empty() ? "" : bytes.data(), bytes.size(), SQLITE_STATIC);
}

void Statement::bindCopy(int i, std::string_view text) {
  sqlite3_bind_text64(stmt_, i, text.empty() ? "" : text.data(), text.size(), SQLITE_TRANSIENT,
                      SQLITE_UTF8);
}

void Statement::bindNull(int i) { sqlite3_bind_null(stmt_, i); }

void Statement::bindTextOrNull(int i, std::string_view text) {
  if (text.empty()) {
    bindNull(i);
  } else {
    bind(i, text);
  }
}

Result<bool> Statement::next() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return error(rc, "SQLite error");
}

Status Statement::run() {
  while (true) {
    auto more = next();
    if (!more.ok()) return more.error();
    if (!*more) return okStatus();
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::isNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

int64_t Statement::int64At(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Statement::textAt(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (p == nullptr) return {};
  return std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::string Statement::blobAt(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
  if (p == nullptr) return {};
  return std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

WallTime Statement::timeAt(int col) const { return fromUnixMillis(int64At(col)); }

std::optional<WallTime> Statement::optionalTimeAt(int col) const {
  if (isNull(col)) return std::nullopt;
  return timeAt(col);
}

std::optional<int> Statement::optionalIntAt(int col) const {
  if (isNull(col)) return std::nullopt;
  return intAt(col);
}

int Statement::lastErrorCode() const { return sqlite3_extended_errcode(sqlite3_db_handle(stmt_)); }

Error Statement::error(int rc, std::string_view what) const {
  return sqliteError(sqlite3_db_handle(stmt_), rc, what);
}

std::string Statement::sql() const {
  const char* s = sqlite3_sql(stmt_);
  return s != nullptr ? s : "";
}

}  // namespace keel::store::sqlite
