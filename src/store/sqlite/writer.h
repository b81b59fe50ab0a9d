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
  Writer(Connection& conn, std::string nodeId, int64_t lastStepPos)
      : conn_(conn),
        nodeId_(std::move(nodeId)),
        lastStepPos_(lastStepPos),
        storedStepPos_(lastStepPos) {}

  Status apply(const Batch& batch);
  Result<WorkflowVersionRow> putWorkflow(const WorkflowVersionRow& row);
  Result<std::vector<ActiveRun>> claimRuns();

 private:
  Status put(const PutRun& m);
  Status put(const PutStep& m);
  Status put(const PutAttempt& m);
  Status put(const AppendEvent& m);
  Status put(const PutLog& m);
  Status put(const PutInboundEvent& m);
  Status put(const PutScheduleState& m);
  Status put(const PutFileArrival& m);
  Status put(const PruneFileArrivals& m);
  Status put(const PutOutboxEvent& m);
  Status put(const MarkOutboxDelivered& m);
  Status put(const PutWebhookDelivery& m);
  Status put(const PutWorkflowControl& m);
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
};

}  // namespace keel::store::sqlite
