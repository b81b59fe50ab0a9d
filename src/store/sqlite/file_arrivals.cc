#include "store/sqlite/file_arrivals.h"

#include <fmt/format.h>

#include "store/sqlite/row_codec.h"

namespace keel::store::sqlite {

namespace {

constexpr const char* kUpsertArrival = R"sql(
INSERT INTO file_arrivals (workflow, run_key, trigger_index, path, size, mtime_ns, inode,
                           run_id, fired_at, outcome)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT (workflow, run_key) DO UPDATE SET
  trigger_index = excluded.trigger_index, path = excluded.path, size = excluded.size,
  mtime_ns = excluded.mtime_ns, inode = excluded.inode, run_id = excluded.run_id,
  fired_at = excluded.fired_at, outcome = excluded.outcome)sql";

constexpr const char* kDelete = R"sql(
DELETE FROM file_arrivals WHERE workflow = ?1 AND trigger_index = ?2 AND path = ?3)sql";

constexpr const char* kArrivalColumns =
    "workflow, run_key, trigger_index, path, size, mtime_ns, inode, run_id, fired_at, outcome";

FileArrivalRow readFileArrival(const Statement& s) {
  FileArrivalRow row;
  row.workflow = s.textAt(0);
  row.key = s.textAt(1);
  row.trigger = s.intAt(2);
  row.path = s.textAt(3);
  row.size = s.int64At(4);
  row.mtimeNs = s.int64At(5);
  row.inode = s.int64At(6);
  row.runId = s.textAt(7);
  row.firedAt = s.timeAt(8);
  row.outcome = s.textAt(9);
  return row;
}

}  // namespace

Status upsertFileArrival(Connection& conn, const FileArrivalRow& row) {
  auto s = conn.cached(kUpsertArrival);
  if (!s.ok()) return s.error();
  (*s)->bind(1, row.workflow);
  (*s)->bind(2, row.key);
  (*s)->bind(3, row.trigger);
  (*s)->bind(4, row.path);
  (*s)->bind(5, row.size);
  (*s)->bind(6, row.mtimeNs);
  (*s)->bind(7, row.inode);
  (*s)->bind(8, row.runId);
  (*s)->bind(9, row.firedAt);
  (*s)->bind(10, row.outcome);
  auto more = (*s)->next();
  if (more.ok()) return okStatus();
  return Error(more.error().code(),
               fmt::format("cannot store the arrival of {} for {} trigger {}: {}", row.path,
                           row.workflow, row.trigger + 1, more.error().message()));
}

Status deleteFileArrivals(Connection& conn, const std::string& workflow, int trigger,
                          const std::vector<std::string>& paths) {
  for (const auto& path : paths) {
    auto s = conn.cached(kDelete);
    if (!s.ok()) return s.error();
    (*s)->bind(1, workflow);
    (*s)->bind(2, trigger);
    (*s)->bind(3, path);
    auto more = (*s)->next();
    if (!more.ok())
      return Error(more.error().code(),
                   fmt::format("cannot forget the arrivals of {} for {} trigger {}: {}", path,
                               workflow, trigger + 1, more.error().message()));
  }
  return okStatus();
}

Result<std::optional<FileArrivalRow>> selectFileArrival(Connection& conn,
                                                        const std::string& workflow,
                                                        const std::string& key) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM file_arrivals WHERE workflow = ?1 AND run_key = ?2", kArrivalColumns);
  std::vector<FileArrivalRow> rows;
  KEEL_TRY(selectAll(conn, sql, readFileArrival, rows, [&](Statement& s) {
    s.bind(1, workflow);
    s.bind(2, key);
  }));
  if (rows.empty()) return std::optional<FileArrivalRow>();
  return std::optional<FileArrivalRow>(std::move(rows.front()));
}

Result<std::vector<FileArrivalRow>> selectFileArrivals(Connection& conn,
                                                       const std::string& workflow, int trigger) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM file_arrivals WHERE workflow = ?1 AND trigger_index = ?2 "
      "ORDER BY path, fired_at",
      kArrivalColumns);
  std::vector<FileArrivalRow> rows;
  KEEL_TRY(selectAll(conn, sql, readFileArrival, rows, [&](Statement& s) {
    s.bind(1, workflow);
    s.bind(2, trigger);
  }));
  return rows;
}

}  // namespace keel::store::sqlite
