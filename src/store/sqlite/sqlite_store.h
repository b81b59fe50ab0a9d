// SqliteStore: the embedded Store, one file in WAL mode.
//
// open() creates or migrates the schema (a version table records it),
// refuses a database written by a newer keel (kFailedPrecondition) and a
// file that is not a keel database or whose header, schema or table roots
// are damaged (kCorrupt; open reads a few pages per table, not the whole
// file: checkSqliteDatabase does that), and takes an
// exclusive lock so two keel processes never share one file. Writes go
// through one connection; reads use a small pool of read connections.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/store.h"

namespace keel::store {

inline constexpr int kSchemaVersion = 17;

// open() creates the file when it is missing; it cannot tell a first start
// from a database that was deleted. Callers that must tell (keel serve) ask
// checkNotLost() first.
Result<std::unique_ptr<Store>> openSqliteStore(const std::string& path,
                                               const StoreOptions& options = {});

// The full check of the database at `path`, offline (`keel check`): every
// page and every index against its table (PRAGMA integrity_check), child
// rows whose run is missing, and keel's own counters. Reads the whole file,
// so it takes time in proportion to its size; opening does not do this.
// Returns the problems found, empty when there are none. An error when the
// file cannot be checked at all: kNotFound when it does not exist (it is
// not created), kFailedPrecondition when a keel process holds it or it is
// not a keel database.
Result<std::vector<std::string>> checkSqliteDatabase(const std::string& path);

// Retention (`keel gc`), offline: deletes every finished run (succeeded,
// failed or cancelled) whose finished_at is before `finishedBefore`, with
// its steps, attempts, events and logs, `runsPerTransaction` runs per
// transaction, so that no transaction holds the file long or grows the
// WAL much; `progress` (may be empty) is told the total after each one.
// Active runs and runs finished later are never touched. Takes the file's
// lock like open (kFailedPrecondition while keel serve holds it), migrates
// an older schema first, and does not create a missing file (kNotFound).
// An interrupted gc leaves whole runs: each transaction is all or nothing.
// The file does not shrink: freed pages are reused by later writes.
struct GcResult {
  int64_t runs = 0;          // deleted
  int64_t transactions = 0;  // that deleted at least one run
};
// With `audit`, each transaction that deletes runs appends the entry it
// makes, sealed on the file's chain (see DeletionAudit in store.h).
using GcProgress = std::function<void(const GcResult&)>;
Result<GcResult> deleteFinishedRuns(const std::string& path, WallTime finishedBefore,
                                    int runsPerTransaction = 500, const GcProgress& progress = {},
                                    const DeletionAudit& audit = {});

// The files that exist beside a database that exists or existed at `path`:
// SQLite's PATH-wal and PATH-shm, and keel's PATH.lock. Callers add their
// own (a token file kept beside the database).
std::vector<std::string> databaseTraces(const std::string& path);

// Before opening `path`: ok when the database exists, or when nothing says
// one ever did. When it is missing but one of `traces` exists, the
// database was deleted or moved, and opening would silently start over
// empty: kFailedPrecondition naming the trace, unless `createAllowed`.
// Even then PATH-wal must not exist (SQLite would replay the journal of
// the lost database into the new one): kFailedPrecondition.
Status checkNotLost(const std::string& path, const std::vector<std::string>& traces,
                    bool createAllowed);

}  // namespace keel::store
