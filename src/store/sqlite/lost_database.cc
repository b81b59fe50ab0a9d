// checkNotLost() and databaseTraces(), declared in sqlite_store.h.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "store/sqlite/sqlite_store.h"

namespace keel::store {

namespace {

// Anything at the path counts, a dangling symlink included.
bool present(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

std::vector<std::string> databaseTraces(const std::string& path) {
  return {path + "-wal", path + "-shm", path + ".lock"};
}

Status checkNotLost(const std::string& path, const std::vector<std::string>& traces,
                    bool createAllowed) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return okStatus();
  int err = errno;
  if (err != ENOENT) {
    return Error(ErrorCode::kIo,
                 fmt::format("cannot check database file {}: {}", path, std::strerror(err)));
  }
  if (present(path)) {
    // lstat sees it, stat does not: a symlink to nothing.
    if (!createAllowed) {
      return Error(ErrorCode::kFailedPrecondition,
                   fmt::format("database file {} is a symlink to a file that does not exist; "
                               "the database was deleted or moved",
                               path));
    }
  }
  std::string wal = path + "-wal";
  if (createAllowed) {
    if (!present(wal)) return okStatus();
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("database {} does not exist but its journal {} does; a new database "
                             "would take in that journal of the lost one. Move {} and {}-shm "
                             "away first",
                             path, wal, wal, path));
  }
  for (const auto& trace : traces) {
    if (!present(trace)) continue;
    return Error(ErrorCode::kFailedPrecondition,
                 fmt::format("database {} does not exist, but {} does: the database was deleted "
                             "or moved, and opening would start over with an empty one",
                             path, trace));
  }
  return okStatus();
}

}  // namespace keel::store
