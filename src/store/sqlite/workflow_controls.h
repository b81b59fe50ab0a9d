// What operators set on workflows (the workflow_controls table): paused and
// disabled, with who, when and why. The upsert the writer makes in a batch
// and the read of every row. Each function runs on the connection it is
// given; none is thread-safe.
#pragma once

#include <vector>

#include "core/result.h"
#include "store/records.h"
#include "store/sqlite/connection.h"

namespace keel::store::sqlite {

// Inside the writer's open transaction: inserts or replaces the row of
// `row.name`.
Status upsertWorkflowControl(Connection& conn, const WorkflowControlRow& row);

// Every row, by name.
Result<std::vector<WorkflowControlRow>> selectWorkflowControls(Connection& conn);

}  // namespace keel::store::sqlite
