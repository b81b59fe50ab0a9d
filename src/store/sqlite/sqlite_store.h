// SqliteStore: the embedded Store, one file in WAL mode.
//
// open() creates or migrates the schema (a version table records it),
// refuses a database written by a newer keel (kFailedPrecondition) and a
// file that is not a keel database or is damaged (kCorrupt), and takes an
// exclusive lock so two keel processes never share one file. Writes go
// through one connection; reads use a small pool of read connections.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace keel::store {

inline constexpr int kSchemaVersion = 2;

Result<std::unique_ptr<Store>> openSqliteStore(const std::string& path,
                                               const StoreOptions& options = {});

}  // namespace keel::store
