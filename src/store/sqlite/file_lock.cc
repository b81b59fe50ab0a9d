#include "store/sqlite/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace keel::store::sqlite {

namespace {

std::string readHolderPid(int fd) {
  char buf[32] = {};
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  // Empty when the holder has locked but not yet written its pid.
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

Result<std::unique_ptr<FileLock>> FileLock::acquire(const std::string& databasePath) {
  std::string path = databasePath + ".lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Error(ErrorCode::kIo,
                 fmt::format("cannot open lock file {}: {}", path, std::strerror(errno)));
  }
  int rc;
  do {
    rc = ::flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    std::string pid = err == EWOULDBLOCK ? readHolderPid(fd) : std::string();
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Error(
          ErrorCode::kFailedPrecondition,
          fmt::format("database {} is in use by another keel process (pid {})", databasePath, pid));
    }
    return Error(ErrorCode::kIo, fmt::format("cannot lock {}: {}", path, std::strerror(err)));
  }
  // The pid is informational only (the lock itself is the flock), so a
  // failure to write it is not worth refusing to start over.
  std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] ssize_t n = ::pwrite(fd, pid.data(), pid.size(), 0);
  }
  return std::unique_ptr<FileLock>(new FileLock(fd));
}

FileLock::~FileLock() {
  // Closing the descriptor releases the flock. The file stays: removing it
  // would race with a process that has just opened it to lock.
  ::close(fd_);
}

}  // namespace keel::store::sqlite
