#include "store/sqlite/writer.h"

#include <sqlite3.h>

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
// a step and the ownership of a run, which belong to the store.
constexpr const char* kUpsertRun = R"sql(
INSERT INTO runs (id, workflow, version, state, params_json, idempotency_key, concurrency_key,
                  reason, created_at, started_at, finished_at, owner_node, wait_kind,
                  wait_reason, cancel_reason, pause_reason, compensation, trace_id, request_id,
                  parent_span_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)
ON CONFLICT (id) DO UPDATE SET
  workflow = excluded.workflow, version = excluded.version, state = excluded.state,
  params_json = excluded.params_json, idempotency_key = excluded.idempotency_key,
  concurrency_key = excluded.concurrency_key, reason = excluded.reason,
  created_at = excluded.created_at, started_at = excluded.started_at,
  finished_at = excluded.finished_at, wait_kind = excluded.wait_kind,
  wait_reason = excluded.wait_reason, cancel_reason = excluded.cancel_reason,
  pause_reason = excluded.pause_reason, compensation = excluded.compensation,
  trace_id = excluded.trace_id, request_id = excluded.request_id,
  parent_span_id = excluded.parent_span_id)sql";

constexpr const char* kUpsertStep = R"sql(
INSERT INTO steps (run_id, name, pos, state, attempts, output_json, reason, due_at, wait_kind,
                   wait_reason)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT (run_id, name) DO UPDATE SET
  state = excluded.state, attempts = excluded.attempts, output_json = excluded.output_json,
  reason = excluded.reason, due_at = excluded.due_at, wait_kind = excluded.wait_kind,
  wait_reason = excluded.wait_reason)sql";

constexpr const char* kUpsertAttempt = R"sql(
INSERT INTO attempts (run_id, step, n, state, started_at, finished_at, exit_code, signal,
                      failure_class, message)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT (run_id, step, n) DO UPDATE SET
  state = excluded.state, started_at = excluded.started_at, finished_at = excluded.finished_at,
  exit_code = excluded.exit_code, signal = excluded.signal,
  failure_class = excluded.failure_class, message = excluded.message)sql";

constexpr const char* kInsertEvent = R"sql(
INSERT INTO events (run_id, at, kind, step, attempt, message, actor, reason)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8))sql";

// A batch's events go in kEventsPerInsert rows per statement: one
// statement, and one update of the AUTOINCREMENT counter, for many rows.
// Rows of one statement take their seq in the order of its VALUES.
constexpr size_t kEventsPerInsert = 16;
constexpr int kEventFields = 8;

const std::string& insertEventsSql() {
  static const std::string sql = [] {
    std::string text =
        "INSERT INTO events (run_id, at, kind, step, attempt, message, actor, reason) VALUES ";
    for (size_t row = 0; row < kEventsPerInsert; ++row) {
      text += row == 0 ? "(" : ", (";
      for (int col = 1; col <= kEventFields; ++col)
        text += fmt::format("{}?{}", col == 1 ? "" : ", ", row * kEventFields + col);
      text += ")";
    }
    return text;
  }();
  return sql;
}

void bindEvent(Statement& s, int first, const EventRow& r) {
  s.bind(first, r.runId);
  s.bind(first + 1, r.at);
  s.bind(first + 2, r.kind);
  s.bind(first + 3, r.step);
  s.bind(first + 4, r.attempt);
  s.bind(first + 5, r.message);
  s.bind(first + 6, r.actor);
  s.bind(first + 7, r.reason);
}

constexpr const char* kPutStepPos = R"sql(
INSERT INTO keel_counters (name, value) VALUES ('step_pos', ?1)
ON CONFLICT (name) DO UPDATE SET value = excluded.value)sql";

constexpr const char* kUpsertLog = R"sql(
INSERT INTO logs (run_id, step, attempt, stdout, stderr, stdout_bytes, stderr_bytes)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (run_id, step, attempt) DO UPDATE SET
  stdout = excluded.stdout, stderr = excluded.stderr, stdout_bytes = excluded.stdout_bytes,
  stderr_bytes = excluded.stderr_bytes)sql";

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

Status Writer::apply(const Batch& batch) {
  if (batch.empty()) return okStatus();
  KEEL_TRY(conn_.beginImmediate());
  txAuditHead_ = auditHead_;
  // Events go last, together (their run is checked at COMMIT: the
  // foreign key is deferred); every other row in the batch's order.
  std::vector<const EventRow*> events;
  for (const Mutation& m : batch.mutations) {
    if (const auto* e = std::get_if<AppendEvent>(&m)) {
      events.push_back(&e->row);
      continue;
    }
    Status s = std::visit([this](const auto& x) { return put(x); }, m);
    if (!s.ok()) {
      conn_.rollback();
      txAuditHead_ = auditHead_;
      return s;
    }
  }
  if (Status s = putEvents(events); !s.ok()) {
    conn_.rollback();
    txAuditHead_ = auditHead_;
    return s;
  }
  if (lastStepPos_ != storedStepPos_) {
    Status s = putStepPos();
    if (!s.ok()) {
      conn_.rollback();
      txAuditHead_ = auditHead_;
      return s;
    }
  }
  if (Status s = commitOrRollback("commit failed, the batch is not durable"); !s.ok()) {
    txAuditHead_ = auditHead_;
    return s;
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

Status Writer::put(const PutStep& m) {
  const StepRow& r = m.row;
  auto s = conn_.cached(kUpsertStep);
  if (!s.ok()) return s.error();
  (*s)->bind(1, r.runId);
  (*s)->bind(2, r.name);
  (*s)->bind(3, ++lastStepPos_);  // used only when the row is new
  (*s)->bind(4, toString(r.state));
  (*s)->bind(5, r.attempts);
  (*s)->bind(6, r.outputJson);
  (*s)->bind(7, r.reason);
  (*s)->bind(8, r.dueAt);
  (*s)->bindTextOrNull(9, r.waitKind);
  (*s)->bindTextOrNull(10, r.waitReason);
  return runBound(*s, [&] { return fmt::format("cannot store step {}/{}", r.runId, r.name); });
}

Status Writer::put(const PutAttempt& m) {
  const AttemptRow& r = m.row;
  auto s = conn_.cached(kUpsertAttempt);
  if (!s.ok()) return s.error();
  (*s)->bind(1, r.runId);
  (*s)->bind(2, r.step);
  (*s)->bind(3, r.n);
  (*s)->bind(4, toString(r.state));
  (*s)->bind(5, r.startedAt);
  (*s)->bind(6, r.finishedAt);
  (*s)->bind(7, r.exitCode);
  (*s)->bind(8, r.signal);
  (*s)->bind(9, toString(r.failureClass));
  (*s)->bind(10, r.message);
  return runBound(
      *s, [&] { return fmt::format("cannot store attempt {}/{}/{}", r.runId, r.step, r.n); });
}

Status Writer::put(const AppendEvent& m) { return putEvent(m.row); }

Status Writer::putEvent(const EventRow& r) {
  auto s = conn_.cached(kInsertEvent);
  if (!s.ok()) return s.error();
  bindEvent(**s, 1, r);
  return runBound(*s,
                  [&] { return fmt::format("cannot append event {} of run {}", r.kind, r.runId); });
}

Status Writer::putEvents(const std::vector<const EventRow*>& events) {
  size_t at = 0;
  for (; events.size() - at >= kEventsPerInsert; at += kEventsPerInsert) {
    auto s = conn_.cached(insertEventsSql());
    if (!s.ok()) return s.error();
    for (size_t row = 0; row < kEventsPerInsert; ++row)
      bindEvent(**s, static_cast<int>(row) * kEventFields + 1, *events[at + row]);
    KEEL_TRY(runBound(*s, [&] {
      return fmt::format("cannot append {} events of runs {} to {}", kEventsPerInsert,
                         events[at]->runId, events[at + kEventsPerInsert - 1]->runId);
    }));
  }
  for (; at < events.size(); ++at) KEEL_TRY(putEvent(*events[at]));
  return okStatus();
}

Status Writer::put(const PutLog& m) {
  const LogRow& r = m.row;
  auto s = conn_.cached(kUpsertLog);
  if (!s.ok()) return s.error();
  (*s)->bind(1, r.runId);
  (*s)->bind(2, r.step);
  (*s)->bind(3, r.attempt);
  (*s)->bindBlob(4, r.stdoutText);  // process output need not be UTF-8
  (*s)->bindBlob(5, r.stderrText);
  (*s)->bind(6, r.stdoutBytes);
  (*s)->bind(7, r.stderrBytes);
  return runBound(
      *s, [&] { return fmt::format("cannot store logs of {}/{}/{}", r.runId, r.step, r.attempt); });
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
  audit::Entry e = entry;
  audit::Head next = audit::seal(e, txAuditHead_);
  KEEL_TRY(insertAuditEntry(conn_, e));
  txAuditHead_ = std::move(next);
  return okStatus();
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
