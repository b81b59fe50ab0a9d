#include "exec/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

namespace keel::exec {
namespace {

Error sysError(const std::string& what, int err) {
  return Error(ErrorCode::kIo, fmt::format("{}: {}", what, std::strerror(err)));
}

// A descriptor at 3 or above: if the server runs with 0, 1 or 2 closed, a new
// pipe could land there and be clobbered by the child's own dup2 calls.
Result<UniqueFd> aboveStdio(int fd) {
  UniqueFd owned(fd);
  if (fd > 2) return owned;
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (moved < 0) return sysError("fcntl(F_DUPFD_CLOEXEC)", errno);
  return UniqueFd(moved);
}

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Result<Pipe> makePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return sysError("pipe2", errno);
  auto r = aboveStdio(fds[0]);
  auto w = aboveStdio(fds[1]);
  if (!r.ok()) return r.error();
  if (!w.ok()) return w.error();
  int flags = ::fcntl(r->get(), F_GETFL);
  ::fcntl(r->get(), F_SETFL, flags | O_NONBLOCK);
  return Pipe{std::move(*r), std::move(*w)};
}

void configure(SpawnSetup& s, const Pipe& out, const Pipe& err, const std::string& workdir) {
  posix_spawnattr_setpgroup(&s.attr, 0);  // its own group: a stop signals the whole of it

  posix_spawn_file_actions_addopen(&s.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&s.actions, out.write.get(), 1);
  posix_spawn_file_actions_adddup2(&s.actions, err.write.get(), 2);
  if (!workdir.empty()) posix_spawn_file_actions_addchdir_np(&s.actions, workdir.c_str());
  // Everything else goes, including descriptors other threads opened
  // without O_CLOEXEC an instant ago.
  posix_spawn_file_actions_addclosefrom_np(&s.actions, 3);
}

}  // namespace

SpawnSetup::SpawnSetup(short flags) {
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_setflags(&attr, flags | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
}

SpawnSetup::~SpawnSetup() {
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
}

Result<std::vector<std::string>> buildEnvironment(
    const std::map<std::string, std::string>& overrides,
    const std::vector<std::string>& passThrough) {
  for (const auto& [name, value] : overrides) {
    if (name.empty() || name.find_first_of(std::string_view("=\0", 2)) != std::string::npos)
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("invalid environment variable name '{}'", name));
    if (size_t nul = value.find('\0'); nul != std::string::npos)
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("environment variable {}: the value contains a NUL byte at "
                               "offset {}",
                               name, nul));
  }
  std::map<std::string, std::string> env;
  auto inherit = [&](const std::string& name) {
    if (const char* v = ::getenv(name.c_str())) env[name] = v;
  };
  for (const char* name : kBaseEnvironment) inherit(name);
  if (!env.count("PATH")) env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& name : passThrough) {
    if (name.empty() || name.find('=') != std::string::npos)
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("invalid environment variable name '{}'", name));
    inherit(name);
  }
  for (const auto& [name, value] : overrides) env[name] = value;
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

Result<SpawnedShell> spawnShell(const std::string& command, const std::string& workdir,
                                const std::vector<std::string>& environment) {
  if (command.find('\0') != std::string::npos)
    return Error(ErrorCode::kInvalidArgument, "the command contains a NUL byte");
  if (workdir.find('\0') != std::string::npos)
    return Error(ErrorCode::kInvalidArgument, "the working directory contains a NUL byte");
  auto out = makePipe();
  if (!out.ok()) return out.error();
  auto err = makePipe();
  if (!err.ok()) return err.error();

  SpawnSetup setup(POSIX_SPAWN_SETPGROUP);
  configure(setup, *out, *err, workdir);
  std::vector<char*> argv = {const_cast<char*>("sh"), const_cast<char*>("-c"),
                             const_cast<char*>(command.c_str()), nullptr};
  std::vector<char*> envp;
  envp.reserve(environment.size() + 1);
  for (const auto& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, "/bin/sh", &setup.actions, &setup.attr, argv.data(), envp.data());
  if (rc != 0) {
    // glibc reports the child's failures (chdir, exec) as the return value.
    if (rc == ENOENT && !workdir.empty() && ::access(workdir.c_str(), F_OK) != 0)
      return Error(ErrorCode::kNotFound,
                   fmt::format("working directory {} does not exist", workdir));
    if (rc == E2BIG)
      return Error(ErrorCode::kTooLarge,
                   fmt::format("cannot start /bin/sh: the command ({} bytes) and its environment "
                               "are over the system's limit for a new program (E2BIG)",
                               command.size()));
    return sysError("cannot start /bin/sh", rc);
  }
  return SpawnedShell{pid, std::move(out->read), std::move(err->read)};
}

}  // namespace keel::exec
