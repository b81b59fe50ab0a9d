#include "store/sqlite/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace keel::store::sqlite {

namespace {

// The files this process holds, by inode. `pid` tells an entry of this
// process from one inherited through fork(), whose locks belong to the
// parent. `parked` keeps the descriptors of refused second acquires open
// until the holder lets go (see the header: closing them would drop
// SQLite's POSIX locks on the file).
struct Held {
  std::string path;
  pid_t pid;
  std::vector<int> parked;
};
using InodeKey = std::pair<dev_t, ino_t>;

std::mutex& registryMutex() {
  static std::mutex mu;
  return mu;
}
std::map<InodeKey, Held>& registry() {
  static std::map<InodeKey, Held> held;
  return held;
}

int flockOnce(int fd) {
  int rc;
  do {
    rc = ::flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : errno;
}

// A flock held by a keel that has just died can outlive it for a moment: a
// child it was starting (between its fork and its exec, which closes the
// copy) still holds the descriptor. So a held lock is tried again for a
// short while before it counts as another keel's.
constexpr auto kLockGrace = std::chrono::milliseconds(2000);

int flockNow(int fd) {
  const auto until = std::chrono::steady_clock::now() + kLockGrace;
  for (;;) {
    int err = flockOnce(fd);
    if (err != EWOULDBLOCK || std::chrono::steady_clock::now() >= until) return err;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Printable and short enough for one line of an error message.
std::string printable(std::string text) {
  constexpr size_t kMax = 200;
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

std::string commandLineOf(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!raw.empty() && raw.back() == '\0') raw.pop_back();
  for (char& c : raw)
    if (c == '\0') c = ' ';
  return printable(raw);
}

// "pid 123: keel serve --db ..." for the process holding a flock on the
// inode, from /proc/locks; "pid unknown" when it cannot be found (another
// pid namespace, /proc not mounted).
std::string describeHolder(dev_t dev, ino_t ino) {
  std::ifstream locks("/proc/locks");
  std::string wanted = fmt::format("{:02x}:{:02x}:{}", major(dev), minor(dev), ino);
  std::string line;
  while (std::getline(locks, line)) {
    // "1: FLOCK  ADVISORY  WRITE 4242 fe:00:10952943 0 EOF"; waiters have
    // "->" after the number and are skipped.
    std::istringstream fields(line);
    std::string number, type, mode, access, pid, id;
    fields >> number >> type >> mode >> access >> pid >> id;
    if (type != "FLOCK" || id != wanted) continue;
    std::string command = commandLineOf(pid);
    return command.empty() ? "pid " + pid : fmt::format("pid {}: {}", pid, command);
  }
  return "pid unknown";
}

std::string readHolderPid(int fd) {
  char buf[32] = {};
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  // Empty when the holder has locked but not yet written its pid.
  return pid.empty() ? "unknown" : printable(pid);
}

// Locks PATH.lock and writes our pid into it. Returns the descriptor.
Result<int> lockSideFile(const std::string& databasePath) {
  std::string path = databasePath + ".lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Error(ErrorCode::kIo,
                 fmt::format("cannot open lock file {}: {}", path, std::strerror(errno)));
  }
  if (int err = flockNow(fd); err != 0) {
    std::string pid = err == EWOULDBLOCK ? readHolderPid(fd) : std::string();
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Error(ErrorCode::kFailedPrecondition,
                   fmt::format("database {} is in use by another keel process (pid {}, which "
                               "holds {})",
                               databasePath, pid, path));
    }
    return Error(ErrorCode::kIo, fmt::format("cannot lock {}: {}", path, std::strerror(err)));
  }
  // The pid is informational only (the lock itself is the flock), so a
  // failure to write it is not worth refusing to start over.
  std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] ssize_t n = ::pwrite(fd, pid.data(), pid.size(), 0);
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<FileLock>> FileLock::acquire(const std::string& databasePath) {
  // O_RDONLY is enough for flock; SQLite opens the file for writing itself.
  int fd = ::open(databasePath.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Error(ErrorCode::kIo, fmt::format("cannot open database file {}: {}", databasePath,
                                             std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Error(ErrorCode::kIo,
                 fmt::format("cannot stat database file {}: {}", databasePath, std::strerror(err)));
  }
  std::lock_guard guard(registryMutex());
  InodeKey key{st.st_dev, st.st_ino};
  if (auto it = registry().find(key); it != registry().end()) {
    if (it->second.pid == ::getpid()) {
      it->second.parked.push_back(fd);
      return Error(ErrorCode::kFailedPrecondition,
                   fmt::format("database {} is already open in this process (as {})", databasePath,
                               it->second.path));
    }
    registry().erase(it);  // the parent's, inherited through fork()
  }
  if (int err = flockNow(fd); err != 0) {
    // Safe to close: no store of this process uses this file (the registry
    // says so), hence no SQLite lock of ours can be dropped.
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Error(ErrorCode::kFailedPrecondition,
                   fmt::format("database {} is in use by another process ({}); one keel serves "
                               "a database file, whatever path names it",
                               databasePath, describeHolder(st.st_dev, st.st_ino)));
    }
    return Error(ErrorCode::kIo,
                 fmt::format("cannot lock database file {}: {}", databasePath, std::strerror(err)));
  }
  auto side = lockSideFile(databasePath);
  if (!side.ok()) {
    ::close(fd);
    return side.error();
  }
  registry()[key] = Held{databasePath, ::getpid(), {}};
  return std::unique_ptr<FileLock>(new FileLock(databasePath, fd, *side, st.st_dev, st.st_ino));
}

FileLock::~FileLock() {
  // Closing the descriptors releases the flocks. The side file stays:
  // removing it would race with a process that has just opened it to lock,
  // and it marks that a database lives at this path.
  std::lock_guard guard(registryMutex());
  if (auto it = registry().find({dev_, ino_}); it != registry().end()) {
    for (int parked : it->second.parked) ::close(parked);
    registry().erase(it);
  }
  ::close(sideFd_);
  ::close(fd_);
}

Status FileLock::checkPath() const {
  struct stat now {};
  if (::stat(path_.c_str(), &now) != 0) {
    int err = errno;
    if (err != ENOENT && err != ENOTDIR) {
      return Error(ErrorCode::kUnavailable,
                   fmt::format("cannot check database file {}: {}", path_, std::strerror(err)));
    }
    struct stat open {};
    bool unlinked = ::fstat(fd_, &open) == 0 && open.st_nlink == 0;
    return Error(ErrorCode::kUnavailable,
                 fmt::format("database file {} was {} while keel had it open; restart keel", path_,
                             unlinked ? "deleted" : "moved away"));
  }
  if (now.st_dev != dev_ || now.st_ino != ino_) {
    return Error(ErrorCode::kUnavailable,
                 fmt::format("database file {} was replaced by another file while keel had it "
                             "open; restart keel",
                             path_));
  }
  return okStatus();
}

}  // namespace keel::store::sqlite
