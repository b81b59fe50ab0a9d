// Rows that keel stores: what the engine writes and the API reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/states.h"
#include "incidents/incident.h"

namespace keel::store {

struct WorkflowVersionRow {
  std::string name;
  int version = 0;
  std::string ns;
  std::string yaml;     // the spec exactly as applied
  std::string workdir;  // the default workdir it was applied with
  std::string sha256;   // of yaml + workdir; re-applying identical text makes no version
  WallTime createdAt;
  std::string appliedBy;  // the actor who applied it (empty: keel itself, or before schema 13)

  bool operator==(const WorkflowVersionRow&) const = default;
};

struct RunRow {
  std::string id;
  std::string workflow;
  int version = 0;
  RunState state = RunState::kPending;
  std::string paramsJson = "{}";  // object of strings
  std::string idempotencyKey;     // empty = none
  std::string concurrencyKey;     // rendered; empty = none
  std::string reason;             // why pending/waiting/failed, shown to users
  std::string waitKind;           // "concurrency" while its steps wait for its key; empty = none
  std::string waitReason;         // what that gate says, for people; empty = none
  std::string cancelReason;       // set once a cancel is requested; empty = none
  // Set while the run itself is paused (keel pause RUN): "paused by ACTOR:
  // REASON"; empty = not paused by itself (its workflow may be).
  std::string pauseReason;
  // Its compensations (engine/README.md): empty when none ran, else
  // "running", "done" or "failed".
  std::string compensation;
  // The W3C trace id (32 hex) its steps' spans and traceparents carry: the
  // triggering request's, or its own; empty for a run stored before schema
  // 15 (its trace id is then derived from its id).
  std::string traceId;
  std::string requestId;  // the X-Request-Id of the API request that created it; empty if none
  // The span (16 hex) its run span hangs under: the span of the API request
  // that created it (whose own parent is the caller's traceparent span);
  // empty for a run keel started itself (a root span) or stored before
  // schema 17.
  std::string parentSpanId;
  WallTime createdAt;
  std::optional<WallTime> startedAt;
  std::optional<WallTime> finishedAt;

  bool operator==(const RunRow&) const = default;
};

struct StepRow {
  std::string runId;
  std::string name;
  StepState state = StepState::kPending;
  int attempts = 0;        // attempts started so far
  std::string outputJson;  // empty = no output
  std::string reason;
  std::optional<WallTime> dueAt;  // retrying: when the next attempt starts; sleep: when it wakes
  // The gate holding a `ready` step back ("max_parallel", "stopping") and
  // what it says; both empty when nothing holds it.
  std::string waitKind;
  std::string waitReason;

  bool operator==(const StepRow&) const = default;
};

struct AttemptRow {
  std::string runId;
  std::string step;
  int n = 1;  // 1-based
  AttemptState state = AttemptState::kRunning;
  WallTime startedAt;
  std::optional<WallTime> finishedAt;
  std::optional<int> exitCode;
  std::optional<int> signal;
  FailureClass failureClass = FailureClass::kNone;
  std::string message;

  bool operator==(const AttemptRow&) const = default;
};

// One entry of a run's timeline. seq is assigned by the store, increasing.
struct EventRow {
  int64_t seq = 0;
  std::string runId;
  WallTime at;
  std::string kind;  // "run_created", "step_started", "attempt_failed", ...
  std::string step;  // empty for run-level events
  int attempt = 0;
  std::string message;
  // Who asked for it (RequestContext::actor()) and why; empty for what
  // keel did by itself.
  std::string actor;
  std::string reason;

  bool operator==(const EventRow&) const = default;
};

struct LogRow {
  std::string runId;
  std::string step;
  int attempt = 1;
  std::string stdoutText;  // capped: head and tail kept, a marker between
  std::string stderrText;
  int64_t stdoutBytes = 0;  // bytes the process wrote, before capping
  int64_t stderrBytes = 0;

  // stdout, then stderr from a line of its own: what an incident's log
  // tail is cut from.
  std::string joinedText() const {
    std::string text = stdoutText;
    if (!stderrText.empty()) {
      if (!text.empty() && text.back() != '\n') text += '\n';
      text += stderrText;
    }
    return text;
  }

  bool operator==(const LogRow&) const = default;
};

// Everything the engine needs to resume a run after a restart.
struct ActiveRun {
  RunRow run;
  std::vector<StepRow> steps;
  std::vector<AttemptRow> attempts;  // only the latest attempt of each step

  bool operator==(const ActiveRun&) const = default;
};

struct RunDetail {
  RunRow run;
  std::vector<StepRow> steps;
  std::vector<AttemptRow> attempts;  // all, ordered by step then n

  bool operator==(const RunDetail&) const = default;
};

// An API token. Only the SHA-256 of the secret is stored; the secret itself
// is shown once, when the token is created. A revoked token stays listed
// (its name cannot be reused) so that what it did keeps a name.
struct TokenRow {
  std::string name;
  std::string hash;  // hex SHA-256 of the secret
  std::string role;  // "admin" for now; roles per namespace come later
  WallTime createdAt;
  std::string createdBy;  // the token name that created it, or "keel serve"
  std::optional<WallTime> revokedAt;

  bool operator==(const TokenRow&) const = default;
};

// An event received on a topic (POST /api/v1/events/TOPIC), kept so that
// a second delivery of the same (topic, id) answers the runs the first one
// started instead of starting more. Written in the same batch as those runs.
struct InboundEventRow {
  std::string topic;
  std::string id;
  std::string payloadJson;  // a JSON object, compact
  WallTime receivedAt;
  std::vector<std::string> runIds;  // the runs it started, in trigger order
  // Workflows whose params could not be made from the event: a JSON array
  // of {"workflow", "message"}, "[]" when none.
  std::string errorsJson = "[]";

  bool operator==(const InboundEventRow&) const = default;
};

// Where a workflow's cron trigger stands: the last instant it fired for
// (a run started, or the fire skipped), written in the same batch as the
// run it started, so no instant at or before it ever fires again.
struct ScheduleStateRow {
  std::string workflow;
  int trigger = 0;  // its index in the workflow's `triggers:` list
  WallTime lastInstant;
  std::string lastRunId;  // the last run it started; empty if none yet
  // "started", "skipped: REASON" or "queued: REASON" for the fire at
  // lastInstant; a queued fire (overlap: queue) waits for lastRunId to end.
  std::string outcome;

  bool operator==(const ScheduleStateRow&) const = default;
};

// What an operator set on a workflow by name (the workflow_controls
// table): paused (its runs' steps hold) and disabled (its triggers start
// no run), each with who set it, when and why. Kept across versions.
struct WorkflowControlRow {
  std::string name;
  bool paused = false;
  std::string pausedBy;  // actor
  std::optional<WallTime> pausedAt;
  std::string pausedReason;
  bool disabled = false;
  std::string disabledBy;
  std::optional<WallTime> disabledAt;
  std::string disabledReason;

  bool operator==(const WorkflowControlRow&) const = default;
};

// A file a `file:` trigger fired for (the file_arrivals table): written in
// the batch of the run it started, so that a file left in its directory
// never starts a second run, even once retention has deleted the first.
struct FileArrivalRow {
  std::string workflow;
  int trigger = 0;      // its index in the workflow's `triggers:` list
  std::string key;      // the run's idempotency key (triggers::fileRunKey)
  std::string path;     // the file's path when it settled
  int64_t size = 0;     // bytes
  int64_t mtimeNs = 0;  // nanoseconds since the Unix epoch
  int64_t inode = 0;
  std::string runId;  // empty when the arrival started no run
  WallTime firedAt;
  // "started", or "skipped: REASON" (e.g. its params did not render).
  std::string outcome;

  bool operator==(const FileArrivalRow&) const = default;
};

// An event keel itself emits (a step's `emit:`, a workflow's `on_end:`),
// written to the outbox in the same batch as the step's or the run's end,
// then delivered to the workflows whose event triggers listen on its topic.
// The id is deterministic ("RUN_ID.STEP.emit", "RUN_ID.end.N"), so an end
// written again (a retried run) adds nothing: the first row is kept.
struct OutboxEventRow {
  int64_t seq = 0;  // assigned by the store on insert, increasing; 0 before
  std::string id;
  std::string topic;
  std::string payloadJson = "{}";  // a JSON object, compact
  std::string runId;               // the run that emitted it
  std::string source;              // "step NAME" or "on_end N" (1-based)
  WallTime emittedAt;
  // "pending" (to deliver), "delivered", or "failed" (its payload could not
  // be made; `error` says why, and it is never delivered).
  std::string state = "pending";
  std::string error;
  std::optional<WallTime> deliveredAt;

  bool operator==(const OutboxEventRow&) const = default;
};

// A webhook subscription (`kind: subscription`): the outbox events on
// `topic` are POSTed to `url`. `yaml` is the document as applied (the
// delivery reads its headers, retry and timeout from it). A new version
// replaces the old; `fromSeq` is the outbox seq when the subscription (or
// its topic) was first applied: only later events are delivered.
struct SubscriptionRow {
  std::string name;
  int version = 0;  // assigned by the store, 1 for the first
  std::string topic;
  std::string url;
  std::string yaml;
  std::string sha256;  // of yaml, set by the store
  WallTime createdAt;  // of this version
  int64_t fromSeq = 0;

  bool operator==(const SubscriptionRow&) const = default;
};

// One outbox event to POST to one subscription. state "pending" (waiting
// for its turn or its next attempt at `nextAt`), "delivered", or "dead"
// (every attempt failed; `keel events redeliver` makes it pending again).
struct WebhookDeliveryRow {
  std::string subscription;
  int64_t eventSeq = 0;
  std::string eventId;
  std::string topic;
  std::string state = "pending";
  int attempts = 0;    // made, in the current budget
  WallTime nextAt;     // when the next attempt may start (pending)
  int lastStatus = 0;  // HTTP status of the last attempt; 0: none came
  std::string lastError;
  WallTime updatedAt;

  bool operator==(const WebhookDeliveryRow&) const = default;
};

// A notification channel (`kind: channel`, spec/channel.h): every version
// of each is kept; `yaml` is the document as applied (the delivery reads the
// channel from it). `teams` is the list it serves, comma-separated.
struct ChannelRow {
  std::string name;
  int version = 0;  // assigned by the store, 1 for the first
  std::string type;
  std::string teams;
  bool isDefault = false;
  std::string yaml;
  std::string sha256;  // of yaml, set by the store
  WallTime createdAt;  // of this version

  bool operator==(const ChannelRow&) const = default;
};

// One notification to send to one channel. `id` is its deduplication key
// (e.g. "INCIDENT.level.1.CHANNEL", "INCIDENT.resolved.CHANNEL"): inserting an id that is
// there already does nothing. kind "escalated" or "resolved"; payload is
// the JSON the caller hands (the incident), opaque to the store. state
// "pending" (its next attempt at `nextAt`), "delivered" or "dead" (every
// attempt failed; redeliverable).
struct NotificationRow {
  std::string id;
  std::string channel;
  std::string kind = "escalated";
  std::string payloadJson = "{}";
  std::string state = "pending";
  int attempts = 0;  // made, in the current budget
  WallTime nextAt;
  int lastStatus = 0;  // HTTP status (or SMTP code) of the last attempt; 0: none
  std::string lastError;
  WallTime createdAt;
  WallTime updatedAt;

  bool operator==(const NotificationRow&) const = default;
};

struct RunFilter {
  std::string workflow;           // empty = all
  std::vector<RunState> states;   // empty = all; several = any of them
  std::optional<WallTime> since;  // only runs created at or after (by their id's time)
  int limit = 50;                 // 1..1001 (a page of up to 1000, plus one to see if more exist)
  std::string cursor;             // return runs with id < cursor (newest first)

  bool operator==(const RunFilter&) const = default;
};

// Which incidents a listing shows (newest first).
struct IncidentFilter {
  std::optional<incidents::IncidentState> state;  // none = any
  bool unresolvedOnly = false;                    // open, acknowledged or mitigated
  bool recurringOnly = false;
  std::optional<WallTime> since;  // last seen at or after
  int limit = 200;

  bool operator==(const IncidentFilter&) const = default;
};

}  // namespace keel::store
