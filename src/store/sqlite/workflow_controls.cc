#include "store/sqlite/workflow_controls.h"

#include <fmt/format.h>

#include "store/sqlite/row_codec.h"

namespace keel::store::sqlite {

namespace {

constexpr const char* kUpsertControl = R"sql(
INSERT INTO workflow_controls (name, paused, paused_by, paused_at, paused_reason, disabled,
                               disabled_by, disabled_at, disabled_reason)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
ON CONFLICT (name) DO UPDATE SET
  paused = excluded.paused, paused_by = excluded.paused_by, paused_at = excluded.paused_at,
  paused_reason = excluded.paused_reason, disabled = excluded.disabled,
  disabled_by = excluded.disabled_by, disabled_at = excluded.disabled_at,
  disabled_reason = excluded.disabled_reason)sql";

constexpr const char* kSelectControls = R"sql(
SELECT name, paused, paused_by, paused_at, paused_reason, disabled, disabled_by, disabled_at,
       disabled_reason FROM workflow_controls ORDER BY name)sql";

WorkflowControlRow readWorkflowControl(const Statement& s) {
  WorkflowControlRow row;
  row.name = s.textAt(0);
  row.paused = s.intAt(1) != 0;
  row.pausedBy = s.textAt(2);
  row.pausedAt = s.optionalTimeAt(3);
  row.pausedReason = s.textAt(4);
  row.disabled = s.intAt(5) != 0;
  row.disabledBy = s.textAt(6);
  row.disabledAt = s.optionalTimeAt(7);
  row.disabledReason = s.textAt(8);
  return row;
}

}  // namespace

Status upsertWorkflowControl(Connection& conn, const WorkflowControlRow& row) {
  auto s = conn.cached(kUpsertControl);
  if (!s.ok()) return s.error();
  (*s)->bind(1, row.name);
  (*s)->bind(2, row.paused ? 1 : 0);
  (*s)->bind(3, row.pausedBy);
  (*s)->bind(4, row.pausedAt);
  (*s)->bind(5, row.pausedReason);
  (*s)->bind(6, row.disabled ? 1 : 0);
  (*s)->bind(7, row.disabledBy);
  (*s)->bind(8, row.disabledAt);
  (*s)->bind(9, row.disabledReason);
  auto more = (*s)->next();
  if (more.ok()) return okStatus();
  return Error(more.error().code(), fmt::format("cannot store the controls of workflow {}: {}",
                                                row.name, more.error().message()));
}

Result<std::vector<WorkflowControlRow>> selectWorkflowControls(Connection& conn) {
  std::vector<WorkflowControlRow> rows;
  KEEL_TRY(selectAll(conn, kSelectControls, readWorkflowControl, rows));
  return rows;
}

}  // namespace keel::store::sqlite
