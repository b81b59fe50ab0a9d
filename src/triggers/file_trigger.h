// File arrival: which files of a watched directory a `file:` trigger
// considers, when a file has settled (its size and mtime unchanged for
// `stable_for`), the params and idempotency key of the run an arrival
// starts. `StabilityTracker` is pure (the times are passed in, no clock is
// read); `listDirectory` is the one function here that reads the disk, on
// the file watcher's thread (file_watcher.h), never on the engine loop.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/result.h"
#include "spec/workflow.h"

namespace keel::triggers {

inline constexpr Millis kDefaultStableFor{10'000};

// One regular file seen in a directory listing. Its identity for arrival
// purposes is (path, size, mtimeNs, inode): a file replaced or rewritten
// gets a new identity and arrives again.
struct FileEntry {
  std::string name;  // the file name (no directory)
  std::string path;  // directory + "/" + name
  uint64_t size = 0;
  int64_t mtimeNs = 0;  // nanoseconds since the Unix epoch
  uint64_t inode = 0;

  bool sameIdentity(const FileEntry& o) const {
    return path == o.path && size == o.size && mtimeNs == o.mtimeNs && inode == o.inode;
  }
};

// The trigger's `stable_for`, or the default (10 s).
Millis stableFor(const spec::TriggerSpec& trigger);
// How often the watcher lists the directory: stable_for / 2, between
// 100 ms and 2 s.
Millis pollInterval(const spec::TriggerSpec& trigger);

// Whether a file name is one the trigger considers: it matches `pattern`
// (an fnmatch glob on the name; empty is "*"), and a name starting with '.'
// only when the pattern starts with '.' too.
bool nameMatches(const std::string& pattern, const std::string& name);

// The regular files directly in `dir` (not in subdirectories) whose names
// match `pattern`, by name. Entries are read with lstat: a symlink, a
// directory, a fifo or a device is never a file here, nor is an entry that
// vanishes between the listing and its lstat. kNotFound (no such
// directory) or kIo (not a directory, no permission, ...) saying the
// directory and the system error when it cannot be read.
Result<std::vector<FileEntry>> listDirectory(const std::string& dir, const std::string& pattern);

// Follows successive listings of one directory and says which files have
// settled: a file is reported once its identity (size, mtime, inode) has
// been the same in every listing for at least stable_for, and only once
// per identity while it stays in the directory. A file that changes starts
// over; a file absent from a listing is forgotten (a file deleted before it
// settles never settles). Not thread-safe: one owner.
class StabilityTracker {
 public:
  explicit StabilityTracker(Millis stableFor) : stableFor_(stableFor) {}

  // The files of `listing` (one complete listing taken at `now`) that
  // settled, by name. Paths in the previous listing but not in this one go
  // to `gone` when it is given.
  std::vector<FileEntry> observe(const std::vector<FileEntry>& listing, MonoTime now,
                                 std::vector<std::string>* gone = nullptr);
  // The earliest instant a tracked, unreported file can settle, if any:
  // the watcher looks again then.
  std::optional<MonoTime> nextSettle() const;
  // Reports `path` again once it settles (its owner could not handle it).
  void retry(const std::string& path);
  size_t tracked() const { return files_.size(); }

 private:
  struct Tracked {
    FileEntry entry;
    MonoTime since;  // when this identity was first seen
    bool reported = false;
  };
  Millis stableFor_;
  std::map<std::string, Tracked> files_;  // by path
};

// The trigger's params rendered for an arrival: an object of strings with
// file.path, file.name, file.size (decimal bytes) and file.mtime (RFC 3339,
// UTC, milliseconds). kInvalidArgument naming the param when a template
// cannot render.
Result<nlohmann::json> renderFileParams(const spec::TriggerSpec& trigger, const FileEntry& file);

// The idempotency key of the run trigger `index` (0-based) starts for an
// arrival: "file:WORKFLOW:INDEX:SIZE:MTIME_NS:INODE:PATH" (the path last, as
// it may hold ':').
std::string fileRunKey(const std::string& workflow, size_t index, const FileEntry& file);

// The arrival's time as RFC 3339 (UTC, milliseconds).
std::string formatMtime(int64_t mtimeNs);

}  // namespace keel::triggers
