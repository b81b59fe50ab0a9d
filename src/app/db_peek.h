// A read-only look at a keel database while a server owns it (WAL mode lets
// readers in): for the crash benchmark and the end-to-end tests, which
// watch progress from outside the process that writes.
#pragma once

#include <string>

namespace keel::app {

// The first column of the first row of `sql`, as text; "<error>" if the
// database cannot be opened or the query fails.
std::string queryText(const std::string& db, const std::string& sql);

}  // namespace keel::app
