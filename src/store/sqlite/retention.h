// Retention while keel serves: what SqliteStore::deleteExpiredRuns() does
// on each side of the writer's turn.
//
// ExpiredRunScan finds the expired runs on a read connection, outside the
// writer's turn: it walks the finished runs of each state in id order
// through an index (runs_by_state, or runs_by_workflow_state when only
// some workflows have a cutoff), one short read of a chunk at a time, so a
// pass reads each finished run once and never holds a read open for long.
// deleteExpiredBatch() then deletes one batch of them in one write
// transaction, checking again that each run is still finished before its
// cutoff (an operator may have retried it since it was read).
//
// Neither is thread-safe; SqliteStore gives them one connection each.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "store/sqlite/connection.h"
#include "store/store.h"

namespace keel::store::sqlite {

struct ExpiredRun {
  std::string id;
  WallTime cutoff;  // it goes if it still finished before this
};

class ExpiredRunScan {
 public:
  // `policy` must outlive the scan.
  explicit ExpiredRunScan(const RetentionPolicy& policy);

  // Up to `max` more expired runs, in walk order; empty once the walk is
  // over. Each call reads on `reader` and ends its reads before returning.
  Result<std::vector<ExpiredRun>> next(Connection& reader, size_t max);

 private:
  // One index range to walk: the runs in `state`, of `workflow` when set.
  struct Segment {
    std::optional<std::string> workflow;
    std::string state;
  };
  std::optional<WallTime> cutoffOf(const std::string& workflow) const;

  const RetentionPolicy& policy_;
  std::vector<Segment> segments_;
  size_t segment_ = 0;
  std::string cursor_;  // the last id read in the current segment
};

// In one write transaction on the writer connection: deletes those of
// `runs` that are still finished before their cutoff, with their steps,
// attempts, events and logs. Returns how many runs it deleted. Rolls back
// on any error.
// When it deletes runs, `beforeCommit` (may be empty) is called before the
// COMMIT with what it deletes by workflow (the audit entry); an error from
// it rolls everything back.
Result<int64_t> deleteExpiredBatch(
    Connection& writer, const std::vector<ExpiredRun>& runs,
    const std::function<Status(const std::vector<DeletedRuns>&)>& beforeCommit = {});

}  // namespace keel::store::sqlite
