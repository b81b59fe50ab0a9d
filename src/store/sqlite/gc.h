// Retention: the batched deletion of finished runs behind
// deleteFinishedRuns() (sqlite_store.h), on the writer connection of a
// file nobody else has open, and the deletion of the runs listed in the
// temp table gc_batch, shared with the retention of keel serve
// (retention.h).
#pragma once

#include "core/clock.h"
#include "core/result.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/sqlite_store.h"

namespace keel::store::sqlite {

Result<GcResult> deleteFinishedRunBatches(Connection& conn, WallTime finishedBefore,
                                          int runsPerTransaction, const GcProgress& progress);

// Creates the temp table gc_batch (id TEXT PRIMARY KEY) unless it exists.
Status createBatchTable(Connection& conn);
// Inside the caller's write transaction: deletes the runs whose ids are in
// temp.gc_batch, with their logs, events, attempts and steps.
Status deleteRunsOfBatchTable(Connection& conn);

}  // namespace keel::store::sqlite
