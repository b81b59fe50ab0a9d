// Workflow reads.
#include <fmt/format.h>

#include "store/sqlite/reads.h"
#include "store/sqlite/row_codec.h"

namespace keel::store::sqlite {

Result<std::optional<WorkflowVersionRow>> selectWorkflow(Connection& conn, const std::string& name,
                                                         int version) {
  static const std::string latestSql = fmt::format(
      "SELECT {} FROM workflows WHERE name = ?1 ORDER BY version DESC LIMIT 1", kWorkflowColumns);
  static const std::string versionSql =
      fmt::format("SELECT {} FROM workflows WHERE name = ?1 AND version = ?2", kWorkflowColumns);
  std::vector<WorkflowVersionRow> rows;
  KEEL_TRY(
      selectAll(conn, version == 0 ? latestSql : versionSql, readWorkflow, rows, [&](Statement& s) {
        s.bind(1, name);
        if (version != 0) s.bind(2, version);
      }));
  if (rows.empty()) return std::optional<WorkflowVersionRow>();
  return std::optional<WorkflowVersionRow>(std::move(rows.front()));
}

Result<std::vector<WorkflowVersionRow>> selectLatestWorkflows(Connection& conn) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM workflows w "
      "WHERE version = (SELECT MAX(version) FROM workflows WHERE name = w.name) ORDER BY name",
      kWorkflowColumns);
  std::vector<WorkflowVersionRow> rows;
  KEEL_TRY(selectAll(conn, sql, readWorkflow, rows));
  return rows;
}

Result<std::vector<WorkflowVersionRow>> selectWorkflowVersions(Connection& conn,
                                                               const std::string& name) {
  static const std::string sql =
      fmt::format("SELECT {} FROM workflows WHERE name = ?1 ORDER BY version", kWorkflowColumns);
  std::vector<WorkflowVersionRow> rows;
  KEEL_TRY(selectAll(conn, sql, readWorkflow, rows, [&](Statement& s) { s.bind(1, name); }));
  return rows;
}

Result<std::string> selectIntegrityCheck(Connection& conn) {
  auto s = conn.cached("PRAGMA integrity_check");
  if (!s.ok()) return s.error();
  std::string report;
  while (true) {
    auto more = (*s)->next();
    if (!more.ok()) return more.error();
    if (!*more) return report;
    if (!report.empty()) report += "\n";
    report += (*s)->textAt(0);
  }
}

}  // namespace keel::store::sqlite
