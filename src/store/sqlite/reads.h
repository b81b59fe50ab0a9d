// The queries behind the Store's read methods, each on a connection lent
// by the ReadPool (any thread, one connection per call). Reads that need
// several statements run in one read transaction, so they see one
// committed state.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/records.h"
#include "store/sqlite/connection.h"

namespace keel::store::sqlite {

Result<std::optional<WorkflowVersionRow>> selectWorkflow(Connection& conn, const std::string& name,
                                                         int version);
Result<std::vector<WorkflowVersionRow>> selectLatestWorkflows(Connection& conn);
Result<std::vector<WorkflowVersionRow>> selectWorkflowVersions(Connection& conn,
                                                               const std::string& name);

Result<std::optional<RunRow>> selectRunByIdempotencyKey(Connection& conn,
                                                        const std::string& workflow,
                                                        const std::string& key);
Result<std::optional<RunDetail>> selectRunDetail(Connection& conn, const std::string& id);
// The text selectRuns() prepares for `filter` (its parameters: ?1
// workflow, ?2 state, ?3 cursor, ?4 limit).
std::string runListSql(const RunFilter& filter);
Result<std::vector<RunRow>> selectRuns(Connection& conn, const RunFilter& filter);
Result<std::vector<EventRow>> selectEvents(Connection& conn, const std::string& runId);
// Every attempt's logs, or only `attempt`'s (a primary-key lookup).
Result<std::vector<LogRow>> selectLogs(Connection& conn, const std::string& runId,
                                       const std::string& step, std::optional<int> attempt);
Result<std::string> selectIntegrityCheck(Connection& conn);

}  // namespace keel::store::sqlite
