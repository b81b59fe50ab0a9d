// Run reads: detail, listing, timeline and logs.
#include <algorithm>

#include <fmt/format.h>

#include "core/ids.h"
#include "store/sqlite/reads.h"
#include "store/sqlite/row_codec.h"

namespace keel::store::sqlite {

namespace {

// A page is at most 1,000 runs; the API asks for one row more to tell
// whether another page exists.
constexpr int kMaxListLimit = 1001;

// Ends a read transaction however the read went.
class ReadTransaction {
 public:
  explicit ReadTransaction(Connection& conn) : conn_(conn) {}
  ~ReadTransaction() { conn_.rollback(); }
  Status begin() { return conn_.beginRead(); }

 private:
  Connection& conn_;
};

Result<std::optional<RunRow>> selectOneRun(Connection& conn, const std::string& sql,
                                           const std::string& a, const std::string* b) {
  std::vector<RunRow> rows;
  KEEL_TRY(selectAll(conn, sql, readRun, rows, [&](Statement& s) {
    s.bind(1, a);
    if (b != nullptr) s.bind(2, *b);
  }));
  if (rows.empty()) return std::optional<RunRow>();
  return std::optional<RunRow>(std::move(rows.front()));
}

}  // namespace

Result<std::optional<RunRow>> selectRunByIdempotencyKey(Connection& conn,
                                                        const std::string& workflow,
                                                        const std::string& key) {
  if (key.empty()) return std::optional<RunRow>();  // empty means none: never matches
  static const std::string sql =
      fmt::format("SELECT {} FROM runs WHERE workflow = ?1 AND idempotency_key = ?2", kRunColumns);
  return selectOneRun(conn, sql, workflow, &key);
}

Result<std::optional<RunDetail>> selectRunDetail(Connection& conn, const std::string& id) {
  static const std::string runSql = fmt::format("SELECT {} FROM runs WHERE id = ?1", kRunColumns);
  static const std::string stepsSql =
      fmt::format("SELECT {} FROM steps WHERE run_id = ?1 ORDER BY pos", kStepColumns);
  // Attempts follow their steps' order, then their number.
  static const std::string attemptsSql = fmt::format(
      "SELECT {} FROM attempts WHERE run_id = ?1 "
      "ORDER BY (SELECT pos FROM steps s WHERE s.run_id = attempts.run_id "
      "          AND s.name = attempts.step), step, n",
      kAttemptColumns);
  ReadTransaction txn(conn);
  KEEL_TRY(txn.begin());
  auto run = selectOneRun(conn, runSql, id, nullptr);
  if (!run.ok()) return run.error();
  if (!*run) return std::optional<RunDetail>();
  RunDetail detail;
  detail.run = std::move(**run);
  auto bindId = [&](Statement& s) { s.bind(1, id); };
  KEEL_TRY(selectAll(conn, stepsSql, readStep, detail.steps, bindId));
  KEEL_TRY(selectAll(conn, attemptsSql, readAttempt, detail.attempts, bindId));
  return std::optional<RunDetail>(std::move(detail));
}

std::string runListSql(const RunFilter& filter) {
  // One SQL text per combination of filters (at most sixteen), each
  // prepared once per connection. Every combination is served by an index
  // that holds its equalities and then id (schema.cc), so a page reads
  // about `limit` index entries whatever the size of the table; `since` is
  // a lower bound on that id (run ids start with their creation time).
  // Several states are one query per state (selectRuns), each a range of
  // its index, merged: an IN list would sort every matching row.
  std::string where;
  auto add = [&where](std::string_view cond) {
    where += where.empty() ? " WHERE " : " AND ";
    where += cond;
  };
  if (!filter.workflow.empty()) add("workflow = ?1");
  if (!filter.states.empty()) add("state = ?2");
  if (!filter.cursor.empty()) add("id < ?3");
  if (filter.since) add("id >= ?5");
  return fmt::format("SELECT {} FROM runs{} ORDER BY id DESC LIMIT ?4", kRunColumns, where);
}

Result<std::vector<RunRow>> selectRuns(Connection& conn, const RunFilter& filter) {
  std::string sql = runListSql(filter);
  int limit = std::clamp(filter.limit, 1, kMaxListLimit);
  const std::string floor = filter.since ? runIdFloor(*filter.since) : std::string();
  auto select = [&](std::optional<RunState> state, std::vector<RunRow>& rows) {
    return selectAll(conn, sql, readRun, rows, [&](Statement& s) {
      if (!filter.workflow.empty()) s.bind(1, filter.workflow);
      if (state) s.bind(2, toString(*state));
      if (!filter.cursor.empty()) s.bind(3, filter.cursor);
      s.bind(4, limit);
      if (filter.since) s.bind(5, floor);
    });
  };
  std::vector<RunRow> rows;
  if (filter.states.size() <= 1) {
    KEEL_TRY(select(
        filter.states.empty() ? std::nullopt : std::optional<RunState>(filter.states[0]), rows));
    return rows;
  }
  // The newest `limit` of each state, read in one snapshot, merged.
  ReadTransaction txn(conn);
  KEEL_TRY(txn.begin());
  std::vector<RunState> states = filter.states;
  std::sort(states.begin(), states.end());
  states.erase(std::unique(states.begin(), states.end()), states.end());
  for (RunState state : states) KEEL_TRY(select(state, rows));
  std::sort(rows.begin(), rows.end(), [](const RunRow& a, const RunRow& b) { return a.id > b.id; });
  if (rows.size() > static_cast<size_t>(limit)) rows.resize(static_cast<size_t>(limit));
  return rows;
}

Result<std::vector<EventRow>> selectEvents(Connection& conn, const std::string& runId) {
  static const std::string sql =
      fmt::format("SELECT {} FROM events WHERE run_id = ?1 ORDER BY seq", kEventColumns);
  std::vector<EventRow> rows;
  KEEL_TRY(selectAll(conn, sql, readEvent, rows, [&](Statement& s) { s.bind(1, runId); }));
  return rows;
}

Result<std::vector<LogRow>> selectLogs(Connection& conn, const std::string& runId,
                                       const std::string& step, std::optional<int> attempt) {
  static const std::string allSql = fmt::format(
      "SELECT {} FROM logs WHERE run_id = ?1 AND step = ?2 ORDER BY attempt", kLogColumns);
  static const std::string oneSql = fmt::format(
      "SELECT {} FROM logs WHERE run_id = ?1 AND step = ?2 AND attempt = ?3", kLogColumns);
  std::vector<LogRow> rows;
  KEEL_TRY(selectAll(conn, attempt ? oneSql : allSql, readLog, rows, [&](Statement& s) {
    s.bind(1, runId);
    s.bind(2, step);
    if (attempt) s.bind(3, *attempt);
  }));
  return rows;
}

}  // namespace keel::store::sqlite
