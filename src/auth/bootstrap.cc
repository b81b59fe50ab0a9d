#include "auth/bootstrap.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "audit/record.h"
#include "auth/token.h"

namespace keel::auth {
namespace {

Error ioError(const std::string& what, const std::string& path, int err) {
  return Error(ErrorCode::kIo, fmt::format("cannot {} {}: {}", what, path, std::strerror(err)));
}

Status writeAll(int fd, const std::string& text, const std::string& path) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ioError("write", path, errno);
    done += static_cast<size_t>(n);
  }
  return okStatus();
}

Status syncDirectoryOf(const std::string& path) {
  auto dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ioError("open directory", dir.string(), errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ioError("fsync directory", dir.string(), err);
  return okStatus();
}

}  // namespace

Status writeTokenFile(const std::string& path, const std::string& secret) {
  std::string tmp = fmt::format("{}.tmp-{}", path, ::getpid());
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ioError("create token file", tmp, errno);
  Status written = writeAll(fd, secret + "\n", tmp);
  if (written.ok() && ::fsync(fd) != 0) written = ioError("fsync", tmp, errno);
  ::close(fd);
  if (written.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    written = ioError("rename the new token file to", path, errno);
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return written;
  }
  return syncDirectoryOf(path);
}

Result<bool> ensureAdminToken(store::Store& store, const std::string& tokenFile, WallTime now) {
  auto tokens = store.listTokens();
  if (!tokens.ok()) return tokens.error();
  if (!tokens->empty()) return false;
  std::string secret = newTokenSecret();
  KEEL_TRY(writeTokenFile(tokenFile, secret));
  store::TokenRow row;
  row.name = kAdminTokenName;
  row.hash = tokenHash(secret);
  row.role = "admin";
  row.createdAt = now;
  row.createdBy = "keel serve";
  // The first entry of a new database's audit log (never the secret).
  RequestContext keel;
  keel.token = "keel serve";
  keel.reason = "the first admin token of a new database";
  audit::Entry entry = audit::record(keel, "token.create", row.name, now,
                                     R"({"role":"admin","token":")" + row.name + R"("})");
  KEEL_TRY(store.putToken(row, &entry));
  return true;
}

}  // namespace keel::auth
