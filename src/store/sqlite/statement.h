// Statement: one prepared SQLite statement, finalized on destruction.
//
// Binding takes 1-based parameter indexes and column reads 0-based column
// indexes, as SQLite does. Text and blobs are bound without copying
// (SQLITE_STATIC): the caller keeps them alive until reset(), which also
// clears every binding so no dangling pointer survives a use. Binding a
// temporary std::string does not compile (it would be gone before the
// statement runs): name it, or bindCopy() it. An empty text is bound as
// '' even when its view has no data pointer; only bindNull and
// bindTextOrNull bind NULL. A Statement belongs to one Connection and,
// like it, to one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

struct sqlite3_stmt;

namespace keel::store::sqlite {

class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void bind(int i, int64_t v);
  void bind(int i, int v) { bind(i, static_cast<int64_t>(v)); }
  void bind(int i, std::string_view text);
  void bind(int i, const std::string& text) { bind(i, std::string_view(text)); }
  void bind(int i, std::string&& text) = delete;  // gone before the statement runs
  void bind(int i, const char* text) { bind(i, std::string_view(text)); }
  // Binds a copy (SQLITE_TRANSIENT), for a text made just to be bound.
  void bindCopy(int i, std::string_view text);
  void bind(int i, WallTime t);  // as unix milliseconds
  void bind(int i, const std::optional<WallTime>& t);
  void bind(int i, const std::optional<int>& v);
  void bindBlob(int i, std::string_view bytes);
  void bindBlob(int i, const std::string& bytes) { bindBlob(i, std::string_view(bytes)); }
  void bindBlob(int i, std::string&& bytes) = delete;
  void bindNull(int i);
  void bindTextOrNull(int i, std::string_view text);  // NULL when empty
  void bindTextOrNull(int i, const std::string& text) { bindTextOrNull(i, std::string_view(text)); }
  void bindTextOrNull(int i, std::string&& text) = delete;

  // Advances: true when a row is ready, false when done.
  Result<bool> next();
  // Runs to completion, ignoring any rows.
  Status run();
  // Returns the statement to its initial state and clears every binding.
  void reset();

  bool isNull(int col) const;
  int64_t int64At(int col) const;
  int intAt(int col) const { return static_cast<int>(int64At(col)); }
  std::string textAt(int col) const;  // empty for NULL
  std::string blobAt(int col) const;  // empty for NULL
  WallTime timeAt(int col) const;
  std::optional<WallTime> optionalTimeAt(int col) const;
  std::optional<int> optionalIntAt(int col) const;

  // The extended result code of the last failing step.
  int lastErrorCode() const;
  Error error(int rc, std::string_view what) const;
  std::string sql() const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace keel::store::sqlite
