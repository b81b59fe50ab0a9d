#include "store/sqlite/audit_log.h"

#include <fmt/format.h>

#include "store/sqlite/row_codec.h"

namespace keel::store::sqlite {

namespace {

constexpr const char* kColumns =
    "seq, at, actor, action, target, reason, request_id, detail, prev_hash, hash";

audit::Entry readEntry(const Statement& s) {
  audit::Entry e;
  e.seq = s.int64At(0);
  e.at = s.timeAt(1);
  e.actor = s.textAt(2);
  e.action = s.textAt(3);
  e.target = s.textAt(4);
  e.reason = s.textAt(5);
  e.requestId = s.textAt(6);
  e.detailJson = s.textAt(7);
  e.prevHash = s.textAt(8);
  e.hash = s.textAt(9);
  return e;
}

}  // namespace

Status appendAuditEntry(Connection& conn, audit::Entry e, audit::Head& head) {
  audit::Head next = audit::seal(e, head);
  auto s = conn.cached(
      "INSERT INTO audit_log (seq, at, actor, action, target, reason, request_id, detail, "
      "prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  if (!s.ok()) return s.error();
  (*s)->bind(1, e.seq);
  (*s)->bind(2, e.at);
  (*s)->bind(3, e.actor);
  (*s)->bind(4, e.action);
  (*s)->bind(5, e.target);
  (*s)->bind(6, e.reason);
  (*s)->bind(7, e.requestId);
  (*s)->bind(8, e.detailJson);
  (*s)->bind(9, e.prevHash);
  (*s)->bind(10, e.hash);
  auto more = (*s)->next();
  if (more.ok()) {
    head = std::move(next);
    return okStatus();
  }
  return Error(more.error().code(), fmt::format("cannot append audit entry {} ({} on {}): {}",
                                                e.seq, e.action, e.target, more.error().message()));
}

Result<audit::Head> selectAuditHead(Connection& conn) {
  auto s = conn.cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
  if (!s.ok()) return s.error();
  auto row = (*s)->next();
  if (!row.ok()) return row.error();
  audit::Head head;
  if (*row) {
    head.seq = (*s)->int64At(0);
    head.hash = (*s)->textAt(1);
  }
  (*s)->reset();
  return head;
}

Result<std::vector<audit::Entry>> selectAudit(Connection& conn, const AuditFilter& filter) {
  if (filter.limit < 1 || filter.limit > 1001) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("an audit listing takes 1 to 1001 entries, not {}", filter.limit));
  }
  // Only the filters given are in the query, so each shape is one plan
  // (cached by its text) that walks an index newest first.
  std::string where = "1";
  if (filter.beforeSeq > 0) where += " AND seq < ?1";
  if (filter.since) where += " AND at >= ?2";
  if (!filter.actor.empty()) where += " AND actor = ?3";
  if (!filter.target.empty()) where += " AND target = ?4";
  std::string sql =
      fmt::format("SELECT {} FROM audit_log WHERE {} ORDER BY seq DESC LIMIT ?5", kColumns, where);
  std::vector<audit::Entry> rows;
  KEEL_TRY(selectAll(conn, sql, readEntry, rows, [&](Statement& s) {
    if (filter.beforeSeq > 0) s.bind(1, filter.beforeSeq);
    if (filter.since) s.bind(2, *filter.since);
    if (!filter.actor.empty()) s.bind(3, filter.actor);
    if (!filter.target.empty()) s.bind(4, filter.target);
    s.bind(5, filter.limit);
  }));
  return rows;
}

Result<std::vector<audit::Entry>> selectAuditRange(Connection& conn, int64_t afterSeq, int limit) {
  static const std::string sql =
      fmt::format("SELECT {} FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2", kColumns);
  std::vector<audit::Entry> rows;
  KEEL_TRY(selectAll(conn, sql, readEntry, rows, [&](Statement& s) {
    s.bind(1, afterSeq);
    s.bind(2, limit);
  }));
  return rows;
}

}  // namespace keel::store::sqlite
