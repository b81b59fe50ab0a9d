#include "store/sqlite/schedule_states.h"

#include <fmt/format.h>

#include "store/sqlite/row_codec.h"

namespace keel::store::sqlite {

namespace {

constexpr const char* kUpsertScheduleState = R"sql(
INSERT INTO schedule_state (workflow, trigger_index, last_instant, last_run_id, outcome)
VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (workflow, trigger_index) DO UPDATE SET
  last_instant = excluded.last_instant, last_run_id = excluded.last_run_id,
  outcome = excluded.outcome)sql";

constexpr const char* kSelectScheduleStates = R"sql(
SELECT workflow, trigger_index, last_instant, last_run_id, outcome FROM schedule_state
ORDER BY workflow, trigger_index)sql";

ScheduleStateRow readScheduleState(const Statement& s) {
  ScheduleStateRow row;
  row.workflow = s.textAt(0);
  row.trigger = s.intAt(1);
  row.lastInstant = s.timeAt(2);
  row.lastRunId = s.textAt(3);
  row.outcome = s.textAt(4);
  return row;
}

}  // namespace

Status upsertScheduleState(Connection& conn, const ScheduleStateRow& row) {
  auto s = conn.cached(kUpsertScheduleState);
  if (!s.ok()) return s.error();
  (*s)->bind(1, row.workflow);
  (*s)->bind(2, row.trigger);
  (*s)->bind(3, row.lastInstant);
  (*s)->bind(4, row.lastRunId);
  (*s)->bind(5, row.outcome);
  auto more = (*s)->next();
  if (more.ok()) return okStatus();
  return Error(more.error().code(),
               fmt::format("cannot store the schedule state of {} trigger {}: {}", row.workflow,
                           row.trigger + 1, more.error().message()));
}

Result<std::vector<ScheduleStateRow>> selectScheduleStates(Connection& conn) {
  std::vector<ScheduleStateRow> rows;
  KEEL_TRY(selectAll(conn, kSelectScheduleStates, readScheduleState, rows));
  return rows;
}

}  // namespace keel::store::sqlite
