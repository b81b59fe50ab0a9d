#include "store/sqlite/outbox.h"

#include <fmt/format.h>

#include "store/sqlite/row_codec.h"

namespace keel::store::sqlite {

namespace {

constexpr const char* kInsertOutbox = R"sql(
INSERT INTO outbox (id, topic, payload_json, run_id, source, emitted_at, state, error,
                    delivered_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
ON CONFLICT (id) DO NOTHING)sql";

constexpr const char* kMarkDelivered = R"sql(
UPDATE outbox SET state = 'delivered', delivered_at = ?2 WHERE id = ?1 AND state = 'pending')sql";

constexpr const char* kOutboxColumns =
    "seq, id, topic, payload_json, run_id, source, emitted_at, state, error, delivered_at";

OutboxEventRow readOutboxEvent(const Statement& s) {
  OutboxEventRow row;
  row.seq = s.int64At(0);
  row.id = s.textAt(1);
  row.topic = s.textAt(2);
  row.payloadJson = s.textAt(3);
  row.runId = s.textAt(4);
  row.source = s.textAt(5);
  row.emittedAt = s.timeAt(6);
  row.state = s.textAt(7);
  row.error = s.textAt(8);
  row.deliveredAt = s.optionalTimeAt(9);
  return row;
}

}  // namespace

Status insertOutboxEvent(Connection& conn, const OutboxEventRow& row) {
  auto s = conn.cached(kInsertOutbox);
  if (!s.ok()) return s.error();
  (*s)->bind(1, row.id);
  (*s)->bind(2, row.topic);
  (*s)->bind(3, row.payloadJson);
  (*s)->bind(4, row.runId);
  (*s)->bind(5, row.source);
  (*s)->bind(6, row.emittedAt);
  (*s)->bind(7, row.state);
  (*s)->bind(8, row.error);
  (*s)->bind(9, row.deliveredAt);
  auto more = (*s)->next();
  if (more.ok()) return okStatus();
  return Error(more.error().code(),
               fmt::format("cannot store outbox event '{}': {}", row.id, more.error().message()));
}

Result<std::vector<OutboxEventRow>> selectOutboxOnTopic(Connection& conn, const std::string& topic,
                                                        int64_t afterSeq, int limit) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM outbox WHERE topic = ?1 AND seq > ?2 AND state != 'failed' ORDER BY seq "
      "LIMIT ?3",
      kOutboxColumns);
  std::vector<OutboxEventRow> rows;
  KEEL_TRY(selectAll(conn, sql.c_str(), readOutboxEvent, rows, [&](Statement& s) {
    s.bind(1, topic);
    s.bind(2, afterSeq);
    s.bind(3, limit);
  }));
  return rows;
}

Status markOutboxDelivered(Connection& conn, const std::string& id, WallTime at) {
  auto s = conn.cached(kMarkDelivered);
  if (!s.ok()) return s.error();
  (*s)->bind(1, id);
  (*s)->bind(2, at);
  auto more = (*s)->next();
  if (more.ok()) return okStatus();
  return Error(more.error().code(), fmt::format("cannot mark outbox event '{}' delivered: {}", id,
                                                more.error().message()));
}

Result<std::vector<OutboxEventRow>> selectPendingOutbox(Connection& conn, int64_t afterSeq,
                                                        int limit) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM outbox WHERE state = 'pending' AND seq > ?1 ORDER BY seq LIMIT ?2",
      kOutboxColumns);
  std::vector<OutboxEventRow> rows;
  KEEL_TRY(selectAll(conn, sql.c_str(), readOutboxEvent, rows, [&](Statement& s) {
    s.bind(1, afterSeq);
    s.bind(2, limit);
  }));
  return rows;
}

Result<std::optional<OutboxEventRow>> selectOutboxEvent(Connection& conn, const std::string& id) {
  static const std::string sql = fmt::format("SELECT {} FROM outbox WHERE id = ?1", kOutboxColumns);
  std::vector<OutboxEventRow> rows;
  KEEL_TRY(
      selectAll(conn, sql.c_str(), readOutboxEvent, rows, [&](Statement& s) { s.bind(1, id); }));
  if (rows.empty()) return std::optional<OutboxEventRow>();
  return std::optional<OutboxEventRow>(std::move(rows.front()));
}

}  // namespace keel::store::sqlite
