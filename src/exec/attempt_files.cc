#include "exec/attempt_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "exec/unique_fd.h"

namespace keel::exec::attempt_files {
namespace {

Error ioError(const std::string& what, int err) {
  return Error(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
               fmt::format("{}: {}", what, std::strerror(err)));
}

}  // namespace

std::string attemptDirName(const std::string& runId, const std::string& step, int attempt) {
  return fmt::format("{}.{}.{}", runId, step, attempt);
}

Status writeFileAtomic(const std::string& dir, const std::string& name, std::string_view content,
                       Durability durability) {
  const std::string tmp = dir + "/." + name + ".tmp";
  const std::string path = dir + "/" + name;
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.valid()) return ioError("cannot create " + tmp, errno);
    size_t done = 0;
    while (done < content.size()) {
      ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ioError("cannot write " + tmp, errno);
      done += static_cast<size_t>(n);
    }
    if (durability == Durability::kSynced && ::fsync(fd.get()) != 0)
      return ioError("cannot sync " + tmp, errno);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ioError("cannot rename " + tmp, errno);
  return okStatus();
}

Result<std::string> readFileCapped(const std::string& path, size_t cap) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ioError("cannot open " + path, errno);
  std::string text;
  char buf[64 * 1024];
  while (text.size() < cap) {
    ssize_t n = ::read(fd.get(), buf, std::min(sizeof buf, cap - text.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ioError("cannot read " + path, errno);
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

std::string formatProcessId(long long pid, unsigned long long start) {
  return fmt::format("{} {}\n", pid, start);
}

LockText readLock(const std::string& dir) {
  LockText out;
  auto text = readFileCapped(dir + "/" + kLock, 256);
  if (!text.ok()) return out;
  long long p1 = 0, p2 = 0;
  unsigned long long s1 = 0, s2 = 0;
  int n = std::sscanf(text->c_str(), "%lld %llu\n%lld %llu", &p1, &s1, &p2, &s2);
  if (n >= 2 && p1 > 0) out.supervisor = ProcessId{p1, s1};
  if (n >= 4 && p2 > 0) out.group = ProcessId{p2, s2};
  return out;
}

}  // namespace keel::exec::attempt_files
