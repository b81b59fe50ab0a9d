#include "store/sqlite/sqlite_store.h"

#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "store/sqlite/audit_log.h"
#include "store/sqlite/channels.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/file_arrivals.h"
#include "store/sqlite/file_lock.h"
#include "store/sqlite/gc.h"
#include "store/sqlite/inbound_events.h"
#include "store/sqlite/incidents.h"
#include "store/sqlite/outbox.h"
#include "store/sqlite/outbox_retention.h"
#include "store/sqlite/read_pool.h"
#include "store/sqlite/reads.h"
#include "store/sqlite/retention.h"
#include "store/sqlite/schedule_states.h"
#include "store/sqlite/schema.h"
#include "store/sqlite/subscriptions.h"
#include "store/sqlite/tokens.h"
#include "store/sqlite/workflow_controls.h"
#include "store/sqlite/writer.h"

namespace keel::store {

namespace {

using sqlite::Connection;

constexpr int kBusyTimeoutMs = 5000;
constexpr size_t kReadConnections = 4;
// Live tokens kept in memory (findTokenByHash); there are seldom more than
// a few dozen.
constexpr size_t kTokensKept = 1024;
// Outbox events looked at per retention transaction.
constexpr size_t kOutboxPerTransaction = 500;

class SqliteStore final : public Store {
 public:
  SqliteStore(std::unique_ptr<sqlite::FileLock> lock, std::unique_ptr<Connection> conn,
              const StoreOptions& options, int64_t lastStepPos, audit::Head auditHead)
      : lock_(std::move(lock)),
        conn_(std::move(conn)),
        readers_(conn_->path(), kReadConnections, kBusyTimeoutMs),
        writer_(*conn_, options.nodeId, lastStepPos, auditHead),
        head_(std::move(auditHead)) {}

  // Each write checks, after its commit, that the path still names the
  // file it went to: a commit into a deleted or replaced file is lost, so
  // it must not be reported durable. The check is one stat, a few
  // microseconds beside the commit's fsync.
  Status apply(const Batch& batch) override {
    std::lock_guard lock(writeMu_);
    return checked([&] { return writer_.apply(batch); });
  }
  Result<WorkflowVersionRow> putWorkflow(const WorkflowVersionRow& row,
                                         const audit::Entry* audit) override {
    std::lock_guard lock(writeMu_);
    return checked([&] { return writer_.putWorkflow(row, audit); });
  }
  Result<std::vector<ActiveRun>> claimRuns() override {
    std::lock_guard lock(writeMu_);
    return checked([&] { return writer_.claimRuns(); });
  }
  Status health() override { return lock_->checkPath(); }
  // Nothing to renew: one node owns the whole file through its lock
  // for as long as the process lives, and the kernel releases that lock
  // when the process dies. Leases matter only when nodes share a database.
  Status renewLeases() override { return okStatus(); }
  Status putToken(const TokenRow& row, const audit::Entry* audit) override {
    std::lock_guard lock(writeMu_);
    Status put = audited(audit, [&](const sqlite::BeforeCommit& hook) {
      return sqlite::insertToken(*conn_, row, hook);
    });
    forgetTokens();
    return put;
  }
  Result<TokenRow> revokeToken(const std::string& name, WallTime at,
                               const audit::Entry* audit) override {
    std::lock_guard lock(writeMu_);
    auto revoked = audited(audit, [&](const sqlite::BeforeCommit& hook) {
      return sqlite::markTokenRevoked(*conn_, name, at, hook);
    });
    forgetTokens();
    return revoked;
  }
  // Finds a batch on a read connection, deletes it in the writer's turn,
  // gives the turn back, and again until the walk is over: the engine's
  // commits wait for one small transaction at most.
  Result<RetentionResult> deleteExpiredRuns(const RetentionPolicy& policy) override {
    if (policy.runsPerTransaction < 1) {
      return Error(ErrorCode::kInvalidArgument, "runs per transaction must be at least 1");
    }
    sqlite::ExpiredRunScan scan(policy);
    RetentionResult total;
    while (true) {
      if (policy.stopRequested && policy.stopRequested()) return total;
      auto batch = read([&](Connection& c) {
        return scan.next(c, static_cast<size_t>(policy.runsPerTransaction));
      });
      if (!batch.ok()) return batch.error();
      if (batch->empty()) break;
      auto deleted = [&] {
        std::lock_guard lock(writeMu_);
        // The entry is made inside the transaction, from what it deleted,
        // and sealed on the chain like any other before its COMMIT.
        audit::Entry entry;
        sqlite::BeforeCommit stage =
            policy.audit ? writer_.auditHook(&entry) : sqlite::BeforeCommit{};
        return checked([&] {
          auto n = sqlite::deleteExpiredBatch(*conn_, *batch,
                                              [&](const std::vector<DeletedRuns>& what) -> Status {
                                                if (!stage) return okStatus();
                                                entry = policy.audit(what);
                                                return stage();
                                              });
          if (policy.audit) writer_.endAudit(n.ok());
          return n;
        });
      }();
      if (!deleted.ok()) return deleted.error();
      if (*deleted > 0) ++total.transactions;
      total.runs += *deleted;
      std::this_thread::yield();  // let a waiting commit take the turn first
    }
    // The events whose runs are all gone now, in one small transaction.
    auto events = [&] {
      std::lock_guard lock(writeMu_);
      return checked(
          [&] { return sqlite::deleteExpiredInboundEvents(*conn_, policy.defaultCutoff); });
    }();
    if (!events.ok()) return events.error();
    total.events = *events;
    if (*events > 0) ++total.transactions;
    // The events the deleted runs emitted, once delivered everywhere, and
    // their webhook deliveries: found on a read connection, deleted a
    // batch per write transaction.
    sqlite::SettledOutboxScan outbox;
    while (policy.outbox) {
      if (policy.stopRequested && policy.stopRequested()) return total;
      auto settled = read([&](Connection& c) { return outbox.next(c, kOutboxPerTransaction); });
      if (!settled.ok()) return settled.error();
      if (settled->empty()) break;
      auto deleted = [&] {
        std::lock_guard lock(writeMu_);
        return checked([&] { return sqlite::deleteSettledOutbox(*conn_, *settled); });
      }();
      if (!deleted.ok()) return deleted.error();
      total.outboxEvents += deleted->events;
      total.webhookDeliveries += deleted->deliveries;
      std::this_thread::yield();
    }
    return total;
  }

  Result<std::optional<WorkflowVersionRow>> getWorkflow(const std::string& name,
                                                        int version) override {
    return read([&](Connection& c) { return sqlite::selectWorkflow(c, name, version); });
  }
  Result<std::vector<WorkflowVersionRow>> listWorkflows() override {
    return read([&](Connection& c) { return sqlite::selectLatestWorkflows(c); });
  }
  Result<std::vector<WorkflowVersionRow>> workflowVersions(const std::string& name) override {
    return read([&](Connection& c) { return sqlite::selectWorkflowVersions(c, name); });
  }
  Result<std::optional<RunRow>> findRunByIdempotencyKey(const std::string& workflow,
                                                        const std::string& key) override {
    return read([&](Connection& c) { return sqlite::selectRunByIdempotencyKey(c, workflow, key); });
  }
  Result<std::optional<RunDetail>> getRun(const std::string& id) override {
    return read([&](Connection& c) { return sqlite::selectRunDetail(c, id); });
  }
  Result<std::vector<RunRow>> listRuns(const RunFilter& filter) override {
    return read([&](Connection& c) { return sqlite::selectRuns(c, filter); });
  }
  Result<std::vector<EventRow>> runEvents(const std::string& runId) override {
    return read([&](Connection& c) { return sqlite::selectEvents(c, runId); });
  }
  Result<std::vector<LogRow>> stepLogs(const std::string& runId, const std::string& step,
                                       std::optional<int> attempt) override {
    return read([&](Connection& c) { return sqlite::selectLogs(c, runId, step, attempt); });
  }
  Result<std::optional<InboundEventRow>> findInboundEvent(const std::string& topic,
                                                          const std::string& id) override {
    return read([&](Connection& c) { return sqlite::selectInboundEvent(c, topic, id); });
  }
  Result<std::vector<OutboxEventRow>> pendingOutbox(int64_t afterSeq, int limit) override {
    return read([&](Connection& c) { return sqlite::selectPendingOutbox(c, afterSeq, limit); });
  }
  Result<SubscriptionRow> putSubscription(const SubscriptionRow& row,
                                          const audit::Entry* audit) override {
    std::lock_guard lock(writeMu_);
    return checked([&] {
      return audited(audit, [&](const sqlite::BeforeCommit& hook) {
        return sqlite::insertSubscription(*conn_, row, hook);
      });
    });
  }
  Result<std::vector<SubscriptionRow>> listSubscriptions() override {
    return read([&](Connection& c) { return sqlite::selectSubscriptions(c); });
  }
  Result<std::vector<OutboxEventRow>> outboxOnTopic(const std::string& topic, int64_t afterSeq,
                                                    int limit) override {
    return read(
        [&](Connection& c) { return sqlite::selectOutboxOnTopic(c, topic, afterSeq, limit); });
  }
  Result<int64_t> lastWebhookSeq(const std::string& subscription) override {
    return read([&](Connection& c) { return sqlite::selectLastWebhookSeq(c, subscription); });
  }
  Result<std::optional<WebhookDeliveryRow>> firstPendingWebhook(
      const std::string& subscription) override {
    return read([&](Connection& c) { return sqlite::selectFirstPendingWebhook(c, subscription); });
  }
  Result<std::vector<WebhookDeliveryRow>> listWebhookDeliveries(const std::string& state,
                                                                int limit) override {
    return read([&](Connection& c) { return sqlite::selectWebhookDeliveries(c, state, limit); });
  }
  Result<int64_t> countWebhookDeliveries(const std::string& state) override {
    return read([&](Connection& c) { return sqlite::countWebhookDeliveriesIn(c, state); });
  }
  Result<int64_t> redeliverDead(const std::string& eventId, const std::string& topic, WallTime at,
                                const audit::Entry* audit) override {
    std::lock_guard lock(writeMu_);
    return checked([&] {
      return audited(audit, [&](const sqlite::BeforeCommit& hook) {
        return sqlite::redeliverDeadWebhooks(*conn_, eventId, topic, at, hook);
      });
    });
  }
  Result<ChannelRow> putChannel(const ChannelRow& row, const audit::Entry* audit) override {
    std::lock_guard lock(writeMu_);
    return checked([&] {
      return audited(audit, [&](const sqlite::BeforeCommit& hook) {
        return sqlite::insertChannel(*conn_, row, hook);
      });
    });
  }
  Result<std::vector<ChannelRow>> listChannels() override {
    return read([&](Connection& c) { return sqlite::selectChannels(c); });
  }
  Result<std::vector<NotificationRow>> dueNotifications(WallTime now, int limit) override {
    return read([&](Connection& c) { return sqlite::selectDueNotifications(c, now, limit); });
  }
  Result<std::optional<WallTime>> nextNotificationAt() override {
    return read([&](Connection& c) { return sqlite::selectNextNotificationAt(c); });
  }
  Result<std::vector<NotificationRow>> listNotifications(const std::string& state,
                                                         int limit) override {
    return read([&](Connection& c) { return sqlite::selectNotifications(c, state, limit); });
  }
  Result<std::optional<NotificationRow>> findNotification(const std::string& id) override {
    return read([&](Connection& c) { return sqlite::selectNotification(c, id); });
  }
  Result<int64_t> countNotifications(const std::string& state) override {
    return read([&](Connection& c) { return sqlite::countNotificationsIn(c, state); });
  }
  Result<int64_t> redeliverDeadNotifications(const std::string& id, WallTime at,
                                             const audit::Entry* audit) override {
    std::lock_guard lock(writeMu_);
    return checked([&] {
      return audited(audit, [&](const sqlite::BeforeCommit& hook) {
        return sqlite::redeliverDeadNotifications(*conn_, id, at, hook);
      });
    });
  }
  Result<std::optional<OutboxEventRow>> findOutboxEvent(const std::string& id) override {
    return read([&](Connection& c) { return sqlite::selectOutboxEvent(c, id); });
  }
  Result<std::vector<incidents::Incident>> listIncidents(const IncidentFilter& f) override {
    return read([&](Connection& c) { return sqlite::selectIncidents(c, f); });
  }
  Result<std::optional<incidents::Incident>> getIncident(const std::string& id) override {
    return read([&](Connection& c) { return sqlite::selectIncident(c, id); });
  }
  Result<std::vector<WorkflowControlRow>> listWorkflowControls() override {
    return read([&](Connection& c) { return sqlite::selectWorkflowControls(c); });
  }
  Result<std::vector<ScheduleStateRow>> listScheduleStates() override {
    return read([&](Connection& c) { return sqlite::selectScheduleStates(c); });
  }
  Result<std::optional<FileArrivalRow>> findFileArrival(const std::string& workflow,
                                                        const std::string& key) override {
    return read([&](Connection& c) { return sqlite::selectFileArrival(c, workflow, key); });
  }
  Result<std::vector<FileArrivalRow>> listFileArrivals(const std::string& workflow,
                                                       int trigger) override {
    return read([&](Connection& c) { return sqlite::selectFileArrivals(c, workflow, trigger); });
  }
  // Copied from the writer after each write, under a lock of its own, so
  // reading it (for /metrics) never waits for a commit.
  Result<audit::Head> auditHead() override {
    std::lock_guard lock(headMu_);
    return head_;
  }
  Result<std::vector<audit::Entry>> listAudit(const AuditFilter& filter) override {
    return read([&](Connection& c) { return sqlite::selectAudit(c, filter); });
  }
  Result<std::vector<audit::Entry>> auditEntries(int64_t afterSeq, int limit) override {
    return read([&](Connection& c) { return sqlite::selectAuditRange(c, afterSeq, limit); });
  }
  Result<std::vector<TokenRow>> listTokens() override {
    return read([&](Connection& c) { return sqlite::selectTokens(c); });
  }
  // Every request looks its token up, so the live tokens found are kept in
  // memory. Only this process writes the file (it holds its lock), and
  // putToken and revokeToken forget them all once their transaction has
  // ended: a revoked token is refused from the moment its revocation is
  // answered. A lookup that raced with one of them is not kept (the
  // generation moved), and unknown secrets are never kept, so guessing
  // cannot fill the memory.
  Result<std::optional<TokenRow>> findTokenByHash(const std::string& hash) override {
    uint64_t generation;
    {
      std::lock_guard lock(tokensMu_);
      if (auto it = tokens_.find(hash); it != tokens_.end()) return std::optional(it->second);
      generation = tokensGeneration_;
    }
    auto row = read([&](Connection& c) { return sqlite::selectTokenByHash(c, hash); });
    if (row.ok() && *row && !(*row)->revokedAt) {
      std::lock_guard lock(tokensMu_);
      if (generation == tokensGeneration_ && tokens_.size() < kTokensKept)
        tokens_.emplace(hash, **row);
    }
    return row;
  }
  Result<std::string> integrityCheck() override {
    return read([&](Connection& c) { return sqlite::selectIntegrityCheck(c); });
  }

 private:
  // A write transaction of its own (tokens, subscriptions) that appends
  // `audit` before its COMMIT; the chain head moves only if it committed.
  // Called with writeMu_ held.
  template <typename Write>
  auto audited(const audit::Entry* audit, Write write)
      -> decltype(write(std::declval<const sqlite::BeforeCommit&>())) {
    sqlite::BeforeCommit hook = writer_.auditHook(audit);
    auto result = write(hook);
    writer_.endAudit(result.ok());
    publishHead();
    return result;
  }

  template <typename Write>
  auto checked(Write write) -> decltype(write()) {
    auto result = write();
    publishHead();
    if (Status after = lock_->checkPath(); !after.ok()) return after.error();
    return result;
  }

  template <typename Query>
  auto read(Query query) -> decltype(query(std::declval<Connection&>())) {
    auto conn = readers_.acquire();
    if (!conn.ok()) return conn.error();
    return query(**conn);
  }

  void publishHead() {
    std::lock_guard lock(headMu_);
    head_ = writer_.auditHead();
  }

  void forgetTokens() {
    std::lock_guard lock(tokensMu_);
    ++tokensGeneration_;
    tokens_.clear();
  }

  // Declared first so it is released last, after every connection closed.
  std::unique_ptr<sqlite::FileLock> lock_;
  std::unique_ptr<Connection> conn_;  // the writer's
  sqlite::ReadPool readers_;
  std::mutex writeMu_;
  sqlite::Writer writer_;  // guarded by writeMu_
  std::mutex headMu_;
  audit::Head head_;  // guarded by headMu_: the writer's, as of its last write
  std::mutex tokensMu_;
  std::unordered_map<std::string, TokenRow> tokens_;  // by hash; guarded by tokensMu_
  uint64_t tokensGeneration_ = 0;                     // guarded by tokensMu_
};

Status configureWriter(Connection& conn, const StoreOptions& options) {
  auto mode = conn.queryText("PRAGMA journal_mode = WAL");
  if (!mode.ok()) return mode.error();
  if (*mode != "wal") {
    return Error(ErrorCode::kIo, fmt::format("cannot put database {} in WAL mode (it stays in {} "
                                             "mode)",
                                             conn.path(), *mode));
  }
  // FULL: a commit is on disk when COMMIT returns, power loss included.
  // NORMAL survives a process crash but may lose the last commits on power
  // loss; only benchmarks that measure durability's cost ask for it.
  KEEL_TRY(conn.exec(options.synchronousFull ? "PRAGMA synchronous = FULL"
                                             : "PRAGMA synchronous = NORMAL"));
  KEEL_TRY(conn.exec("PRAGMA foreign_keys = ON"));
  // 32 MiB of page cache for the writer: the indexes of active runs stay hot.
  KEEL_TRY(conn.exec("PRAGMA cache_size = -32768"));
  // Keep the WAL file from staying large after a burst.
  KEEL_TRY(conn.exec("PRAGMA journal_size_limit = 67108864"));
  return okStatus();
}

struct OpenedFile {
  std::unique_ptr<sqlite::FileLock> lock;
  std::unique_ptr<Connection> conn;  // the writer's, schema current
};

Result<OpenedFile> openWriter(const std::string& path, const StoreOptions& options) {
  auto lock = sqlite::FileLock::acquire(path);
  if (!lock.ok()) return lock.error();
  auto conn = Connection::open(path, Connection::Mode::kReadWrite, kBusyTimeoutMs);
  if (!conn.ok()) return conn.error();
  // Everything up to here only read the file; a refused file is untouched.
  auto version = sqlite::inspectDatabase(**conn);
  if (!version.ok()) return version.error();
  KEEL_TRY(configureWriter(**conn, options));
  KEEL_TRY(sqlite::migrate(**conn, *version));
  return OpenedFile{std::move(*lock), std::move(*conn)};
}

}  // namespace

Result<std::unique_ptr<Store>> openSqliteStore(const std::string& path,
                                               const StoreOptions& options) {
  auto file = openWriter(path, options);
  if (!file.ok()) return file.error();
  auto pos = sqlite::readStepPosCounter(*file->conn);
  if (!pos.ok()) return pos.error();
  auto head = sqlite::selectAuditHead(*file->conn);
  if (!head.ok()) return head.error();
  return std::unique_ptr<Store>(std::make_unique<SqliteStore>(
      std::move(file->lock), std::move(file->conn), options, *pos, std::move(*head)));
}

Result<GcResult> deleteFinishedRuns(const std::string& path, WallTime finishedBefore,
                                    int runsPerTransaction, const GcProgress& progress,
                                    const DeletionAudit& audit) {
  if (runsPerTransaction < 1) {
    return Error(ErrorCode::kInvalidArgument, "runs per transaction must be at least 1");
  }
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return Error(ErrorCode::kNotFound, fmt::format("database {} does not exist", path));
  }
  auto file = openWriter(path, StoreOptions{});
  if (!file.ok()) return file.error();
  return sqlite::deleteFinishedRunBatches(*file->conn, finishedBefore, runsPerTransaction, progress,
                                          audit);
}

}  // namespace keel::store
