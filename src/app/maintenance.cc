#include "app/maintenance.h"

#include <chrono>
#include <iostream>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "app/retention.h"
#include "core/clock.h"
#include "store/sqlite/sqlite_store.h"

namespace keel::app {

namespace {

// 2026-11-21T10:05:00Z
std::string formatUtc(WallTime t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                     std::chrono::time_point_cast<std::chrono::seconds>(t));
}

}  // namespace

int runCheck(const cli::CheckOptions& options) {
  auto problems = store::checkSqliteDatabase(options.db);
  if (!problems.ok()) {
    std::cerr << "keel check: " << problems.error().message() << "\n";
    return 1;
  }
  if (problems->empty()) {
    std::cout << "ok\n";
    return 0;
  }
  for (const auto& p : *problems) std::cout << p << "\n";
  std::cerr << "keel check: " << problems->size() << " problem(s) in " << options.db << "\n";
  return 1;
}

int runGc(const cli::GcOptions& options) {
  WallTime cutoff = SystemClock().wallNow() - std::chrono::milliseconds(options.olderThanMs);
  std::string when = formatUtc(cutoff);
  SystemClock clock;
  auto result = store::deleteFinishedRuns(
      options.db, cutoff, options.runsPerTransaction,
      [](const store::GcResult& sofar) {
        if (sofar.transactions % 20 == 0) {
          std::cerr << "keel gc: " << sofar.runs << " runs deleted so far\n";
        }
      },
      deletionAudit("keel gc", "gc.delete", clock, cutoff));
  if (!result.ok()) {
    std::cerr << "keel gc: " << result.error().message() << "\n";
    return 1;
  }
  std::cout << fmt::format("deleted {} finished runs (finished before {}) in {} transactions\n",
                           result->runs, when, result->transactions);
  return 0;
}

}  // namespace keel::app
