#include "store/sqlite/sqlite_error.h"

#include <sqlite3.h>

#include <fmt/format.h>

namespace keel::store::sqlite {

ErrorCode errorCodeForSqlite(int rc) {
  switch (rc & 0xff) {  // the primary code; extended codes refine it
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return ErrorCode::kCorrupt;
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
      return ErrorCode::kIo;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return ErrorCode::kUnavailable;
    case SQLITE_CONSTRAINT:
      return ErrorCode::kConflict;
    case SQLITE_TOOBIG:
      return ErrorCode::kTooLarge;
    default:
      return ErrorCode::kInternal;
  }
}

Error sqliteError(sqlite3* db, int rc, std::string_view what, std::string_view path) {
  std::string file(path);
  if (file.empty() && db != nullptr) {
    const char* name = sqlite3_db_filename(db, "main");
    if (name != nullptr) file = name;
  }
  // sqlite3_errmsg describes the most recent failure on this connection,
  // which is more specific than the generic text for the code.
  const char* message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error(errorCodeForSqlite(rc), fmt::format("{} (database {}): {}", what, file, message));
}

}  // namespace keel::store::sqlite
