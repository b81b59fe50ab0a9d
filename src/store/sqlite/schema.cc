#include "store/sqlite/schema.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "store/sqlite/sqlite_store.h"

namespace keel::store::sqlite {

namespace {

struct Migration {
  int version;
  const char* sql;
};

// Times are unix milliseconds. Child rows reference their run; the checks
// are deferred to COMMIT so the order of mutations inside a batch does not
// matter, only that the batch as a whole is consistent.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE keel_schema (version INTEGER NOT NULL);

CREATE TABLE workflows (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  ns TEXT NOT NULL,
  yaml TEXT NOT NULL,
  workdir TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (name, version)
);

CREATE TABLE runs (
  id TEXT NOT NULL PRIMARY KEY,
  workflow TEXT NOT NULL,
  version INTEGER NOT NULL,
  state TEXT NOT NULL,
  params_json TEXT NOT NULL,
  idempotency_key TEXT,
  concurrency_key TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  owner_node TEXT,
  lease_expires_at INTEGER,
  UNIQUE (workflow, idempotency_key)
) WITHOUT ROWID;
CREATE INDEX runs_by_state ON runs (state, id);
CREATE INDEX runs_by_workflow ON runs (workflow, id);
CREATE INDEX runs_active ON runs (created_at, id)
  WHERE state IN ('pending', 'running', 'waiting', 'paused');

CREATE TABLE steps (
  run_id TEXT NOT NULL REFERENCES runs (id) DEFERRABLE INITIALLY DEFERRED,
  name TEXT NOT NULL,
  pos INTEGER NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  output_json TEXT NOT NULL,
  reason TEXT NOT NULL,
  due_at INTEGER,
  PRIMARY KEY (run_id, name)
) WITHOUT ROWID;

CREATE TABLE attempts (
  run_id TEXT NOT NULL REFERENCES runs (id) DEFERRABLE INITIALLY DEFERRED,
  step TEXT NOT NULL,
  n INTEGER NOT NULL,
  state TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  exit_code INTEGER,
  signal INTEGER,
  failure_class TEXT NOT NULL,
  message TEXT NOT NULL,
  PRIMARY KEY (run_id, step, n)
) WITHOUT ROWID;

CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL REFERENCES runs (id) DEFERRABLE INITIALLY DEFERRED,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  step TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  message TEXT NOT NULL
);
CREATE INDEX events_by_run ON events (run_id, seq);

CREATE TABLE logs (
  run_id TEXT NOT NULL REFERENCES runs (id) DEFERRABLE INITIALLY DEFERRED,
  step TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  stdout BLOB NOT NULL,
  stderr BLOB NOT NULL,
  stdout_bytes INTEGER NOT NULL,
  stderr_bytes INTEGER NOT NULL,
  PRIMARY KEY (run_id, step, attempt)
);
)sql";

// API tokens: only the SHA-256 of each secret is kept.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE tokens (
  name TEXT NOT NULL PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  revoked_at INTEGER
) WITHOUT ROWID;
)sql";

// Every listing of GET /api/v1/runs is one index search in id order:
// no filter or a cursor alone use the primary key, a workflow alone
// runs_by_workflow, a state alone runs_by_state, and both
// runs_by_workflow_state. With only the first two, a workflow and a state
// read every run of the workflow (or in the state) to find a page.
//
// keel_counters holds the last steps.pos handed out ('step_pos'), written
// in the same transaction as the steps that use it, so opening a database
// reads one row instead of scanning every step for MAX(pos).
constexpr const char* kSchemaV3 = R"sql(
CREATE INDEX runs_by_workflow_state ON runs (workflow, state, id);

CREATE TABLE keel_counters (
  name TEXT NOT NULL PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO keel_counters (name, value) SELECT 'step_pos', COALESCE(MAX(pos), 0) FROM steps;
)sql";

// Why a step (or a run) that could go on is held back, and by which gate:
// wait_kind names the gate ('max_parallel', 'stopping', 'concurrency'),
// wait_reason says it for people. Both NULL when nothing holds it.
//
// A cancel is kept in its own column instead of the run's reason text;
// runs whose reason said 'cancel requested' carry that over.
constexpr const char* kSchemaV4 = R"sql(
ALTER TABLE steps ADD COLUMN wait_kind TEXT;
ALTER TABLE steps ADD COLUMN wait_reason TEXT;
ALTER TABLE runs ADD COLUMN wait_kind TEXT;
ALTER TABLE runs ADD COLUMN wait_reason TEXT;
ALTER TABLE runs ADD COLUMN cancel_reason TEXT;
UPDATE runs SET cancel_reason = reason WHERE reason = 'cancel requested';
)sql";

// Events received on a topic (POST /api/v1/events/TOPIC): one row per
// (topic, id), written in the same transaction as the runs it started,
// whose ids run_ids holds as a JSON array. Retention deletes a row once
// none of those runs remains (events_by_received finds the old ones).
constexpr const char* kSchemaV5 = R"sql(
CREATE TABLE inbound_events (
  topic TEXT NOT NULL,
  id TEXT NOT NULL,
  payload_json TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  run_ids TEXT NOT NULL,
  errors_json TEXT NOT NULL,
  PRIMARY KEY (topic, id)
) WITHOUT ROWID;
CREATE INDEX inbound_events_by_received ON inbound_events (received_at);
)sql";

// Where each cron trigger stands (keel schedules): the last instant it
// fired for, the last run it started and what happened at that instant
// ('started' or 'skipped: REASON'). Written in the same transaction as the
// run it starts; read once at start and by the API.
constexpr const char* kSchemaV6 = R"sql(
CREATE TABLE schedule_state (
  workflow TEXT NOT NULL,
  trigger_index INTEGER NOT NULL,
  last_instant INTEGER NOT NULL,
  last_run_id TEXT NOT NULL,
  outcome TEXT NOT NULL,
  PRIMARY KEY (workflow, trigger_index)
) WITHOUT ROWID;
)sql";

// The files each file trigger fired for (file_arrivals.h): one row per
// (workflow, run key), written in the transaction of the run it started;
// by_path finds a trigger's rows for a file gone from its directory.
constexpr const char* kFileArrivalsMigration = R"sql(
CREATE TABLE file_arrivals (
  workflow TEXT NOT NULL,
  run_key TEXT NOT NULL,
  trigger_index INTEGER NOT NULL,
  path TEXT NOT NULL,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  inode INTEGER NOT NULL,
  run_id TEXT NOT NULL,
  fired_at INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  PRIMARY KEY (workflow, run_key)
) WITHOUT ROWID;
CREATE INDEX file_arrivals_by_path ON file_arrivals (workflow, trigger_index, path);
)sql";

// The outbox: events keel emits, written with the end that emits them;
// seq orders them (per topic too) for delivery.
constexpr const char* kSchemaOutbox = R"sql(
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  topic TEXT NOT NULL,
  payload_json TEXT NOT NULL,
  run_id TEXT NOT NULL,
  source TEXT NOT NULL,
  emitted_at INTEGER NOT NULL,
  state TEXT NOT NULL,
  error TEXT NOT NULL,
  delivered_at INTEGER
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE state = 'pending';
)sql";

// Webhook subscriptions (subscriptions.h): every version of each, and one
// delivery row per (subscription, outbox event); by_topic finds the outbox
// events a subscription delivers.
constexpr const char* kSchemaSubscriptions = R"sql(
CREATE TABLE subscriptions (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  topic TEXT NOT NULL,
  url TEXT NOT NULL,
  yaml TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  from_seq INTEGER NOT NULL,
  PRIMARY KEY (name, version)
) WITHOUT ROWID;
CREATE TABLE webhook_deliveries (
  subscription TEXT NOT NULL,
  event_seq INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  topic TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_at INTEGER NOT NULL,
  last_status INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (subscription, event_seq)
) WITHOUT ROWID;
CREATE INDEX webhook_deliveries_by_state ON webhook_deliveries (state, updated_at);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);
CREATE INDEX outbox_by_topic ON outbox (topic, seq);
)sql";

// Who asked for a timeline event, and why (RequestContext).
constexpr const char* kSchemaEventActors = R"sql(
ALTER TABLE events ADD COLUMN actor TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN reason TEXT NOT NULL DEFAULT '';
)sql";

// Pause and disable (workflow_controls.h): per workflow name, across its
// versions; and the reason a run paused by itself carries.
constexpr const char* kSchemaWorkflowControls = R"sql(
CREATE TABLE workflow_controls (
  name TEXT PRIMARY KEY,
  paused INTEGER NOT NULL DEFAULT 0,
  paused_by TEXT NOT NULL DEFAULT '',
  paused_at INTEGER,
  paused_reason TEXT NOT NULL DEFAULT '',
  disabled INTEGER NOT NULL DEFAULT 0,
  disabled_by TEXT NOT NULL DEFAULT '',
  disabled_at INTEGER,
  disabled_reason TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
ALTER TABLE runs ADD COLUMN pause_reason TEXT;
)sql";

// Where a run's compensations stand (engine/README.md): NULL when none
// ran, else 'running', 'done' or 'failed'.
constexpr const char* kSchemaCompensation = R"sql(
ALTER TABLE runs ADD COLUMN compensation TEXT;
)sql";

// The audit log (audit/entry.h): one row per entry, chained by hash; and
// who applied each workflow version.
constexpr const char* kSchemaAuditLog = R"sql(
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  reason TEXT NOT NULL,
  request_id TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_log_by_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_by_target ON audit_log (target, seq);
ALTER TABLE workflows ADD COLUMN applied_by TEXT NOT NULL DEFAULT '';
)sql";

// Incidents (incidents/incident.h): one row each, the runs they affect,
// their timeline and action items. Lists of strings and the conclusions of
// earlier incidents are JSON: they are shown, never queried.
constexpr const char* kSchemaIncidents = R"sql(
CREATE TABLE incidents (
  id TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  normalized TEXT NOT NULL,
  state TEXT NOT NULL,
  severity INTEGER NOT NULL,
  recurring INTEGER NOT NULL DEFAULT 0,
  fix_ineffective INTEGER NOT NULL DEFAULT 0,
  previous_json TEXT NOT NULL DEFAULT '[]',
  workflow TEXT NOT NULL,
  step TEXT NOT NULL DEFAULT '',
  failure_class TEXT NOT NULL DEFAULT '',
  message TEXT NOT NULL DEFAULT '',
  symptom TEXT NOT NULL DEFAULT '',
  owner_team TEXT NOT NULL DEFAULT '',
  owner_contact TEXT NOT NULL DEFAULT '',
  runbook TEXT NOT NULL DEFAULT '',
  count INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  first_run TEXT NOT NULL DEFAULT '',
  logs_tail TEXT NOT NULL DEFAULT '',
  attempts_json TEXT NOT NULL DEFAULT '[]',
  downstream_json TEXT NOT NULL DEFAULT '[]',
  root_cause TEXT NOT NULL DEFAULT '',
  no_action_reason TEXT NOT NULL DEFAULT '',
  workaround TEXT NOT NULL DEFAULT '',
  workaround_expires INTEGER,
  resolved_at INTEGER
) WITHOUT ROWID;
CREATE INDEX incidents_by_fingerprint ON incidents (fingerprint);
CREATE INDEX incidents_by_last_seen ON incidents (last_seen);
CREATE TABLE incident_runs (
  incident_id TEXT NOT NULL,
  pos INTEGER NOT NULL,
  run_id TEXT NOT NULL,
  PRIMARY KEY (incident_id, pos)
) WITHOUT ROWID;
CREATE TABLE incident_timeline (
  incident_id TEXT NOT NULL,
  n INTEGER NOT NULL,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  from_state TEXT NOT NULL DEFAULT '',
  to_state TEXT NOT NULL DEFAULT '',
  actor TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (incident_id, n)
) WITHOUT ROWID;
CREATE TABLE incident_action_items (
  incident_id TEXT NOT NULL,
  n INTEGER NOT NULL,
  text TEXT NOT NULL,
  owner TEXT NOT NULL,
  due TEXT NOT NULL,
  done_at INTEGER,
  done_by TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (incident_id, n)
) WITHOUT ROWID;
)sql";

// Notification channels (channels.h): every version of each; and the
// notifications to send, one row per deduplication id.
constexpr const char* kSchemaChannels = R"sql(
CREATE TABLE channels (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  type TEXT NOT NULL,
  teams TEXT NOT NULL,
  is_default INTEGER NOT NULL,
  yaml TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (name, version)
) WITHOUT ROWID;
CREATE TABLE notifications (
  id TEXT PRIMARY KEY,
  channel TEXT NOT NULL,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_at INTEGER NOT NULL,
  last_status INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX notifications_due ON notifications (next_at) WHERE state = 'pending';
CREATE INDEX notifications_by_state ON notifications (state, updated_at);
)sql";

// The W3C trace a run belongs to and the API request that created it
// (RunRow::traceId, requestId); NULL for runs stored before.
constexpr const char* kSchemaRunTrace = R"sql(
ALTER TABLE runs ADD COLUMN trace_id TEXT;
ALTER TABLE runs ADD COLUMN request_id TEXT;
)sql";

// The span a run's span hangs under (RunRow::parentSpanId): the API
// request that created it; NULL for runs stored before and runs keel
// started itself.
constexpr const char* kSchemaRunParentSpan = R"sql(
ALTER TABLE runs ADD COLUMN parent_span_id TEXT;
)sql";

constexpr Migration kMigrations[] = {
    {1, kSchemaV1},
    {2, kSchemaV2},
    {3, kSchemaV3},
    {4, kSchemaV4},
    {5, kSchemaV5},
    {6, kSchemaV6},
    {7, kFileArrivalsMigration},
    {8, kSchemaOutbox},
    {9, kSchemaSubscriptions},
    {10, kSchemaEventActors},
    {11, kSchemaWorkflowControls},
    {12, kSchemaCompensation},
    {13, kSchemaAuditLog},
    {14, kSchemaIncidents},
    {15, kSchemaRunTrace},
    {16, kSchemaChannels},
    {17, kSchemaRunParentSpan},
};
// Versions grow by one, without a gap; the last is kSchemaVersion.
constexpr bool versionsGrow() {
  for (size_t i = 1; i < std::size(kMigrations); ++i)
    if (kMigrations[i].version != kMigrations[i - 1].version + 1) return false;
  return true;
}
static_assert(versionsGrow() && kMigrations[std::size(kMigrations) - 1].version == kSchemaVersion,
              "kSchemaVersion must be the version of the last migration");

// SQLite reports a file that is not a database, or a damaged page, only
// when it first reads; say which file and that it is damaged.
Error orDamaged(const Connection& conn, const Error& cause) {
  if (cause.code() != ErrorCode::kCorrupt) return cause;
  // Called right after the failure, so the connection still holds SQLite's
  // own words for it ("file is not a database").
  return Error(ErrorCode::kCorrupt,
               fmt::format("database {} is damaged or is not a SQLite database: {}", conn.path(),
                           conn.lastErrorMessage()));
}

Result<std::vector<std::string>> tableNames(Connection& conn) {
  auto s = conn.cached("SELECT name FROM sqlite_master WHERE type = 'table'");
  if (!s.ok()) return orDamaged(conn, s.error());
  std::vector<std::string> names;
  while (true) {
    auto more = (*s)->next();
    if (!more.ok()) return orDamaged(conn, more.error());
    if (!*more) return names;
    names.push_back((*s)->textAt(0));
  }
}

// An identifier in double quotes, for SQL.
std::string quoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

// The cheap check made at every open, whatever the size of the file: the
// header (PRAGMA schema_version), the schema, and the first row of every
// table, which reads each table's root page and the path down to its
// first leaf (a few pages each). A damaged page elsewhere is found when a
// query reads it (kCorrupt then), or by the full check of `keel check`.
Status readEveryTableRoot(Connection& conn, const std::vector<std::string>& tables) {
  auto header = conn.queryInt64("PRAGMA schema_version");
  if (!header.ok()) return orDamaged(conn, header.error());
  for (const std::string& table : tables) {
    auto first = conn.queryInt64(fmt::format("SELECT 1 FROM {} LIMIT 1", quoteIdentifier(table)));
    if (!first.ok()) {
      Error e = orDamaged(conn, first.error());
      if (e.code() != ErrorCode::kCorrupt) return e;
      return Error(ErrorCode::kCorrupt,
                   fmt::format("database {} is damaged (table {}): {}; run keel check --db {} "
                               "for every problem",
                               conn.path(), table, conn.lastErrorMessage(), conn.path()));
    }
  }
  return okStatus();
}

}  // namespace

Result<int64_t> readStepPosCounter(Connection& conn) {
  // A counter row always exists from schema 3 on; the fallback only
  // guards against a hand-edited file (and then costs one scan).
  return conn.queryInt64(
      "SELECT COALESCE((SELECT value FROM keel_counters WHERE name = 'step_pos'), "
      "(SELECT COALESCE(MAX(pos), 0) FROM steps))");
}

Result<int> inspectDatabase(Connection& conn) {
  auto names = tableNames(conn);
  if (!names.ok()) return names.error();
  if (names->empty()) return 0;  // new or empty: ours to create
  KEEL_TRY(readEveryTableRoot(conn, *names));
  if (std::find(names->begin(), names->end(), "keel_schema") == names->end()) {
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("{} is not a keel database", conn.path()));
  }
  auto version = conn.queryInt64("SELECT COALESCE(MAX(version), 0) FROM keel_schema");
  if (!version.ok()) return orDamaged(conn, version.error());
  int64_t found = *version;
  if (found <= 0) {
    return Error(
        ErrorCode::kFailedPrecondition,
        fmt::format("{} is not a keel database (keel_schema holds no version)", conn.path()));
  }
  if (found > kSchemaVersion) {
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("database {} was written by a newer keel (schema {}, this keel "
                             "knows up to {}); upgrade keel",
                             conn.path(), found, kSchemaVersion));
  }
  return static_cast<int>(found);
}

Status migrate(Connection& conn, int fromVersion) {
  for (const Migration& m : kMigrations) {
    if (m.version <= fromVersion) continue;
    Status s = conn.beginImmediate();
    if (s.ok()) s = conn.exec(m.sql);
    if (s.ok()) {
      s = conn.exec(fmt::format(
          "DELETE FROM keel_schema; INSERT INTO keel_schema (version) VALUES ({});", m.version));
    }
    if (s.ok()) s = conn.commit();
    if (!s.ok()) {
      conn.rollback();
      return Error(s.error().code(), fmt::format("cannot migrate {} to schema {}: {}", conn.path(),
                                                 m.version, s.error().message()));
    }
  }
  return okStatus();
}

}  // namespace keel::store::sqlite
