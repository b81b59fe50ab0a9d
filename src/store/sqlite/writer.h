// Writer: every write keel makes to a SQLite store, on the one writer
// connection.
//
// apply() commits a Batch in one BEGIN IMMEDIATE ... COMMIT transaction
// with prepared statements reused across batches, so a batch of a few
// hundred upserts costs about one fsync. Whatever fails, the transaction
// is rolled back before returning: a Writer never leaves one open.
//
// Not thread-safe: SqliteStore serializes calls with its writer mutex.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/sqlite/connection.h"
#include "store/store.h"

namespace keel::store::sqlite {

class Writer {
 public:
  // lastStepPos: the highest steps.pos in the file (see putStep).
  // auditHead: the last audit entry in the file (see put(AppendAudit)).
  Writer(Connection& conn, std::string nodeId, int64_t lastStepPos, audit::Head auditHead = {})
      : conn_(conn),
        nodeId_(std::move(nodeId)),
        lastStepPos_(lastStepPos),
        storedStepPos_(lastStepPos),
        auditHead_(auditHead),
        txAuditHead_(std::move(auditHead)) {}

  // The audit chain's head as of the last commit.
  const audit::Head& auditHead() const { return auditHead_; }
  // For a write transaction made beside apply() on this connection
  // (tokens, subscriptions): a hook that seals `entry` (none: nothing)
  // into the open transaction, then endAudit(committed) once it ended,
  // which moves the head only if it committed.
  BeforeCommit auditHook(const audit::Entry* entry);
  void endAudit(bool committed);

  Status apply(const Batch& batch);
  // With `entry`, the new version's audit entry is appended in its
  // transaction (none when the version exists already).
  Result<WorkflowVersionRow> putWorkflow(const WorkflowVersionRow& row,
                                         const audit::Entry* entry = nullptr);
  Result<std::vector<ActiveRun>> claimRuns();

 private:
  Status put(const PutRun& m);
  struct BatchRows;
  // The batch's steps, attempts, logs and events, many rows per statement.
  Status putRows(const BatchRows& rows);
  Status put(const PutInboundEvent& m);
  Status put(const PutScheduleState& m);
  Status put(const PutFileArrival& m);
  Status put(const PruneFileArrivals& m);
  Status put(const PutOutboxEvent& m);
  Status put(const MarkOutboxDelivered& m);
  Status put(const PutWebhookDelivery& m);
  Status put(const PutWorkflowControl& m);
  Status put(const AppendAudit& m);
  Status stageAudit(const audit::Entry& entry);
  Status put(const PutNotification& m);
  Status put(const UpdateNotification& m);
  Status put(const PutIncident& m);
  Status putStepPos();
  // Commits, or rolls back and returns an error starting with `what`.
  Status commitOrRollback(std::string_view what = "commit failed");
  Result<std::vector<ActiveRun>> claimAndRead();

  Connection& conn_;
  std::string nodeId_;
  // steps.pos orders a run's steps by first write. One counter for the
  // whole file is enough (only the order within a run matters) and, unlike
  // a per-run MAX(pos), costs nothing per upsert. Gaps are harmless.
  // keel_counters keeps it, written in the batch that used it, so opening
  // the file reads it instead of scanning steps.
  int64_t lastStepPos_;
  int64_t storedStepPos_;  // the value in keel_counters as of the last commit
  // The audit chain's head: as committed, and as the open transaction
  // moves it. Entries are sealed from txAuditHead_; it becomes auditHead_
  // only once the transaction commits, and goes back to it on rollback, so
  // a lost batch never leaves a gap or a fork in the chain.
  audit::Head auditHead_;
  audit::Head txAuditHead_;
};

}  // namespace keel::store::sqlite
