#include "store/sqlite/gc.h"

#include <fmt/format.h>

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

// One transaction: the number of runs deleted (0 when none is left).
Result<int64_t> deleteOneBatch(Connection& conn, WallTime finishedBefore, int limit) {
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
  KEEL_TRY(deleteRunsOfBatchTable(conn));
  return *n;
}

}  // namespace

Status createBatchTable(Connection& conn) {
  return conn.exec("CREATE TEMP TABLE IF NOT EXISTS gc_batch (id TEXT PRIMARY KEY)");
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
                                          int runsPerTransaction, const GcProgress& progress) {
  KEEL_TRY(createBatchTable(conn));
  GcResult total;
  while (true) {
    KEEL_TRY(conn.beginImmediate());
    auto n = deleteOneBatch(conn, finishedBefore, runsPerTransaction);
    if (!n.ok()) {
      conn.rollback();
      return Error(n.error().code(),
                   fmt::format("cannot delete finished runs from {} (after {} deleted): {}",
                               conn.path(), total.runs, n.error().message()));
    }
    Status committed = conn.commit("cannot commit a deletion of finished runs");
    if (!committed.ok()) {
      conn.rollback();
      return committed.error();
    }
    if (*n == 0) return total;
    total.runs += *n;
    ++total.transactions;
    if (progress) progress(total);
  }
}

}  // namespace keel::store::sqlite
