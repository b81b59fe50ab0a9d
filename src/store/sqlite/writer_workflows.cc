// Writer::putWorkflow: content-addressed workflow versions.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "store/sqlite/row_codec.h"
#include "store/sqlite/writer.h"
#include "store/workflow_digest.h"

namespace keel::store::sqlite {

namespace {

Result<std::optional<WorkflowVersionRow>> latestVersion(Connection& conn, const std::string& name) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM workflows WHERE name = ?1 ORDER BY version DESC LIMIT 1", kWorkflowColumns);
  auto s = conn.cached(sql);
  if (!s.ok()) return s.error();
  (*s)->bind(1, name);
  auto row = (*s)->next();
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<WorkflowVersionRow>();
  return std::optional<WorkflowVersionRow>(readWorkflow(**s));
}

Status insertVersion(Connection& conn, const WorkflowVersionRow& row) {
  auto s = conn.cached(
      "INSERT INTO workflows (name, version, ns, yaml, workdir, sha256, created_at, applied_by) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!s.ok()) return s.error();
  (*s)->bind(1, row.name);
  (*s)->bind(2, row.version);
  (*s)->bind(3, row.ns);
  (*s)->bind(4, row.yaml);
  (*s)->bind(5, row.workdir);
  (*s)->bind(6, row.sha256);
  (*s)->bind(7, row.createdAt);
  (*s)->bind(8, row.appliedBy);
  return (*s)->run();
}

}  // namespace

Result<WorkflowVersionRow> Writer::putWorkflow(const WorkflowVersionRow& row,
                                               const audit::Entry* entry) {
  if (row.name.empty()) {
    return Error(ErrorCode::kInvalidArgument, "a workflow version needs a name");
  }
  WorkflowVersionRow next = row;
  next.sha256 = workflowSha256(row.yaml, row.workdir);
  // Read and insert in one write transaction, so the version number read
  // is still the latest when the next one is inserted.
  KEEL_TRY(conn_.beginImmediate());
  auto latest = latestVersion(conn_, row.name);
  if (!latest.ok()) {
    conn_.rollback();
    return latest.error();
  }
  if (*latest && (*latest)->sha256 == next.sha256) {
    conn_.rollback();  // nothing was written
    return std::move(**latest);
  }
  next.version = *latest ? (*latest)->version + 1 : 1;
  Status inserted = insertVersion(conn_, next);
  if (!inserted.ok()) {
    conn_.rollback();
    return Error(inserted.error().code(),
                 fmt::format("cannot store workflow {} version {}: {}", next.name, next.version,
                             inserted.error().message()));
  }
  txAuditHead_ = auditHead_;
  if (entry != nullptr) {
    audit::Entry e = *entry;
    // The version is known only here: the entry names it.
    if (e.detailJson.empty())
      e.detailJson = nlohmann::json{{"workflow", next.name}, {"version", next.version}}.dump();
    if (Status s = stageAudit(e); !s.ok()) {
      conn_.rollback();
      txAuditHead_ = auditHead_;
      return s.error();
    }
  }
  if (Status s = commitOrRollback(); !s.ok()) {
    txAuditHead_ = auditHead_;
    return s.error();
  }
  auditHead_ = txAuditHead_;
  return next;
}

}  // namespace keel::store::sqlite
