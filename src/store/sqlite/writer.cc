#include "store/sqlite/writer.h"

#include <sqlite3.h>

#include <type_traits>
#include <variant>

#include <fmt/format.h>

#include "store/sqlite/audit_log.h"
#include "store/sqlite/channels.h"
#include "store/sqlite/file_arrivals.h"
#include "store/sqlite/inbound_events.h"
#include "store/sqlite/incidents.h"
#include "store/sqlite/outbox.h"
#include "store/sqlite/schedule_states.h"
#include "store/sqlite/subscriptions.h"
#include "store/sqlite/workflow_controls.h"

namespace keel::store::sqlite {

namespace {

// Upserts replace every column of the row except its key, the position of
// a step and the ownership of a run, which belong to the store, and a run's
// workflow and idempotency key, which are set when it is created and never
// change: left out of the update, their two indexes are not rewritten at
// every change of the run's state.
constexpr const char* kUpsertRun = R"sql(
INSERT INTO runs (id, workflow, version, state, params_json, idempotency_key, concurrency_key,
                  reason, created_at, started_at, finished_at, owner_node, wait_kind,
                  wait_reason, cancel_reason, pause_reason, compensation, trace_id, request_id,
                  parent_span_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)
ON CONFLICT (id) DO UPDATE SET
  version = excluded.version, state = excluded.state,
  params_json = excluded.params_json,
  concurrency_key = excluded.concurrency_key, reason = excluded.reason,
  created_at = excluded.created_at, started_at = excluded.started_at,
  finished_at = excluded.finished_at, wait_kind = excluded.wait_kind,
  wait_reason = excluded.wait_reason, cancel_reason = excluded.cancel_reason,
  pause_reason = excluded.pause_reason, compensation = excluded.compensation,
  trace_id = excluded.trace_id, request_id = excluded.request_id,
  parent_span_id = excluded.parent_span_id)sql";

// The rows of steps, attempts, logs and events in a batch go many per
// statement (one INSERT with kRowsPerStatement, then kFewRows, then single
// VALUES tuples): one statement to prepare, step and reset, and for events
// one update of the AUTOINCREMENT counter, for many rows. Rows of one
// statement are written in the order of its VALUES, so a step upserted
// twice in a batch ends as its second row says, and events take their seq
// in the batch's order.
struct RowsSql {
  const char* head;  // "INSERT INTO t (columns) VALUES "
  int fields;        // placeholders per row
  const char* tail;  // "" or the ON CONFLICT clause
};

constexpr size_t kRowsPerStatement = 16;
constexpr size_t kFewRows = 4;

std::string rowsSql(const RowsSql& sql, size_t rows) {
  std::string text = sql.head;
  for (size_t row = 0; row < rows; ++row) {
    text += row == 0 ? "(" : ", (";
    for (int col = 1; col <= sql.fields; ++col)
      text += fmt::format("{}?{}", col == 1 ? "" : ", ", static_cast<int>(row) * sql.fields + col);
    text += ")";
  }
  return text + sql.tail;
}

// The statements of `sql` for 1, kFewRows and kRowsPerStatement rows.
struct RowsStatements {
  explicit RowsStatements(const RowsSql& sql)
      : fields(sql.fields),
        one(rowsSql(sql, 1)),
        few(rowsSql(sql, kFewRows)),
        many(rowsSql(sql, kRowsPerStatement)) {}
  int fields;
  std::string one, few, many;
};

// Writes `rows` in order, as few statements as RowsStatements allow.
// bind(statement, firstParameter, row); describe(first, last) names rows
// in an error.
template <typename Row, typename Bind, typename Describe>
Status writeRows(Connection& conn, const RowsStatements& sql, const std::vector<const Row*>& rows,
                 Bind bind, Describe describe) {
  size_t at = 0;
  while (at < rows.size()) {
    const size_t left = rows.size() - at;
    const size_t n = left >= kRowsPerStatement ? kRowsPerStatement
                     : left >= kFewRows        ? kFewRows
                                               : 1;
    auto s = conn.cached(n == kRowsPerStatement ? sql.many : n == kFewRows ? sql.few : sql.one);
    if (!s.ok()) return s.error();
    for (size_t row = 0; row < n; ++row)
      bind(**s, static_cast<int>(row) * sql.fields + 1, *rows[at + row]);
    auto more = (*s)->next();
    if (!more.ok())
      return Error(
          more.error().code(),
          fmt::format("{}: {}", describe(*rows[at], *rows[at + n - 1]), more.error().message()));
    at += n;
  }
  return okStatus();
}

const RowsStatements& stepStatements() {
  static const RowsStatements sql({R"sql(
INSERT INTO steps (run_id, name, pos, state, attempts, output_json, reason, due_at, wait_kind,
                   wait_reason) VALUES )sql",
                                   10, R"sql(
ON CONFLICT (run_id, name) DO UPDATE SET
  state = excluded.state, attempts = excluded.attempts, output_json = excluded.output_json,
  reason = excluded.reason, due_at = excluded.due_at, wait_kind = excluded.wait_kind,
  wait_reason = excluded.wait_reason)sql"});
  return sql;
}

const RowsStatements& attemptStatements() {
  static const RowsStatements sql({R"sql(
INSERT INTO attempts (run_id, step, n, state, started_at, finished_at, exit_code, signal,
                      failure_class, message) VALUES )sql",
                                   10, R"sql(
ON CONFLICT (run_id, step, n) DO UPDATE SET
  state = excluded.state, started_at = excluded.started_at, finished_at = excluded.finished_at,
  exit_code = excluded.exit_code, signal = excluded.signal,
  failure_class = excluded.failure_class, message = excluded.message)sql"});
  return sql;
}

const RowsStatements& eventStatements() {
  static const RowsStatements sql({R"sql(
INSERT INTO events (run_id, at, kind, step, attempt, message, actor, reason) VALUES )sql",
                                   8, ""});
  return sql;
}

const RowsStatements& logStatements() {
  static const RowsStatements sql({R"sql(
INSERT INTO logs (run_id, step, attempt, stdout, stderr, stdout_bytes, stderr_bytes) VALUES )sql",
                                   7, R"sql(
ON CONFLICT (run_id, step, attempt) DO UPDATE SET
  stdout = excluded.stdout, stderr = excluded.stderr, stdout_bytes = excluded.stdout_bytes,
  stderr_bytes = excluded.stderr_bytes)sql"});
  return sql;
}

constexpr const char* kPutStepPos = R"sql(
INSERT INTO keel_counters (name, value) VALUES ('step_pos', ?1)
ON CONFLICT (name) DO UPDATE SET value = excluded.value)sql";

// Runs a bound statement that returns no rows. `what` names the row in an
// error, and is called only then: formatting on every upsert would cost
// more than the upsert itself.
template <typename What>
Status runBound(ScopedStatement& s, What what) {
  auto more = s->next();
  if (more.ok()) return okStatus();
  return Error(more.error().code(), fmt::format("{}: {}", what(), more.error().message()));
}

}  // namespace

// The rows of a batch that go many per statement (RowsSql), in order.
struct Writer::BatchRows {
  std::vector<const StepRow*> steps;
  std::vector<const AttemptRow*> attempts;
  std::vector<const LogRow*> logs;
  std::vector<const EventRow*> events;
};

Status Writer::apply(const Batch& batch) {
  if (batch.empty()) return okStatus();
  KEEL_TRY(conn_.beginImmediate());
  txAuditHead_ = auditHead_;
  // Steps, attempts, logs and events go after the other rows, each table's
  // in the batch's order; the run they belong to is checked at COMMIT
  // (their foreign keys are deferred).
  BatchRows rows;
  Status s = okStatus();
  for (const Mutation& m : batch.mutations) {
    s = std::visit(
        [&](const auto& x) -> Status {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, PutStep>) {
            rows.steps.push_back(&x.row);
          } else if constexpr (std::is_same_v<T, PutAttempt>) {
            rows.attempts.push_back(&x.row);
          } else if constexpr (std::is_same_v<T, PutLog>) {
            rows.logs.push_back(&x.row);
          } else if constexpr (std::is_same_v<T, AppendEvent>) {
            rows.events.push_back(&x.row);
          } else {
            return put(x);
          }
          return okStatus();
        },
        m);
    if (!s.ok()) break;
  }
  if (s.ok()) s = putRows(rows);
  if (s.ok() && lastStepPos_ != storedStepPos_) s = putStepPos();
  if (!s.ok()) {
    conn_.rollback();
    txAuditHead_ = auditHead_;
    return s;
  }
  if (Status c = commitOrRollback("commit failed, the batch is not durable"); !c.ok()) {
    txAuditHead_ = auditHead_;
    return c;
  }
  storedStepPos_ = lastStepPos_;
  auditHead_ = txAuditHead_;
  return okStatus();
}

Status Writer::putStepPos() {
  auto s = conn_.cached(kPutStepPos);
  if (!s.ok()) return s.error();
  (*s)->bind(1, lastStepPos_);
  return runBound(*s, [] { return std::string("cannot store the step counter"); });
}

Status Writer::commitOrRollback(std::string_view what) {
  // A failed COMMIT (disk full, I/O error, a deferred foreign key) may
  // leave the transaction open. The caller must treat the batch as lost:
  // it is not durable, even if a failed fsync left some of it on disk.
  Status s = conn_.commit(what);
  if (!s.ok()) conn_.rollback();
  return s;
}

Status Writer::put(const PutRun& m) {
  const RunRow& r = m.row;
  auto s = conn_.cached(kUpsertRun);
  if (!s.ok()) return s.error();
  (*s)->bind(1, r.id);
  (*s)->bind(2, r.workflow);
  (*s)->bind(3, r.version);
  (*s)->bind(4, toString(r.state));
  (*s)->bind(5, r.paramsJson);
  (*s)->bindTextOrNull(6, r.idempotencyKey);  // NULLs never collide in the UNIQUE index
  (*s)->bind(7, r.concurrencyKey);
  (*s)->bind(8, r.reason);
  (*s)->bind(9, r.createdAt);
  (*s)->bind(10, r.startedAt);
  (*s)->bind(11, r.finishedAt);
  (*s)->bind(12, nodeId_);
  (*s)->bindTextOrNull(13, r.waitKind);
  (*s)->bindTextOrNull(14, r.waitReason);
  (*s)->bindTextOrNull(15, r.cancelReason);
  (*s)->bindTextOrNull(16, r.pauseReason);
  (*s)->bindTextOrNull(17, r.compensation);
  (*s)->bindTextOrNull(18, r.traceId);
  (*s)->bindTextOrNull(19, r.requestId);
  (*s)->bindTextOrNull(20, r.parentSpanId);
  auto more = (*s)->next();
  if (more.ok()) return okStatus();
  if ((*s)->lastErrorCode() == SQLITE_CONSTRAINT_UNIQUE) {
    return Error(ErrorCode::kAlreadyExists,
                 fmt::format("a run of workflow {} with idempotency key '{}' already exists",
                             r.workflow, r.idempotencyKey));
  }
  return Error(more.error().code(),
               fmt::format("cannot store run {}: {}", r.id, more.error().message()));
}

Status Writer::putRows(const BatchRows& rows) {
  KEEL_TRY(writeRows(
      conn_, stepStatements(), rows.steps,
      [this](Statement& s, int i, const StepRow& r) {
        s.bind(i, r.runId);
        s.bind(i + 1, r.name);
        s.bind(i + 2, ++lastStepPos_);  // used only when the row is new
        s.bind(i + 3, toString(r.state));
        s.bind(i + 4, r.attempts);
        s.bind(i + 5, r.outputJson);
        s.bind(i + 6, r.reason);
        s.bind(i + 7, r.dueAt);
        s.bindTextOrNull(i + 8, r.waitKind);
        s.bindTextOrNull(i + 9, r.waitReason);
      },
      [](const StepRow& first, const StepRow& last) {
        return fmt::format("cannot store steps {}/{} to {}/{}", first.runId, first.name, last.runId,
                           last.name);
      }));
  KEEL_TRY(writeRows(
      conn_, attemptStatements(), rows.attempts,
      [](Statement& s, int i, const AttemptRow& r) {
        s.bind(i, r.runId);
        s.bind(i + 1, r.step);
        s.bind(i + 2, r.n);
        s.bind(i + 3, toString(r.state));
        s.bind(i + 4, r.startedAt);
        s.bind(i + 5, r.finishedAt);
        s.bind(i + 6, r.exitCode);
        s.bind(i + 7, r.signal);
        s.bind(i + 8, toString(r.failureClass));
        s.bind(i + 9, r.message);
      },
      [](const AttemptRow& first, const AttemptRow& last) {
        return fmt::format("cannot store attempts {}/{}/{} to {}/{}/{}", first.runId, first.step,
                           first.n, last.runId, last.step, last.n);
      }));
  KEEL_TRY(writeRows(
      conn_, logStatements(), rows.logs,
      [](Statement& s, int i, const LogRow& r) {
        s.bind(i, r.runId);
        s.bind(i + 1, r.step);
        s.bind(i + 2, r.attempt);
        s.bindBlob(i + 3, r.stdoutText);  // process output need not be UTF-8
        s.bindBlob(i + 4, r.stderrText);
        s.bind(i + 5, r.stdoutBytes);
        s.bind(i + 6, r.stderrBytes);
      },
      [](const LogRow& first, const LogRow& last) {
        return fmt::format("cannot store logs of {}/{}/{} to {}/{}/{}", first.runId, first.step,
                           first.attempt, last.runId, last.step, last.attempt);
      }));
  return writeRows(
      conn_, eventStatements(), rows.events,
      [](Statement& s, int i, const EventRow& r) {
        s.bind(i, r.runId);
        s.bind(i + 1, r.at);
        s.bind(i + 2, r.kind);
        s.bind(i + 3, r.step);
        s.bind(i + 4, r.attempt);
        s.bind(i + 5, r.message);
        s.bind(i + 6, r.actor);
        s.bind(i + 7, r.reason);
      },
      [](const EventRow& first, const EventRow& last) {
        return fmt::format("cannot append events {} of run {} to {} of run {}", first.kind,
                           first.runId, last.kind, last.runId);
      });
}

Status Writer::put(const PutInboundEvent& m) { return insertInboundEvent(conn_, m.row); }

Status Writer::put(const PutScheduleState& m) { return upsertScheduleState(conn_, m.row); }

Status Writer::put(const PutFileArrival& m) { return upsertFileArrival(conn_, m.row); }

Status Writer::put(const PruneFileArrivals& m) {
  return deleteFileArrivals(conn_, m.workflow, m.trigger, m.paths);
}

Status Writer::put(const PutOutboxEvent& m) { return insertOutboxEvent(conn_, m.row); }

Status Writer::put(const PutWebhookDelivery& m) { return upsertWebhookDelivery(conn_, m.row); }
Status Writer::put(const PutWorkflowControl& m) { return upsertWorkflowControl(conn_, m.row); }
Status Writer::put(const PutNotification& m) { return insertNotification(conn_, m.row); }
Status Writer::put(const UpdateNotification& m) { return updateNotification(conn_, m.row); }

Status Writer::put(const AppendAudit& m) { return stageAudit(m.entry); }

Status Writer::stageAudit(const audit::Entry& entry) {
  return appendAuditEntry(conn_, entry, txAuditHead_);
}

BeforeCommit Writer::auditHook(const audit::Entry* entry) {
  txAuditHead_ = auditHead_;
  if (entry == nullptr) return {};
  return [this, entry] { return stageAudit(*entry); };
}

void Writer::endAudit(bool committed) {
  if (committed) auditHead_ = txAuditHead_;
  txAuditHead_ = auditHead_;
}

Status Writer::put(const PutIncident& m) { return upsertIncident(conn_, m.row); }

Status Writer::put(const MarkOutboxDelivered& m) { return markOutboxDelivered(conn_, m.id, m.at); }

}  // namespace keel::store::sqlite
