// Store: keel's durable record.
//
// The engine keeps live state in memory and writes every transition here as
// a Batch of upserts and appends; apply() commits a whole batch in one
// transaction and returns only once it is durable (group commit: the
// engine sends everything that accumulated while the previous commit was
// in flight as one batch). The reads serve the API and recovery.
//
// Implementations: SQLite (sqlite/, one node) and, later, PostgreSQL
// (several nodes). Runs are owned by one node at a time through a lease:
// claimRuns() hands a node the active runs it may execute (on SQLite, all
// of them; on PostgreSQL, those unowned or whose lease lapsed, with
// FOR UPDATE SKIP LOCKED) and renewLeases() keeps them.
//
// Threads: apply(), putWorkflow() and claimRuns() are called by one writer
// at a time; every read and health() may be called from any thread
// concurrently.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "audit/entry.h"
#include "core/result.h"
#include "store/records.h"

namespace keel::store {

// Upserts replace the whole row identified by its key; a run's workflow and
// idempotency key are kept as first written (they never change).
struct PutRun {
  RunRow row;
};
struct PutStep {
  StepRow row;
};
struct PutAttempt {
  AttemptRow row;
};
struct AppendEvent {
  EventRow row;
};
struct PutLog {
  LogRow row;
};
// Inserts an event received on a topic; a second row with the same
// (topic, id) fails the batch with kAlreadyExists.
struct PutInboundEvent {
  InboundEventRow row;
};
// Upserts where a cron trigger stands, keyed by (workflow, trigger).
struct PutScheduleState {
  ScheduleStateRow row;
};
// Upserts a file arrival, keyed by (workflow, key).
struct PutFileArrival {
  FileArrivalRow row;
};
// Deletes the file arrivals of a workflow's trigger recorded for `paths`
// (files no longer in the watched directory).
struct PruneFileArrivals {
  std::string workflow;
  int trigger = 0;
  std::vector<std::string> paths;
};
// Inserts an event into the outbox unless its id is there already (the
// first row is kept: an end written again emits nothing new).
struct PutOutboxEvent {
  OutboxEventRow row;
};
// Marks an outbox event delivered to the event triggers (a no-op if it is
// not pending), in the batch that records its delivery.
struct MarkOutboxDelivered {
  std::string id;
  WallTime at;
};
// Upserts a webhook delivery, keyed by (subscription, event seq).
struct PutWebhookDelivery {
  WebhookDeliveryRow row;
};
// Upserts what an operator set on a workflow, keyed by its name.
struct PutWorkflowControl {
  WorkflowControlRow row;
};
// Appends an entry to the audit log (audit/entry.h) in the transaction of
// the change it records. The writer seals it (seq, previous hash, hash)
// from the chain head it keeps; the seq and hash given are ignored. The
// head moves only when the transaction commits.
struct AppendAudit {
  audit::Entry entry;
};
// Inserts a notification unless its id is there already (the first row is
// kept: the same escalation written twice notifies once). Put it in the
// batch of the change that causes it.
struct PutNotification {
  NotificationRow row;
};
// Records an attempt at a notification: state, attempts, nextAt,
// lastStatus, lastError and updatedAt of the row with this id.
struct UpdateNotification {
  NotificationRow row;
};
// Upserts an incident (incidents/incident.h) keyed by its id, with its
// action items; adds the runs and timeline entries not stored yet (by
// position), so it is written in the batch of the symptom or call.
struct PutIncident {
  incidents::Incident row;
};
using Mutation = std::variant<PutRun, PutStep, PutAttempt, AppendEvent, PutLog, PutInboundEvent,
                              PutScheduleState, PutFileArrival, PruneFileArrivals, PutOutboxEvent,
                              MarkOutboxDelivered, PutWebhookDelivery, PutWorkflowControl,
                              AppendAudit, PutNotification, UpdateNotification, PutIncident>;

struct Batch {
  std::vector<Mutation> mutations;
  bool empty() const { return mutations.empty(); }
};

// Retention while keel serves: which finished runs (succeeded, failed,
// cancelled) are old enough to delete. A run of a workflow named in
// `workflowCutoffs` goes once it finished before that cutoff; a run of any
// other workflow once it finished before `defaultCutoff` (none: it stays).
// What one transaction of retention or `keel gc` deleted, by workflow: the
// runs, and the cutoff they finished before.
struct DeletedRuns {
  std::string workflow;
  int64_t runs = 0;
  WallTime cutoff;
};
// Makes the audit entry of one deletion transaction from what it deleted
// (by workflow name); called inside that transaction, before its COMMIT,
// only when it deleted runs. The store seals and appends the entry, so it
// exists exactly when the deletion does.
using DeletionAudit = std::function<audit::Entry(const std::vector<DeletedRuns>&)>;

struct RetentionPolicy {
  std::optional<WallTime> defaultCutoff;
  std::map<std::string, WallTime> workflowCutoffs;
  int runsPerTransaction = 100;
  // Asked before each transaction; true ends the pass there (shutdown).
  std::function<bool()> stopRequested;
  // Empty: no audit entry.
  DeletionAudit audit;
  // Also delete the emitted events of deleted runs that are delivered
  // everywhere, with their webhook deliveries: a walk of the whole outbox,
  // so the caller asks for it less often than for runs.
  bool outbox = true;
};
struct RetentionResult {
  int64_t runs = 0;               // deleted
  int64_t events = 0;             // inbound events deleted
  int64_t outboxEvents = 0;       // emitted events of deleted runs, delivered everywhere
  int64_t webhookDeliveries = 0;  // their delivered webhook deliveries
  int64_t transactions = 0;       // that deleted at least one run
};

// Which audit entries to list, newest first.
struct AuditFilter {
  std::optional<WallTime> since;  // only entries at or after
  std::string actor;              // empty = all; else exactly this actor
  std::string target;             // empty = all; else exactly this target
  int limit = 100;                // 1..1001
  int64_t beforeSeq = 0;          // cursor: only seq < beforeSeq (0: from the newest)
};

struct StoreOptions {
  std::string nodeId = "local";
  // false only for benchmarks that measure the cost of durability itself.
  bool synchronousFull = true;
};

class Store {
 public:
  virtual ~Store() = default;

  // --- writes (one writer) ---
  // Commits every mutation in one transaction; durable on return. A PutRun
  // whose (workflow, idempotency key) is taken by another run fails with
  // kAlreadyExists and nothing of the batch is written.
  virtual Status apply(const Batch& batch) = 0;
  // Stores a new version of a workflow unless the latest version has the
  // same sha256, in which case that version is returned unchanged. With
  // `audit`, its entry is appended in the transaction of the new version
  // (none when nothing changed); an entry without detail gets
  // {"workflow", "version"} of the version stored. The writer's turn, like apply().
  // (Default arguments here belong to these declarations only:
  // implementations do not repeat them, and callers go through Store.)
  virtual Result<WorkflowVersionRow> putWorkflow(const WorkflowVersionRow& row,
                                                 const audit::Entry* audit = nullptr) = 0;
  // Active (non-terminal) runs this node may execute, oldest first.
  virtual Result<std::vector<ActiveRun>> claimRuns() = 0;
  virtual Status renewLeases() = 0;
  // API tokens (with `audit`: its entry is appended in the same
  // transaction, when something changed). putToken fails with kAlreadyExists if the name is taken
  // (revoked or not); revokeToken with kNotFound if there is no such token,
  // with kConflict if it is the last live admin token (nobody could use the
  // API any more), and is a no-op on one already revoked. Both are durable on return and
  // may be called from any thread (they take the writer's turn).
  virtual Status putToken(const TokenRow& row, const audit::Entry* audit = nullptr) = 0;
  virtual Result<TokenRow> revokeToken(const std::string& name, WallTime at,
                                       const audit::Entry* audit = nullptr) = 0;
  // Deletes the finished runs `policy` says are expired, with their steps,
  // attempts, events and logs, at most policy.runsPerTransaction runs per
  // transaction. Each transaction takes the writer's turn on its own and
  // gives it back before the next, so apply() waits for one small
  // transaction at most; finding the runs happens outside the writer's
  // turn. An active run is never deleted (each run's state is checked again
  // in the transaction that deletes it). May be called from any thread.
  // Inbound events go too, in a last transaction: an event whose runs have
  // all been deleted, and an event that started no run once it was
  // received before policy.defaultCutoff. An event with a run left stays.
  // On error, what earlier transactions deleted stays deleted. A store
  // without retention keeps this default (kUnimplemented).
  virtual Result<RetentionResult> deleteExpiredRuns(const RetentionPolicy& /*policy*/) {
    return Error(ErrorCode::kUnimplemented, "this store cannot delete expired runs");
  }

  // --- reads (any thread) ---
  virtual Result<std::optional<WorkflowVersionRow>> getWorkflow(const std::string& name,
                                                                int version) = 0;  // 0 = latest
  virtual Result<std::vector<WorkflowVersionRow>> listWorkflows() = 0;             // latest of each
  virtual Result<std::vector<WorkflowVersionRow>> workflowVersions(const std::string& name) = 0;
  virtual Result<std::optional<RunRow>> findRunByIdempotencyKey(const std::string& workflow,
                                                                const std::string& key) = 0;
  virtual Result<std::optional<RunDetail>> getRun(const std::string& id) = 0;
  virtual Result<std::vector<RunRow>> listRuns(const RunFilter& filter) = 0;
  virtual Result<std::vector<EventRow>> runEvents(const std::string& runId) = 0;
  // The logs of every attempt of a step, by attempt number; with `attempt`,
  // only that attempt's (none if it has no logs), read without touching the
  // others. (The default argument belongs to this declaration only:
  // implementations do not repeat it, and callers go through Store.)
  virtual Result<std::vector<LogRow>> stepLogs(const std::string& runId, const std::string& step,
                                               std::optional<int> attempt = std::nullopt) = 0;
  // The event received on `topic` with `id`, if it is still kept. A store
  // without inbound events keeps this default (kUnimplemented).
  virtual Result<std::optional<InboundEventRow>> findInboundEvent(const std::string& /*topic*/,
                                                                  const std::string& /*id*/) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no inbound events");
  }
  // Where every cron trigger stands, by workflow then trigger. A store
  // without schedules keeps this default (kUnimplemented).
  virtual Result<std::vector<ScheduleStateRow>> listScheduleStates() {
    return Error(ErrorCode::kUnimplemented, "this store keeps no schedule state");
  }
  // What operators set on workflows (paused, disabled), by name. A store
  // without them keeps this default (kUnimplemented).
  virtual Result<std::vector<WorkflowControlRow>> listWorkflowControls() {
    return Error(ErrorCode::kUnimplemented, "this store keeps no workflow controls");
  }
  // The arrival a file trigger of `workflow` recorded under `key`, and
  // every arrival of one trigger (by path). A store without file arrivals
  // keeps these defaults (kUnimplemented).
  virtual Result<std::optional<FileArrivalRow>> findFileArrival(const std::string& /*workflow*/,
                                                                const std::string& /*key*/) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no file arrivals");
  }
  virtual Result<std::vector<FileArrivalRow>> listFileArrivals(const std::string& /*workflow*/,
                                                               int /*trigger*/) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no file arrivals");
  }
  // Outbox events still to deliver (state "pending"), in the order they
  // were emitted (seq), at most `limit`, those with seq > `afterSeq` only.
  // A store without an outbox keeps this default (kUnimplemented).
  virtual Result<std::vector<OutboxEventRow>> pendingOutbox(int64_t /*afterSeq*/, int /*limit*/) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no outbox");
  }
  // The outbox event with this id, if any.
  virtual Result<std::optional<OutboxEventRow>> findOutboxEvent(const std::string& /*id*/) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no outbox");
  }
  // --- webhook subscriptions (a store without them keeps these defaults,
  // kUnimplemented) ---
  // Stores a new version of a subscription unless the latest has the same
  // sha256 (then that one is returned unchanged). The store sets version,
  // and fromSeq: the outbox's last seq now, or the previous version's when
  // the topic is the same. Durable on return; any thread (the writer's turn).
  // With `audit`, its entry is appended in the transaction of a new version.
  virtual Result<SubscriptionRow> putSubscription(const SubscriptionRow& /*row*/,
                                                  const audit::Entry* /*audit*/ = nullptr) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no subscriptions");
  }
  // The latest version of each subscription, by name.
  virtual Result<std::vector<SubscriptionRow>> listSubscriptions() {
    return Error(ErrorCode::kUnimplemented, "this store keeps no subscriptions");
  }
  // Outbox events on `topic` with seq > afterSeq, by seq, at most `limit`
  // (those whose payload failed are left out).
  virtual Result<std::vector<OutboxEventRow>> outboxOnTopic(const std::string& /*topic*/,
                                                            int64_t /*afterSeq*/, int /*limit*/) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no outbox");
  }
  // The deliveries of one subscription: the highest event seq recorded
  // (0: none), and the first pending one by seq.
  virtual Result<int64_t> lastWebhookSeq(const std::string& /*subscription*/) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no subscriptions");
  }
  virtual Result<std::optional<WebhookDeliveryRow>> firstPendingWebhook(
      const std::string& /*subscription*/) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no subscriptions");
  }
  // Deliveries in `state`, newest first, at most `limit`.
  virtual Result<std::vector<WebhookDeliveryRow>> listWebhookDeliveries(
      const std::string& /*state*/, int /*limit*/) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no subscriptions");
  }
  virtual Result<int64_t> countWebhookDeliveries(const std::string& /*state*/) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no subscriptions");
  }
  // Every dead delivery of event `eventId` (or, when eventId is empty, on
  // `topic`) becomes pending with no attempt made, due at `at`; the count.
  // Durable on return; any thread (the writer's turn). With `audit`, its
  // entry is appended in the same transaction.
  virtual Result<int64_t> redeliverDead(const std::string& /*eventId*/,
                                        const std::string& /*topic*/, WallTime /*at*/,
                                        const audit::Entry* /*audit*/ = nullptr) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no subscriptions");
  }
  // --- the audit log (a store without one keeps these defaults,
  // kUnimplemented) ---
  // The chain head as of the last commit (0 and audit::kGenesisHash when
  // empty). Cheap: kept in memory.
  virtual Result<audit::Head> auditHead() {
    return Error(ErrorCode::kUnimplemented, "this store keeps no audit log");
  }
  // Entries matching `filter`, newest first.
  virtual Result<std::vector<audit::Entry>> listAudit(const AuditFilter& /*filter*/) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no audit log");
  }
  // Entries with seq > afterSeq, by seq, at most `limit`: a page of a full
  // scan for audit::verify.
  virtual Result<std::vector<audit::Entry>> auditEntries(int64_t /*afterSeq*/, int /*limit*/) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no audit log");
  }
  // --- notification channels and notifications (a store without them
  // keeps these defaults, kUnimplemented) ---
  // Stores a new version of a channel unless the latest has the same sha256
  // (then that one is returned). Durable on return; any thread. With
  // `audit`, its entry is appended in the same transaction (only when a new
  // version is stored).
  virtual Result<ChannelRow> putChannel(const ChannelRow& /*row*/,
                                        const audit::Entry* /*audit*/ = nullptr) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no channels");
  }
  // The latest version of each channel, by name.
  virtual Result<std::vector<ChannelRow>> listChannels() {
    return Error(ErrorCode::kUnimplemented, "this store keeps no channels");
  }
  // Pending notifications due at or before `now`, oldest first, at most
  // `limit`; and the earliest nextAt of those not yet due (none: none wait).
  virtual Result<std::vector<NotificationRow>> dueNotifications(WallTime /*now*/, int /*limit*/) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no notifications");
  }
  virtual Result<std::optional<WallTime>> nextNotificationAt() {
    return Error(ErrorCode::kUnimplemented, "this store keeps no notifications");
  }
  // Notifications in `state` (empty: all), newest first, at most `limit`.
  virtual Result<std::vector<NotificationRow>> listNotifications(const std::string& /*state*/,
                                                                 int /*limit*/) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no notifications");
  }
  virtual Result<std::optional<NotificationRow>> findNotification(const std::string& /*id*/) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no notifications");
  }
  virtual Result<int64_t> countNotifications(const std::string& /*state*/) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no notifications");
  }
  // The dead notification `id` (empty: every dead one) becomes pending with
  // no attempt made, due at `at`; the count. Durable on return; any thread.
  // With `audit`, its entry is appended in the same transaction (only when
  // a notification changed).
  virtual Result<int64_t> redeliverDeadNotifications(const std::string& /*id*/, WallTime /*at*/,
                                                     const audit::Entry* /*audit*/ = nullptr) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no notifications");
  }
  // Incidents (newest first) with their runs, timeline and action items;
  // one by id. A store without incidents keeps these defaults.
  virtual Result<std::vector<incidents::Incident>> listIncidents(const IncidentFilter& /*f*/) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no incidents");
  }
  virtual Result<std::optional<incidents::Incident>> getIncident(const std::string& /*id*/) {
    return Error(ErrorCode::kUnimplemented, "this store keeps no incidents");
  }
  virtual Result<std::vector<TokenRow>> listTokens() = 0;  // by name, revoked included
  virtual Result<std::optional<TokenRow>> findTokenByHash(const std::string& hash) = 0;
  // "ok", or what PRAGMA integrity_check (or the server's equivalent) reports.
  virtual Result<std::string> integrityCheck() = 0;

  // --- health (any thread, cheap: a few system calls, no query) ---
  // ok while what the store writes reaches its durable record; otherwise
  // kUnavailable saying why, for operators (e.g. the SQLite file was
  // deleted or replaced under the running store). While it is not ok, the
  // writes fail with the same error. A store with nothing to check keeps
  // this default.
  virtual Status health() { return okStatus(); }
};

}  // namespace keel::store
