// Schema: keel's tables, the checks made before touching a file, and the
// migrations that bring it to kSchemaVersion.
//
// inspectDatabase() only reads, so a file keel refuses (damaged, not a
// keel database, written by a newer keel) is left exactly as it was.
// migrate() then applies each missing migration in its own transaction and
// records the new version in keel_schema in that same transaction, so a
// crash mid-migration leaves the previous version intact. Migrations are
// append-only: a released one is never edited.
//
// Called from openSqliteStore, on the writer connection (and, read-only,
// by checkSqliteDatabase). Neither reads more than a few pages per table:
// opening costs the same at 100 runs as at a million.
#pragma once

#include "core/result.h"
#include "store/sqlite/connection.h"

namespace keel::store::sqlite {

// The schema version found in the file (0 for an empty or new database), or
// kCorrupt / kFailedPrecondition when keel must not use the file.
Result<int> inspectDatabase(Connection& conn);

Status migrate(Connection& conn, int fromVersion);

// The last steps.pos handed out (schema 3 and later): one row read.
Result<int64_t> readStepPosCounter(Connection& conn);
inline constexpr const char* kStepPosCounterSql =
    "SELECT value FROM keel_counters WHERE name = 'step_pos'";

}  // namespace keel::store::sqlite
