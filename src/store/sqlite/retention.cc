#include "store/sqlite/retention.h"

#include <fmt/format.h>

#include "store/sqlite/gc.h"

namespace keel::store::sqlite {

namespace {

constexpr const char* kFinishedStates[] = {"succeeded", "failed", "cancelled"};

// Rows read per statement: enough to make a read cheap per row, few enough
// that no read holds a snapshot (and so the WAL) for long.
constexpr int kScanChunk = 1000;

constexpr const char* kScanState = R"sql(
SELECT id, workflow, finished_at FROM runs
WHERE state = ?1 AND id > ?2 ORDER BY id LIMIT ?3)sql";

constexpr const char* kScanWorkflowState = R"sql(
SELECT id, workflow, finished_at FROM runs
WHERE workflow = ?4 AND state = ?1 AND id > ?2 ORDER BY id LIMIT ?3)sql";

constexpr const char* kCreatePick =
    "CREATE TEMP TABLE IF NOT EXISTS retention_pick (id TEXT PRIMARY KEY, cutoff INTEGER NOT NULL)";

constexpr const char* kInsertPick =
    "INSERT OR IGNORE INTO temp.retention_pick (id, cutoff) VALUES (?1, ?2)";

// The check that matters, under the write lock: still finished, and
// finished before the cutoff it was picked with. A NULL finished_at never
// matches.
constexpr const char* kKeepStillExpired = R"sql(
INSERT INTO temp.gc_batch (id)
SELECT p.id FROM temp.retention_pick p JOIN runs r ON r.id = p.id
WHERE r.state IN ('succeeded', 'failed', 'cancelled') AND r.finished_at < p.cutoff)sql";

Result<int64_t> deleteInTransaction(
    Connection& conn, const std::vector<ExpiredRun>& runs,
    const std::function<Status(const std::vector<DeletedRuns>&)>& beforeCommit) {
  KEEL_TRY(conn.exec("DELETE FROM temp.retention_pick; DELETE FROM temp.gc_batch"));
  for (const ExpiredRun& run : runs) {
    auto s = conn.cached(kInsertPick);
    if (!s.ok()) return s.error();
    (*s)->bind(1, run.id);
    (*s)->bind(2, run.cutoff);
    KEEL_TRY((*s)->run());
  }
  auto keep = conn.cached(kKeepStillExpired);
  if (!keep.ok()) return keep.error();
  KEEL_TRY((*keep)->run());
  auto n = conn.queryInt64("SELECT COUNT(*) FROM temp.gc_batch");
  if (!n.ok()) return n.error();
  if (*n == 0) return *n;
  if (beforeCommit) {
    auto what = summarizeBatchTable(conn, std::nullopt);
    if (!what.ok()) return what.error();
    KEEL_TRY(beforeCommit(*what));
  }
  KEEL_TRY(deleteRunsOfBatchTable(conn));
  return *n;
}

}  // namespace

ExpiredRunScan::ExpiredRunScan(const RetentionPolicy& policy) : policy_(policy) {
  for (const char* state : kFinishedStates) {
    if (policy_.defaultCutoff) {
      segments_.push_back({std::nullopt, state});
      continue;
    }
    // No default: only the workflows with a cutoff of their own have runs
    // to find, and their own index range holds them.
    for (const auto& [workflow, cutoff] : policy_.workflowCutoffs)
      segments_.push_back({workflow, state});
  }
}

std::optional<WallTime> ExpiredRunScan::cutoffOf(const std::string& workflow) const {
  auto it = policy_.workflowCutoffs.find(workflow);
  if (it != policy_.workflowCutoffs.end()) return it->second;
  return policy_.defaultCutoff;
}

Result<std::vector<ExpiredRun>> ExpiredRunScan::next(Connection& reader, size_t max) {
  std::vector<ExpiredRun> found;
  while (segment_ < segments_.size() && found.size() < max) {
    const Segment& seg = segments_[segment_];
    const std::string from = cursor_;  // bound without a copy; cursor_ moves on below
    auto s = reader.cached(seg.workflow ? kScanWorkflowState : kScanState);
    if (!s.ok()) return s.error();
    (*s)->bind(1, seg.state);
    (*s)->bind(2, from);
    (*s)->bind(3, kScanChunk);
    if (seg.workflow) (*s)->bind(4, *seg.workflow);
    int rows = 0;
    bool stoppedEarly = false;
    while (true) {
      auto more = (*s)->next();
      if (!more.ok()) return more.error();
      if (!*more) break;
      ++rows;
      cursor_ = (*s)->textAt(0);
      auto cutoff = cutoffOf((*s)->textAt(1));
      auto finished = (*s)->optionalTimeAt(2);
      if (cutoff && finished && *finished < *cutoff) found.push_back({cursor_, *cutoff});
      if (found.size() >= max) {
        stoppedEarly = true;
        break;
      }
    }
    if (!stoppedEarly && rows < kScanChunk) {
      ++segment_;
      cursor_.clear();
    }
  }
  return found;
}

Result<int64_t> deleteExpiredBatch(
    Connection& writer, const std::vector<ExpiredRun>& runs,
    const std::function<Status(const std::vector<DeletedRuns>&)>& beforeCommit) {
  KEEL_TRY(writer.exec(kCreatePick));
  KEEL_TRY(createBatchTable(writer));
  return writeTransaction(
      writer,
      [&]() -> Result<int64_t> {
        auto n = deleteInTransaction(writer, runs, beforeCommit);
        if (!n.ok())
          return Error(n.error().code(), fmt::format("cannot delete expired runs from {}: {}",
                                                     writer.path(), n.error().message()));
        return n;
      },
      "cannot commit a deletion of expired runs");
}

}  // namespace keel::store::sqlite
