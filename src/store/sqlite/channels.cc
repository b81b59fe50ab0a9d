#include "store/sqlite/channels.h"

#include <fmt/format.h>

#include "store/sqlite/row_codec.h"
#include "store/workflow_digest.h"

namespace keel::store::sqlite {

namespace {

constexpr const char* kChannelColumns =
    "name, version, type, teams, is_default, yaml, sha256, created_at";
constexpr const char* kNotificationColumns =
    "id, channel, kind, payload, state, attempts, next_at, last_status, last_error, created_at, "
    "updated_at";

ChannelRow readChannel(const Statement& s) {
  ChannelRow row;
  row.name = s.textAt(0);
  row.version = static_cast<int>(s.int64At(1));
  row.type = s.textAt(2);
  row.teams = s.textAt(3);
  row.isDefault = s.int64At(4) != 0;
  row.yaml = s.textAt(5);
  row.sha256 = s.textAt(6);
  row.createdAt = s.timeAt(7);
  return row;
}

NotificationRow readNotification(const Statement& s) {
  NotificationRow row;
  row.id = s.textAt(0);
  row.channel = s.textAt(1);
  row.kind = s.textAt(2);
  row.payloadJson = s.textAt(3);
  row.state = s.textAt(4);
  row.attempts = static_cast<int>(s.int64At(5));
  row.nextAt = s.timeAt(6);
  row.lastStatus = static_cast<int>(s.int64At(7));
  row.lastError = s.textAt(8);
  row.createdAt = s.timeAt(9);
  row.updatedAt = s.timeAt(10);
  return row;
}

Result<std::optional<ChannelRow>> latestChannel(Connection& conn, const std::string& name) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM channels WHERE name = ?1 ORDER BY version DESC LIMIT 1", kChannelColumns);
  std::vector<ChannelRow> rows;
  KEEL_TRY(selectAll(conn, sql.c_str(), readChannel, rows, [&](Statement& s) { s.bind(1, name); }));
  if (rows.empty()) return std::optional<ChannelRow>();
  return std::optional<ChannelRow>(std::move(rows.front()));
}

}  // namespace

Result<ChannelRow> insertChannel(Connection& conn, const ChannelRow& row,
                                 const BeforeCommit& beforeCommit) {
  return writeTransaction(conn, [&]() -> Result<ChannelRow> {
    const std::string digest = workflowSha256(row.yaml, "");
    auto latest = latestChannel(conn, row.name);
    if (!latest.ok()) return latest.error();
    if (*latest && (*latest)->sha256 == digest) return **latest;
    ChannelRow out = row;
    out.sha256 = digest;
    out.version = *latest ? (*latest)->version + 1 : 1;
    auto s = conn.cached(
        "INSERT INTO channels (name, version, type, teams, is_default, yaml, sha256, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!s.ok()) return s.error();
    (*s)->bind(1, out.name);
    (*s)->bind(2, out.version);
    (*s)->bind(3, out.type);
    (*s)->bind(4, out.teams);
    (*s)->bind(5, out.isDefault ? 1 : 0);
    (*s)->bind(6, out.yaml);
    (*s)->bind(7, out.sha256);
    (*s)->bind(8, out.createdAt);
    auto more = (*s)->next();
    if (!more.ok())
      return Error(more.error().code(),
                   fmt::format("cannot store channel '{}': {}", out.name, more.error().message()));
    if (beforeCommit) KEEL_TRY(beforeCommit());
    return out;
  });
}

Result<std::vector<ChannelRow>> selectChannels(Connection& conn) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM channels c WHERE version = (SELECT MAX(version) FROM channels "
      "WHERE name = c.name) ORDER BY name",
      kChannelColumns);
  std::vector<ChannelRow> rows;
  KEEL_TRY(selectAll(conn, sql.c_str(), readChannel, rows, [](Statement&) {}));
  return rows;
}

Status insertNotification(Connection& conn, const NotificationRow& row) {
  auto s = conn.cached(
      "INSERT INTO notifications (id, channel, kind, payload, state, attempts, next_at, "
      "last_status, last_error, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
      "?9, ?10, ?11) ON CONFLICT (id) DO NOTHING");
  if (!s.ok()) return s.error();
  (*s)->bind(1, row.id);
  (*s)->bind(2, row.channel);
  (*s)->bind(3, row.kind);
  (*s)->bind(4, row.payloadJson);
  (*s)->bind(5, row.state);
  (*s)->bind(6, row.attempts);
  (*s)->bind(7, row.nextAt);
  (*s)->bind(8, row.lastStatus);
  (*s)->bind(9, row.lastError);
  (*s)->bind(10, row.createdAt);
  (*s)->bind(11, row.updatedAt);
  auto more = (*s)->next();
  if (more.ok()) return okStatus();
  return Error(more.error().code(),
               fmt::format("cannot store notification '{}': {}", row.id, more.error().message()));
}

Status updateNotification(Connection& conn, const NotificationRow& row) {
  auto s = conn.cached(
      "UPDATE notifications SET state = ?2, attempts = ?3, next_at = ?4, last_status = ?5, "
      "last_error = ?6, updated_at = ?7 WHERE id = ?1");
  if (!s.ok()) return s.error();
  (*s)->bind(1, row.id);
  (*s)->bind(2, row.state);
  (*s)->bind(3, row.attempts);
  (*s)->bind(4, row.nextAt);
  (*s)->bind(5, row.lastStatus);
  (*s)->bind(6, row.lastError);
  (*s)->bind(7, row.updatedAt);
  auto more = (*s)->next();
  if (more.ok()) return okStatus();
  return Error(more.error().code(), fmt::format("cannot record the delivery of notification "
                                                "'{}': {}",
                                                row.id, more.error().message()));
}

Result<std::vector<NotificationRow>> selectDueNotifications(Connection& conn, WallTime now,
                                                            int limit) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM notifications WHERE state = 'pending' AND next_at <= ?1 ORDER BY next_at, "
      "id LIMIT ?2",
      kNotificationColumns);
  std::vector<NotificationRow> rows;
  KEEL_TRY(selectAll(conn, sql.c_str(), readNotification, rows, [&](Statement& s) {
    s.bind(1, now);
    s.bind(2, limit);
  }));
  return rows;
}

Result<std::optional<WallTime>> selectNextNotificationAt(Connection& conn) {
  static const std::string sql =
      fmt::format("SELECT {} FROM notifications WHERE state = 'pending' ORDER BY next_at LIMIT 1",
                  kNotificationColumns);
  std::vector<NotificationRow> rows;
  KEEL_TRY(selectAll(conn, sql.c_str(), readNotification, rows, [](Statement&) {}));
  if (rows.empty()) return std::optional<WallTime>();
  return std::optional<WallTime>(rows.front().nextAt);
}

Result<std::vector<NotificationRow>> selectNotifications(Connection& conn, const std::string& state,
                                                         int limit) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM notifications WHERE (?1 = '' OR state = ?1) ORDER BY updated_at DESC, id "
      "DESC LIMIT ?2",
      kNotificationColumns);
  std::vector<NotificationRow> rows;
  KEEL_TRY(selectAll(conn, sql.c_str(), readNotification, rows, [&](Statement& s) {
    s.bind(1, state);
    s.bind(2, limit);
  }));
  return rows;
}

Result<std::optional<NotificationRow>> selectNotification(Connection& conn, const std::string& id) {
  static const std::string sql =
      fmt::format("SELECT {} FROM notifications WHERE id = ?1", kNotificationColumns);
  std::vector<NotificationRow> rows;
  KEEL_TRY(
      selectAll(conn, sql.c_str(), readNotification, rows, [&](Statement& s) { s.bind(1, id); }));
  if (rows.empty()) return std::optional<NotificationRow>();
  return std::optional<NotificationRow>(std::move(rows.front()));
}

Result<int64_t> countNotificationsIn(Connection& conn, const std::string& state) {
  auto s = conn.cached("SELECT COUNT(*) FROM notifications WHERE state = ?1");
  if (!s.ok()) return s.error();
  (*s)->bind(1, state);
  auto more = (*s)->next();
  if (!more.ok()) return more.error();
  return *more ? (*s)->int64At(0) : int64_t{0};
}

Result<int64_t> redeliverDeadNotifications(Connection& conn, const std::string& id, WallTime at,
                                           const BeforeCommit& beforeCommit) {
  return writeTransaction(conn, [&]() -> Result<int64_t> {
    auto changed = changeRows(
        conn,
        "UPDATE notifications SET state = 'pending', attempts = 0, next_at = ?2, updated_at = ?2 "
        "WHERE state = 'dead' AND (?1 = '' OR id = ?1)",
        [&](Statement& s) {
          s.bind(1, id);
          s.bind(2, at);
        });
    if (!changed.ok()) return changed.error();
    if (*changed > 0 && beforeCommit) KEEL_TRY(beforeCommit());
    return *changed;
  });
}

}  // namespace keel::store::sqlite
