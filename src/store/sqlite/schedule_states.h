// Where cron triggers stand (the schedule_state table): the upsert the
// writer makes in a batch and the read of every row. Each function runs on
// the connection it is given; none is thread-safe.
#pragma once

#include <vector>

#include "core/result.h"
#include "store/records.h"
#include "store/sqlite/connection.h"

namespace keel::store::sqlite {

// Inside the writer's open transaction: inserts or replaces the row of
// (workflow, trigger).
Status upsertScheduleState(Connection& conn, const ScheduleStateRow& row);

// Every row, by workflow then trigger.
Result<std::vector<ScheduleStateRow>> selectScheduleStates(Connection& conn);

}  // namespace keel::store::sqlite
