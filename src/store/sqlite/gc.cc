#include "store/sqlite/gc.h"

#include <fmt/format.h>

#include "store/sqlite/audit_log.h"

namespace keel::store::sqlite {

namespace {

// The runs of one transaction, chosen once: every DELETE below works on
// exactly this set. Finished runs only; a NULL finished_at never matches.
constexpr const char* kPickBatch = R"sql(
INSERT INTO temp.gc_batch (id)
SELECT id FROM runs
WHERE state IN ('succeeded', 'failed', 'cancelled') AND finished_at < ?1
LIMIT ?2)sql";

// Children first; each uses the index that starts with run_id.
constexpr const char* kDeletes[] = {
    "DELETE FROM logs WHERE run_id IN (SELECT id FROM temp.gc_batch)",
    "DELETE FROM events WHERE run_id IN (SELECT id FROM temp.gc_batch)",
    "DELETE FROM attempts WHERE run_id IN (SELECT id FROM temp.gc_batch)",
    "DELETE FROM steps WHERE run_id IN (SELECT id FROM temp.gc_batch)",
    "DELETE FROM runs WHERE id IN (SELECT id FROM temp.gc_batch)",
};

// temp.gc_batch's runs by workflow, each with the cutoff it went by.
constexpr const char* kSummaryAt = R"sql(
SELECT r.workflow, COUNT(*), ?1 FROM temp.gc_batch g JOIN runs r ON r.id = g.id
GROUP BY r.workflow ORDER BY r.workflow)sql";
constexpr const char* kSummaryPicked = R"sql(
SELECT r.workflow, COUNT(*), MAX(p.cutoff) FROM temp.gc_batch g JOIN runs r ON r.id = g.id
JOIN temp.retention_pick p ON p.id = g.id GROUP BY r.workflow ORDER BY r.workflow)sql";

// One transaction: the number of runs deleted (0 when none is left). With
// `makeEntry`, its entry is sealed on `head` (moved only on success; the
// caller keeps it for the next transaction once this one commits).
Result<int64_t> deleteOneBatch(Connection& conn, WallTime finishedBefore, int limit,
                               const DeletionAudit& makeEntry, audit::Head& head) {
  KEEL_TRY(conn.exec("DELETE FROM temp.gc_batch"));
  auto pick = conn.cached(kPickBatch);
  if (!pick.ok()) return pick.error();
  (*pick)->bind(1, finishedBefore);
  (*pick)->bind(2, limit);
  auto picked = (*pick)->next();
  if (!picked.ok()) return picked.error();
  auto n = conn.queryInt64("SELECT COUNT(*) FROM temp.gc_batch");
  if (!n.ok()) return n.error();
  if (*n == 0) return int64_t{0};
  if (makeEntry) {
    auto what = summarizeBatchTable(conn, finishedBefore);
    if (!what.ok()) return what.error();
    KEEL_TRY(appendAuditEntry(conn, makeEntry(*what), head));
  }
  KEEL_TRY(deleteRunsOfBatchTable(conn));
  return *n;
}

}  // namespace

Status createBatchTable(Connection& conn) {
  return conn.exec("CREATE TEMP TABLE IF NOT EXISTS gc_batch (id TEXT PRIMARY KEY)");
}

Result<std::vector<DeletedRuns>> summarizeBatchTable(Connection& conn,
                                                     std::optional<WallTime> cutoff) {
  auto s = conn.cached(cutoff ? kSummaryAt : kSummaryPicked);
  if (!s.ok()) return s.error();
  if (cutoff) (*s)->bind(1, *cutoff);
  std::vector<DeletedRuns> out;
  while (true) {
    auto more = (*s)->next();
    if (!more.ok()) return more.error();
    if (!*more) break;
    auto at = (*s)->optionalTimeAt(2);
    out.push_back({(*s)->textAt(0), (*s)->int64At(1), at ? *at : WallTime{}});
  }
  return out;
}

Status deleteRunsOfBatchTable(Connection& conn) {
  for (const char* sql : kDeletes) {
    auto s = conn.cached(sql);
    if (!s.ok()) return s.error();
    auto done = (*s)->next();
    if (!done.ok()) return done.error();
  }
  return okStatus();
}

Result<GcResult> deleteFinishedRunBatches(Connection& conn, WallTime finishedBefore,
                                          int runsPerTransaction, const GcProgress& progress,
                                          const DeletionAudit& makeEntry) {
  KEEL_TRY(createBatchTable(conn));
  audit::Head head;
  if (makeEntry) {
    auto h = selectAuditHead(conn);
    if (!h.ok()) return h.error();
    head = std::move(*h);
  }
  GcResult total;
  while (true) {
    audit::Head txHead = head;
    auto n = writeTransaction(
        conn,
        [&]() -> Result<int64_t> {
          auto n = deleteOneBatch(conn, finishedBefore, runsPerTransaction, makeEntry, txHead);
          if (!n.ok())
            return Error(n.error().code(),
                         fmt::format("cannot delete finished runs from {} (after {} deleted): {}",
                                     conn.path(), total.runs, n.error().message()));
          return n;
        },
        "cannot commit a deletion of finished runs");
    if (!n.ok()) return n.error();
    head = std::move(txHead);
    if (*n == 0) return total;
    total.runs += *n;
    ++total.transactions;
    if (progress) progress(total);
  }
}

}  // namespace keel::store::sqlite
