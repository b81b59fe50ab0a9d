#include "store/sqlite/inbound_events.h"

#include <sqlite3.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "store/sqlite/row_codec.h"

namespace keel::store::sqlite {

namespace {

constexpr const char* kInsertInboundEvent = R"sql(
INSERT INTO inbound_events (topic, id, payload_json, received_at, run_ids, errors_json)
VALUES (?1, ?2, ?3, ?4, ?5, ?6))sql";

constexpr const char* kSelectInboundEvents = R"sql(
SELECT topic, id, payload_json, received_at, run_ids, errors_json FROM inbound_events
WHERE topic = ?1 AND id = ?2)sql";

// An event goes once it started runs and none of them is left, or once it
// started none and is older than the cutoff (?1; NULL keeps those).
constexpr const char* kDeleteExpired = R"sql(
DELETE FROM inbound_events
WHERE (run_ids <> '[]' AND NOT EXISTS (
         SELECT 1 FROM json_each(inbound_events.run_ids) j JOIN runs r ON r.id = j.value))
   OR (run_ids = '[]' AND ?1 IS NOT NULL AND received_at < ?1))sql";

InboundEventRow readInboundEvent(const Statement& s) {
  InboundEventRow row;
  row.topic = s.textAt(0);
  row.id = s.textAt(1);
  row.payloadJson = s.textAt(2);
  row.receivedAt = s.timeAt(3);
  auto ids = nlohmann::json::parse(s.textAt(4), nullptr, false);
  if (ids.is_array())
    for (const auto& id : ids)
      if (id.is_string()) row.runIds.push_back(id.get<std::string>());
  row.errorsJson = s.textAt(5);
  return row;
}

}  // namespace

Status insertInboundEvent(Connection& conn, const InboundEventRow& row) {
  // Bound values must outlive the statement's run.
  const std::string runIds = nlohmann::json(row.runIds).dump();
  auto s = conn.cached(kInsertInboundEvent);
  if (!s.ok()) return s.error();
  (*s)->bind(1, row.topic);
  (*s)->bind(2, row.id);
  (*s)->bind(3, row.payloadJson);
  (*s)->bind(4, row.receivedAt);
  (*s)->bind(5, runIds);
  (*s)->bind(6, row.errorsJson);
  auto more = (*s)->next();
  if (more.ok()) return okStatus();
  if ((*s)->lastErrorCode() == SQLITE_CONSTRAINT_PRIMARYKEY)
    return Error(ErrorCode::kAlreadyExists,
                 fmt::format("event '{}' on topic '{}' is stored already", row.id, row.topic));
  return Error(more.error().code(), fmt::format("cannot store event '{}' on topic '{}': {}", row.id,
                                                row.topic, more.error().message()));
}

Result<std::optional<InboundEventRow>> selectInboundEvent(Connection& conn,
                                                          const std::string& topic,
                                                          const std::string& id) {
  std::vector<InboundEventRow> rows;
  KEEL_TRY(selectAll(conn, kSelectInboundEvents, readInboundEvent, rows, [&](Statement& s) {
    s.bind(1, topic);
    s.bind(2, id);
  }));
  if (rows.empty()) return std::optional<InboundEventRow>();
  return std::optional<InboundEventRow>(std::move(rows.front()));
}

Result<int64_t> deleteExpiredInboundEvents(Connection& writer,
                                           std::optional<WallTime> noRunCutoff) {
  return writeTransaction(
      writer,
      [&]() -> Result<int64_t> {
        auto n = changeRows(writer, kDeleteExpired, [&](Statement& s) { s.bind(1, noRunCutoff); });
        if (!n.ok())
          return Error(n.error().code(),
                       fmt::format("cannot delete expired inbound events from {}: {}",
                                   writer.path(), n.error().message()));
        return n;
      },
      "cannot commit a deletion of expired inbound events");
}

}  // namespace keel::store::sqlite
