// FileLock: the exclusive claim of one keel process on one database file.
//
// Two keel processes writing one SQLite file would each believe it owns
// every active run and execute them twice. FileLock takes flock(LOCK_EX |
// LOCK_NB) on the database file itself, so the claim follows the file and
// not the path: a second keel that reaches the same file through a
// symlink, a hard link or another spelling of the path is refused with a
// message naming the holder (its pid and command line, from /proc/locks).
// flock locks and the POSIX (fcntl) locks SQLite takes on the same file are
// independent on Linux, so SQLite's own locking is untouched: the sqlite3
// shell can still read the database while keel runs. The kernel drops the
// lock when its holder dies, even by kill -9, so a restart after a crash
// is never blocked by a stale lock.
//
// It also flocks the side file PATH.lock and writes the holder's pid into
// it: a keel that predates the lock on the file itself locks only that
// side file, so both are needed to refuse a mixed pair during an upgrade;
// and the side file is a trace that a database lived at PATH, which the
// missing-database check (lost_database.h) looks for.
//
// Closing any descriptor of a file drops every POSIX lock the process
// holds on it, SQLite's included. So the descriptor on the database file is
// opened before SQLite's and closed after them; a second acquire of a file
// already held in this process is refused without ever closing its
// descriptor early (it is parked until the holder releases the file).
//
// Descriptors are close-on-exec: step processes keel spawns must not
// inherit (and so prolong) the lock. acquire() is thread-safe;
// checkPath() may be called from any thread; the rest is the owner's.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "core/result.h"

namespace keel::store::sqlite {

class FileLock {
 public:
  // Creates the database file (empty) if it does not exist.
  // kFailedPrecondition when another process or another open store in this
  // process holds the file; kIo when a file cannot be opened.
  static Result<std::unique_ptr<FileLock>> acquire(const std::string& databasePath);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  // ok while the path still names the locked file. kUnavailable, with a
  // message for operators, once the file was deleted, or renamed away, or
  // another file (or a link to one) took its place. One stat (and an fstat
  // once the path is gone).
  Status checkPath() const;

 private:
  FileLock(std::string path, int fd, int sideFd, dev_t dev, ino_t ino)
      : path_(std::move(path)), fd_(fd), sideFd_(sideFd), dev_(dev), ino_(ino) {}

  std::string path_;
  int fd_;      // the database file, flocked
  int sideFd_;  // PATH.lock, flocked
  dev_t dev_;
  ino_t ino_;
};

}  // namespace keel::store::sqlite
