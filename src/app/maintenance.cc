#include "app/maintenance.h"

#include <iostream>

#include "store/sqlite/sqlite_store.h"

namespace keel::app {

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

}  // namespace keel::app
