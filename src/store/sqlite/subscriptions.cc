#include "store/sqlite/subscriptions.h"

#include <fmt/format.h>

#include "store/sqlite/row_codec.h"
#include "store/workflow_digest.h"

namespace keel::store::sqlite {

namespace {

constexpr const char* kSubColumns = "name, version, topic, url, yaml, sha256, created_at, from_seq";
constexpr const char* kDeliveryColumns =
    "subscription, event_seq, event_id, topic, state, attempts, next_at, last_status, "
    "last_error, updated_at";

SubscriptionRow readSubscription(const Statement& s) {
  SubscriptionRow row;
  row.name = s.textAt(0);
  row.version = static_cast<int>(s.int64At(1));
  row.topic = s.textAt(2);
  row.url = s.textAt(3);
  row.yaml = s.textAt(4);
  row.sha256 = s.textAt(5);
  row.createdAt = s.timeAt(6);
  row.fromSeq = s.int64At(7);
  return row;
}

WebhookDeliveryRow readDelivery(const Statement& s) {
  WebhookDeliveryRow row;
  row.subscription = s.textAt(0);
  row.eventSeq = s.int64At(1);
  row.eventId = s.textAt(2);
  row.topic = s.textAt(3);
  row.state = s.textAt(4);
  row.attempts = static_cast<int>(s.int64At(5));
  row.nextAt = s.timeAt(6);
  row.lastStatus = static_cast<int>(s.int64At(7));
  row.lastError = s.textAt(8);
  row.updatedAt = s.timeAt(9);
  return row;
}

Result<std::optional<SubscriptionRow>> latestSubscription(Connection& conn,
                                                          const std::string& name) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM subscriptions WHERE name = ?1 ORDER BY version DESC LIMIT 1", kSubColumns);
  std::vector<SubscriptionRow> rows;
  KEEL_TRY(
      selectAll(conn, sql.c_str(), readSubscription, rows, [&](Statement& s) { s.bind(1, name); }));
  if (rows.empty()) return std::optional<SubscriptionRow>();
  return std::optional<SubscriptionRow>(std::move(rows.front()));
}

}  // namespace

Result<SubscriptionRow> insertSubscription(Connection& conn, const SubscriptionRow& row,
                                           const BeforeCommit& beforeCommit) {
  return writeTransaction(conn, [&]() -> Result<SubscriptionRow> {
    // The digest is the store's: a document applied again unchanged makes
    // no new version.
    const std::string digest = workflowSha256(row.yaml, "");
    auto latest = latestSubscription(conn, row.name);
    if (!latest.ok()) return latest.error();
    if (*latest && (*latest)->sha256 == digest) return **latest;
    SubscriptionRow out = row;
    out.sha256 = digest;
    out.version = *latest ? (*latest)->version + 1 : 1;
    if (*latest && (*latest)->topic == row.topic) {
      out.fromSeq = (*latest)->fromSeq;
    } else {
      auto last = conn.queryInt64("SELECT COALESCE(MAX(seq), 0) FROM outbox");
      if (!last.ok()) return last.error();
      out.fromSeq = *last;
    }
    auto s = conn.cached(
        "INSERT INTO subscriptions (name, version, topic, url, yaml, sha256, created_at, "
        "from_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!s.ok()) return s.error();
    (*s)->bind(1, out.name);
    (*s)->bind(2, out.version);
    (*s)->bind(3, out.topic);
    (*s)->bind(4, out.url);
    (*s)->bind(5, out.yaml);
    (*s)->bind(6, out.sha256);
    (*s)->bind(7, out.createdAt);
    (*s)->bind(8, out.fromSeq);
    auto more = (*s)->next();
    if (!more.ok())
      return Error(more.error().code(), fmt::format("cannot store subscription '{}': {}", out.name,
                                                    more.error().message()));
    if (beforeCommit) KEEL_TRY(beforeCommit());
    return out;
  });
}

Result<std::vector<SubscriptionRow>> selectSubscriptions(Connection& conn) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM subscriptions s WHERE version = (SELECT MAX(version) FROM subscriptions "
      "WHERE name = s.name) ORDER BY name",
      kSubColumns);
  std::vector<SubscriptionRow> rows;
  KEEL_TRY(selectAll(conn, sql.c_str(), readSubscription, rows, [](Statement&) {}));
  return rows;
}

Status upsertWebhookDelivery(Connection& conn, const WebhookDeliveryRow& row) {
  auto s = conn.cached(
      "INSERT INTO webhook_deliveries (subscription, event_seq, event_id, topic, state, attempts, "
      "next_at, last_status, last_error, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
      "?10) ON CONFLICT (subscription, event_seq) DO UPDATE SET state = excluded.state, "
      "attempts = excluded.attempts, next_at = excluded.next_at, last_status = "
      "excluded.last_status, last_error = excluded.last_error, updated_at = excluded.updated_at");
  if (!s.ok()) return s.error();
  (*s)->bind(1, row.subscription);
  (*s)->bind(2, row.eventSeq);
  (*s)->bind(3, row.eventId);
  (*s)->bind(4, row.topic);
  (*s)->bind(5, row.state);
  (*s)->bind(6, row.attempts);
  (*s)->bind(7, row.nextAt);
  (*s)->bind(8, row.lastStatus);
  (*s)->bind(9, row.lastError);
  (*s)->bind(10, row.updatedAt);
  auto more = (*s)->next();
  if (more.ok()) return okStatus();
  return Error(more.error().code(),
               fmt::format("cannot store the delivery of event '{}' to subscription '{}': {}",
                           row.eventId, row.subscription, more.error().message()));
}

Result<int64_t> selectLastWebhookSeq(Connection& conn, const std::string& subscription) {
  auto s = conn.cached(
      "SELECT COALESCE(MAX(event_seq), 0) FROM webhook_deliveries WHERE subscription = ?1");
  if (!s.ok()) return s.error();
  (*s)->bind(1, subscription);
  auto more = (*s)->next();
  if (!more.ok()) return more.error();
  return *more ? (*s)->int64At(0) : int64_t{0};
}

Result<std::optional<WebhookDeliveryRow>> selectFirstPendingWebhook(
    Connection& conn, const std::string& subscription) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM webhook_deliveries WHERE subscription = ?1 AND state = 'pending' ORDER BY "
      "event_seq LIMIT 1",
      kDeliveryColumns);
  std::vector<WebhookDeliveryRow> rows;
  KEEL_TRY(selectAll(conn, sql.c_str(), readDelivery, rows,
                     [&](Statement& s) { s.bind(1, subscription); }));
  if (rows.empty()) return std::optional<WebhookDeliveryRow>();
  return std::optional<WebhookDeliveryRow>(std::move(rows.front()));
}

Result<std::vector<WebhookDeliveryRow>> selectWebhookDeliveries(Connection& conn,
                                                                const std::string& state,
                                                                int limit) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM webhook_deliveries WHERE state = ?1 ORDER BY updated_at DESC, event_seq "
      "DESC LIMIT ?2",
      kDeliveryColumns);
  std::vector<WebhookDeliveryRow> rows;
  KEEL_TRY(selectAll(conn, sql.c_str(), readDelivery, rows, [&](Statement& s) {
    s.bind(1, state);
    s.bind(2, limit);
  }));
  return rows;
}

Result<int64_t> countWebhookDeliveriesIn(Connection& conn, const std::string& state) {
  auto s = conn.cached("SELECT COUNT(*) FROM webhook_deliveries WHERE state = ?1");
  if (!s.ok()) return s.error();
  (*s)->bind(1, state);
  auto more = (*s)->next();
  if (!more.ok()) return more.error();
  return *more ? (*s)->int64At(0) : int64_t{0};
}

Result<int64_t> redeliverDeadWebhooks(Connection& conn, const std::string& eventId,
                                      const std::string& topic, WallTime at,
                                      const BeforeCommit& beforeCommit) {
  return writeTransaction(conn, [&]() -> Result<int64_t> {
    auto changed = changeRows(conn,
                              "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, "
                              "next_at = ?3, updated_at = ?3 WHERE state = 'dead' AND ((?1 != '' "
                              "AND event_id = ?1) OR (?1 = '' AND topic = ?2))",
                              [&](Statement& s) {
                                s.bind(1, eventId);
                                s.bind(2, topic);
                                s.bind(3, at);
                              });
    if (!changed.ok()) return changed.error();
    if (*changed > 0 && beforeCommit) KEEL_TRY(beforeCommit());
    return *changed;
  });
}

}  // namespace keel::store::sqlite
