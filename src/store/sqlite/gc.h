// Retention: the batched deletion of finished runs behind
// deleteFinishedRuns() (sqlite_store.h), on the writer connection of a
// file nobody else has open, and the deletion of the runs listed in the
// temp table gc_batch, shared with the retention of keel serve
// (retention.h).
#pragma once

#include <optional>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/sqlite_store.h"

namespace keel::store::sqlite {

// With `audit`, each transaction that deletes runs appends its entry,
// sealed on the chain whose head is read from the file first.
Result<GcResult> deleteFinishedRunBatches(Connection& conn, WallTime finishedBefore,
                                          int runsPerTransaction, const GcProgress& progress,
                                          const DeletionAudit& audit = {});

// Creates the temp table gc_batch (id TEXT PRIMARY KEY) unless it exists.
Status createBatchTable(Connection& conn);
// Inside the caller's write transaction: deletes the runs whose ids are in
// temp.gc_batch, with their logs, events, attempts and steps.
Status deleteRunsOfBatchTable(Connection& conn);
// Inside the same transaction, before deleteRunsOfBatchTable: the runs in
// temp.gc_batch by workflow, with `cutoff`, or (none) the cutoff each was
// picked with in temp.retention_pick.
Result<std::vector<DeletedRuns>> summarizeBatchTable(Connection& conn,
                                                     std::optional<WallTime> cutoff);

}  // namespace keel::store::sqlite
