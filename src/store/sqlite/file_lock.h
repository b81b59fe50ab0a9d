// FileLock: the exclusive claim of one keel process on one database.
//
// Two keel processes writing one SQLite file would each believe it owns
// every active run and execute them twice. FileLock takes flock(LOCK_EX |
// LOCK_NB) on a side file (the database path + ".lock") and writes the
// holder's pid into it, so the second process is refused with a message
// naming the first. The kernel drops the lock when its holder dies, even by
// kill -9, so a restart after a crash is never blocked by a stale lock.
// The descriptor is close-on-exec: step processes keel spawns must not
// inherit (and so prolong) the lock.
//
// Not thread-safe; owned by the store, released when destroyed.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"

namespace keel::store::sqlite {

class FileLock {
 public:
  // kFailedPrecondition when another process (or another open store in
  // this process) holds it; kIo when the lock file cannot be opened.
  static Result<std::unique_ptr<FileLock>> acquire(const std::string& databasePath);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace keel::store::sqlite
