// Retention: the batched deletion of finished runs behind
// deleteFinishedRuns() (sqlite_store.h), on the writer connection of a
// file nobody else has open.
#pragma once

#include "core/clock.h"
#include "core/result.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/sqlite_store.h"

namespace keel::store::sqlite {

Result<GcResult> deleteFinishedRunBatches(Connection& conn, WallTime finishedBefore,
                                          int runsPerTransaction, const GcProgress& progress);

}  // namespace keel::store::sqlite
