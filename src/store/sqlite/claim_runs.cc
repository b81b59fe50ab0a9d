// Writer::claimRuns: the active runs, with what the engine needs to resume
// them, read in one transaction so runs, steps and attempts agree.
#include <unordered_map>

#include <fmt/format.h>

#include "store/sqlite/row_codec.h"
#include "store/sqlite/writer.h"

namespace keel::store::sqlite {

namespace {

// Ordering by (run_id, pos) groups each run's rows and keeps its steps in
// the order they were first written.
const std::string& activeStepsSql() {
  static const std::string sql = fmt::format(
      "SELECT {} FROM steps WHERE run_id IN (SELECT id FROM runs WHERE {}) ORDER BY run_id, pos",
      kStepColumns, kActiveRunsWhere);
  return sql;
}

// The latest attempt of every step of every active run.
const std::string& latestAttemptsSql() {
  static const std::string sql = fmt::format(
      "SELECT {} FROM attempts WHERE run_id IN (SELECT id FROM runs WHERE {}) "
      "AND n = (SELECT MAX(b.n) FROM attempts b "
      "         WHERE b.run_id = attempts.run_id AND b.step = attempts.step) "
      "ORDER BY run_id, (SELECT pos FROM steps s "
      "                  WHERE s.run_id = attempts.run_id AND s.name = attempts.step), step",
      kAttemptColumns, kActiveRunsWhere);
  return sql;
}

}  // namespace

Result<std::vector<ActiveRun>> Writer::claimRuns() {
  KEEL_TRY(conn_.beginImmediate());
  auto runs = claimAndRead();
  if (!runs.ok()) {
    conn_.rollback();
    return runs.error();
  }
  KEEL_TRY(commitOrRollback());
  return runs;
}

Result<std::vector<ActiveRun>> Writer::claimAndRead() {
  // On SQLite the file lock already makes this node the only owner; the
  // column is kept current so the rows read the same as on PostgreSQL.
  static const std::string claimSql = fmt::format(
      "UPDATE runs SET owner_node = ?1 WHERE {} AND owner_node IS NOT ?1", kActiveRunsWhere);
  static const std::string runsSql = fmt::format(
      "SELECT {} FROM runs WHERE {} ORDER BY created_at, id", kRunColumns, kActiveRunsWhere);
  auto claim = conn_.cached(claimSql);
  if (!claim.ok()) return claim.error();
  (*claim)->bind(1, nodeId_);
  KEEL_TRY((*claim)->run());

  std::vector<RunRow> runRows;
  std::vector<StepRow> steps;
  std::vector<AttemptRow> attempts;
  KEEL_TRY(selectAll(conn_, runsSql, readRun, runRows));
  KEEL_TRY(selectAll(conn_, activeStepsSql(), readStep, steps));
  KEEL_TRY(selectAll(conn_, latestAttemptsSql(), readAttempt, attempts));

  std::vector<ActiveRun> out(runRows.size());
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < runRows.size(); ++i) {
    index.emplace(runRows[i].id, i);
    out[i].run = std::move(runRows[i]);
  }
  for (auto& step : steps) {
    if (auto it = index.find(step.runId); it != index.end()) {
      out[it->second].steps.push_back(std::move(step));
    }
  }
  for (auto& attempt : attempts) {
    if (auto it = index.find(attempt.runId); it != index.end()) {
      out[it->second].attempts.push_back(std::move(attempt));
    }
  }
  return out;
}

}  // namespace keel::store::sqlite
