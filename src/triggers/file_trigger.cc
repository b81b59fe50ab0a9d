#include "triggers/file_trigger.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "triggers/trigger_params.h"

namespace keel::triggers {

using nlohmann::json;

Millis stableFor(const spec::TriggerSpec& trigger) {
  return trigger.fileStableFor.value_or(kDefaultStableFor);
}

Millis pollInterval(const spec::TriggerSpec& trigger) {
  return std::clamp<Millis>(stableFor(trigger) / 2, Millis(100), Millis(2000));
}

bool nameMatches(const std::string& pattern, const std::string& name) {
  const std::string& glob = pattern.empty() ? std::string("*") : pattern;
  if (name.empty() || name == "." || name == "..") return false;
  if (name.front() == '.' && glob.front() != '.') return false;
  return fnmatch(glob.c_str(), name.c_str(), 0) == 0;
}

Result<std::vector<FileEntry>> listDirectory(const std::string& dir, const std::string& pattern) {
  DIR* d = opendir(dir.c_str());
  if (!d) {
    int err = errno;
    return Error(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                 fmt::format("cannot read directory {}: {}", dir, std::strerror(err)));
  }
  std::vector<FileEntry> out;
  int fd = dirfd(d);
  errno = 0;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (!nameMatches(pattern, name)) continue;
    struct stat st {};
    // lstat (no symlink followed): only a regular file in this directory
    // is a file; an entry gone since readdir is simply not there.
    if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISREG(st.st_mode)) continue;
    FileEntry f;
    f.name = std::move(name);
    f.path = dir.ends_with('/') ? dir + f.name : dir + "/" + f.name;
    f.size = static_cast<uint64_t>(st.st_size);
    f.mtimeNs = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    f.inode = static_cast<uint64_t>(st.st_ino);
    out.push_back(std::move(f));
    errno = 0;
  }
  int err = errno;
  closedir(d);
  if (err != 0)
    return Error(ErrorCode::kIo,
                 fmt::format("cannot list directory {}: {}", dir, std::strerror(err)));
  std::sort(out.begin(), out.end(),
            [](const FileEntry& a, const FileEntry& b) { return a.name < b.name; });
  return out;
}

std::vector<FileEntry> StabilityTracker::observe(const std::vector<FileEntry>& listing,
                                                 MonoTime now, std::vector<std::string>* gone) {
  std::map<std::string, Tracked> next;
  std::vector<FileEntry> settled;
  for (const FileEntry& f : listing) {
    Tracked t{f, now, false};
    if (auto it = files_.find(f.path); it != files_.end() && it->second.entry.sameIdentity(f))
      t = std::move(it->second);  // unchanged: keeps when it was first seen
    if (!t.reported && now - t.since >= stableFor_) {
      t.reported = true;
      settled.push_back(f);
    }
    next.emplace(f.path, std::move(t));
  }
  if (gone)
    for (const auto& [path, t] : files_)
      if (!next.count(path)) gone->push_back(path);
  files_ = std::move(next);
  return settled;
}

void StabilityTracker::retry(const std::string& path) {
  if (auto it = files_.find(path); it != files_.end()) it->second.reported = false;
}

std::optional<MonoTime> StabilityTracker::nextSettle() const {
  std::optional<MonoTime> earliest;
  for (const auto& [path, t] : files_)
    if (!t.reported && (!earliest || t.since + stableFor_ < *earliest))
      earliest = t.since + stableFor_;
  return earliest;
}

std::string formatMtime(int64_t mtimeNs) {
  return formatRfc3339(
      WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds(mtimeNs))));
}

Result<json> renderFileParams(const spec::TriggerSpec& trigger, const FileEntry& file) {
  json ctxFile = {{"path", file.path},
                  {"name", file.name},
                  {"size", std::to_string(file.size)},
                  {"mtime", formatMtime(file.mtimeNs)}};
  spec::TemplateContext ctx;
  ctx.file = &ctxFile;
  return renderTriggerParams(trigger, ctx);
}

std::string fileRunKey(const std::string& workflow, size_t index, const FileEntry& file) {
  return fmt::format("file:{}:{}:{}:{}:{}:{}", workflow, index, file.size, file.mtimeNs, file.inode,
                     file.path);
}

}  // namespace keel::triggers
