// Turns SQLite result codes into keel Errors.
//
// Every message names the database file and carries SQLite's own text, so
// an operator reading a log line knows which file and what SQLite saw.
// Damage (SQLITE_CORRUPT, SQLITE_NOTADB) becomes kCorrupt; disk and I/O
// trouble (full disk, read/write errors) kIo; contention kUnavailable.
// Pure functions, callable from any thread.
#pragma once

#include <string_view>

#include "core/result.h"

struct sqlite3;

namespace keel::store::sqlite {

ErrorCode errorCodeForSqlite(int rc);

// "WHAT (database PATH): SQLITE MESSAGE", with the code chosen by
// errorCodeForSqlite(rc). db may be null (then SQLite's generic text for rc
// is used and `path` names the file).
Error sqliteError(sqlite3* db, int rc, std::string_view what, std::string_view path = {});

}  // namespace keel::store::sqlite
