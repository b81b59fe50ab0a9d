// checkSqliteDatabase(): the full, offline check behind `keel check`.
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "store/sqlite/connection.h"
#include "store/sqlite/file_lock.h"
#include "store/sqlite/schema.h"
#include "store/sqlite/sqlite_store.h"

namespace keel::store {

namespace {

using sqlite::Connection;

constexpr int kCheckBusyTimeoutMs = 5000;

// Every row of a one-column pragma, as text.
Status pragmaRows(Connection& conn, std::string_view sql, std::vector<std::string>& rows) {
  auto s = conn.cached(sql);
  if (!s.ok()) return s.error();
  while (true) {
    auto more = (*s)->next();
    if (!more.ok()) return more.error();
    if (!*more) return okStatus();
    rows.push_back((*s)->textAt(0));
  }
}

// Child rows whose run does not exist, counted per table.
Status orphanRows(Connection& conn, std::vector<std::string>& problems) {
  auto s = conn.cached("PRAGMA foreign_key_check");
  if (!s.ok()) return s.error();
  std::map<std::string, int64_t> perTable;
  while (true) {
    auto more = (*s)->next();
    if (!more.ok()) return more.error();
    if (!*more) break;
    ++perTable[(*s)->textAt(0)];
  }
  for (const auto& [table, n] : perTable) {
    problems.push_back(fmt::format("table {}: {} row(s) belong to no run", table, n));
  }
  return okStatus();
}

// New steps must be numbered after every existing one (steps.pos orders a
// run's steps).
Status stepCounter(Connection& conn, std::vector<std::string>& problems) {
  auto counter = conn.queryInt64(sqlite::kStepPosCounterSql);
  if (!counter.ok()) return counter.error();
  auto highest = conn.queryInt64("SELECT COALESCE(MAX(pos), 0) FROM steps");
  if (!highest.ok()) return highest.error();
  if (*counter < *highest) {
    problems.push_back(fmt::format(
        "keel_counters: step_pos is {} but a step has position {} (new steps would be ordered "
        "before old ones)",
        *counter, *highest));
  }
  return okStatus();
}

}  // namespace

Result<std::vector<std::string>> checkSqliteDatabase(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return Error(ErrorCode::kNotFound, fmt::format("database {} does not exist", path));
  }
  // Held for the whole check: a running keel is refused (the check is
  // offline), and none can start on the file while it runs.
  auto lock = sqlite::FileLock::acquire(path);
  if (!lock.ok()) return lock.error();
  // Read-write only so that closing removes PATH-wal and PATH-shm as keel
  // serve does (a read-only connection leaves them); nothing is written.
  auto conn = Connection::open(path, Connection::Mode::kReadWrite, kCheckBusyTimeoutMs);
  if (!conn.ok()) return conn.error();

  std::vector<std::string> problems;
  auto version = sqlite::inspectDatabase(**conn);
  const bool damaged = !version.ok();
  if (damaged) {
    if (version.error().code() != ErrorCode::kCorrupt) return version.error();
    problems.push_back(version.error().message());
  } else if (*version == 0) {
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("{} is empty: not a keel database (yet)", path));
  }

  // Every page, and every index against its table.
  std::vector<std::string> integrity;
  Status s = pragmaRows(**conn, "PRAGMA integrity_check", integrity);
  if (!s.ok()) {
    // Said already when the damage stopped the first reads.
    if (!damaged) {
      problems.push_back(fmt::format("PRAGMA integrity_check stopped: {}", s.error().message()));
    }
  } else if (!(integrity.size() == 1 && integrity[0] == "ok")) {
    for (auto& line : integrity) problems.push_back(std::move(line));
  }
  if (!problems.empty()) return problems;  // the rest needs readable tables

  if (Status o = orphanRows(**conn, problems); !o.ok()) {
    problems.push_back(fmt::format("PRAGMA foreign_key_check failed: {}", o.error().message()));
  }
  // Older schemas (not migrated yet) have no counter: they derive it at open.
  if (Status c = *version >= 3 ? stepCounter(**conn, problems) : okStatus(); !c.ok()) {
    problems.push_back(fmt::format("cannot read the step counter: {}", c.error().message()));
  }
  return problems;
}

}  // namespace keel::store
