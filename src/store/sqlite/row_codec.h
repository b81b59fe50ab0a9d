// How each record type maps onto its table's columns.
//
// The k*Columns lists name the columns a reader selects, in the order the
// read*() functions expect them (starting at column 0). Reads check every
// stored state name: an unknown one means the file was edited or damaged,
// and is reported as kCorrupt rather than guessed at. Pure; any thread.
#pragma once

#include <type_traits>
#include <vector>

#include "core/result.h"
#include "store/records.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/statement.h"

namespace keel::store::sqlite {

inline constexpr const char* kWorkflowColumns =
    "name, version, ns, yaml, workdir, sha256, created_at, applied_by";
inline constexpr const char* kRunColumns =
    "id, workflow, version, state, params_json, idempotency_key, concurrency_key, reason, "
    "created_at, started_at, finished_at, wait_kind, wait_reason, cancel_reason, pause_reason, "
    "compensation, trace_id, request_id, parent_span_id";
inline constexpr const char* kStepColumns =
    "run_id, name, state, attempts, output_json, reason, due_at, wait_kind, wait_reason";
inline constexpr const char* kAttemptColumns =
    "run_id, step, n, state, started_at, finished_at, exit_code, signal, failure_class, message";
inline constexpr const char* kEventColumns =
    "seq, run_id, at, kind, step, attempt, message, actor, reason";
inline constexpr const char* kLogColumns =
    "run_id, step, attempt, stdout, stderr, stdout_bytes, stderr_bytes";

// The runs a node must execute: not terminal. Written exactly as in the
// partial index runs_active (schema.cc) so the planner can use it.
inline constexpr const char* kActiveRunsWhere =
    "state IN ('pending', 'running', 'waiting', 'paused')";

WorkflowVersionRow readWorkflow(const Statement& s);
Result<RunRow> readRun(const Statement& s);
Result<StepRow> readStep(const Statement& s);
Result<AttemptRow> readAttempt(const Statement& s);
EventRow readEvent(const Statement& s);
LogRow readLog(const Statement& s);

// Runs `s` to the end, decoding each row with `read` into `out`.
template <typename Row, typename Read>
Status readAll(Statement& s, Read read, std::vector<Row>& out) {
  while (true) {
    auto more = s.next();
    if (!more.ok()) return more.error();
    if (!*more) return okStatus();
    if constexpr (std::is_same_v<decltype(read(s)), Row>) {
      out.push_back(read(s));
    } else {
      auto row = read(s);
      if (!row.ok()) return row.error();
      out.push_back(std::move(*row));
    }
  }
}

// Runs a query that takes the parameters `bind` sets (none by default),
// appending each decoded row to `out`.
template <typename Row, typename Read, typename Bind = void (*)(Statement&)>
Status selectAll(
    Connection& conn, std::string_view sql, Read read, std::vector<Row>& out,
    Bind bind = [](Statement&) {}) {
  auto s = conn.cached(sql);
  if (!s.ok()) return s.error();
  bind(**s);
  return readAll(**s, read, out);
}

}  // namespace keel::store::sqlite
