#include "exec/shim_client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "exec/attempt_files.h"
#include "exec/classify.h"
#include "exec/proc.h"
#include "exec/spawn.h"
#include "exec/unique_fd.h"

namespace keel::exec {
namespace {

namespace files = attempt_files;
using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using nlohmann::json;
using std::chrono::milliseconds;

// Without a pidfd the supervisor's end is checked this often.
constexpr milliseconds kExitCheckTick{100};
// The supervisor writes `shim` right after taking the lock; a lock found
// held without it is given this long to appear.
constexpr milliseconds kShimFileWait{2000};
// Captured output files are capped by the supervisor; this only guards
// keel's memory against a damaged folder.
constexpr size_t kLogReadCap = 16 << 20;

StepOutcome failedOutcome(FailureClass cls, std::string message) {
  StepOutcome o;
  o.failureClass = cls;
  o.message = std::move(message);
  return o;
}

std::string pathIn(const std::string& dir, const char* name) { return dir + "/" + name; }

std::string dirOf(const ShimConfig& config, const std::string& runId, const std::string& step,
                  int attempt) {
  return config.attemptsDir + "/" + files::attemptDirName(runId, step, attempt);
}

UniqueFd openPidfd(pid_t pid) {
  return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

bool sendSignal(const UniqueFd& pidfd, pid_t pid, int sig) {
  if (pidfd.valid()) return ::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) == 0;
  return ::kill(pid, sig) == 0;  // only without pidfd support (kernels before 5.3)
}

// The step's $KEEL_OUTPUT, normalised to compact JSON; "" when the file is
// empty (or only whitespace).
Result<std::string> readOutputFile(const std::string& path, size_t cap) {
  auto text = files::readFileCapped(path, cap + 1);
  if (!text.ok()) {
    if (text.error().code() == ErrorCode::kNotFound) return std::string();
    return Error(ErrorCode::kIo, "cannot read the output file: " + text.error().message());
  }
  if (text->size() > cap)
    return Error(ErrorCode::kTooLarge,
                 fmt::format("output file is too large (more than {} bytes)", cap));
  if (text->find_first_not_of(" \t\r\n") == std::string::npos) return std::string();
  try {
    return json::parse(*text).dump();
  } catch (const json::exception& e) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("output file is not valid JSON: {}", e.what()));
  }
}

std::string readText(const std::string& dir, const char* name) {
  auto t = files::readFileCapped(pathIn(dir, name), kLogReadCap);
  return t.ok() ? std::move(*t) : std::string();
}

// How the supervisor itself ended, for a message when it left no status.
std::string describeShimEnd(std::optional<int> waitStatus) {
  if (!waitStatus) return "its supervisor is gone";
  if (WIFSIGNALED(*waitStatus))
    return "its supervisor was " + describeSignal(WTERMSIG(*waitStatus));
  return fmt::format("its supervisor exited with code {}", WEXITSTATUS(*waitStatus));
}

// The outcome from the files the supervisor left; nullopt without a status.
std::optional<StepOutcome> collect(const std::string& dir, size_t outputCap) {
  auto statusText = files::readFileCapped(pathIn(dir, files::kStatus), 1 << 20);
  if (!statusText.ok()) return std::nullopt;
  json s = json::parse(*statusText, nullptr, false);
  if (!s.is_object()) return std::nullopt;
  StepOutcome o;
  std::string logs = readText(dir, files::kLogs);
  size_t outLen = std::min(logs.size(), s.value("stdout_kept", logs.size()));
  o.stdoutText = logs.substr(0, outLen);
  o.stderrText = logs.substr(outLen);
  if (s.contains("ended_at_ms") && s["ended_at_ms"].is_number_integer())
    o.endedAt =
        std::chrono::system_clock::time_point(milliseconds(s["ended_at_ms"].get<int64_t>()));
  o.stdoutBytes = s.value("stdout_bytes", int64_t{0});
  o.stderrBytes = s.value("stderr_bytes", int64_t{0});
  if (s.contains("error") && s["error"].is_string()) {
    auto cls = parseFailureClass(s.value("error_class", std::string("error")));
    o.failureClass = cls.value_or(FailureClass::kError);
    o.message = s["error"].get<std::string>();
    return o;
  }
  ExitFacts f;
  if (s["exit_code"].is_number_integer()) f.exitCode = s["exit_code"].get<int>();
  if (s["signal"].is_number_integer()) f.signal = s["signal"].get<int>();
  const std::string stopped = s.value("stopped", std::string());
  if (stopped == "deadline") {
    f.stoppedAs = FailureClass::kTimeout;
  } else if (stopped == "signal") {
    // keel names the class before it signals; a stop from elsewhere has none
    // and the step's own exit decides.
    auto why = files::readFileCapped(pathIn(dir, files::kStop), 64);
    if (why.ok()) f.stoppedAs = parseFailureClass(*why);
  }
  f.stoppedAfter = milliseconds(s.value("stopped_after_ms", int64_t{0}));
  f.sigtermSent = s.value("sigterm_sent", false);
  f.sigkillAfterGrace = s.value("sigkill_after_grace", false);
  f.killGrace = milliseconds(s.value("grace_ms", int64_t{0}));
  o.exitCode = f.exitCode;
  o.signal = f.signal;
  o.failureClass = classifyExit(f.exitCode, f.signal, f.stoppedAs);
  o.message = describeExit(f);
  if (size_t survivors = s.value("survivors", size_t{0}); survivors > 0)
    o.message += fmt::format("; {} process(es) of the step could not be killed", survivors);
  if (o.failureClass == FailureClass::kNone) {
    auto output = readOutputFile(pathIn(dir, files::kOutput), outputCap);
    if (output.ok()) {
      o.outputJson = std::move(*output);
    } else {
      o.failureClass = FailureClass::kError;
      o.message = output.error().message();
    }
  }
  o.succeeded = o.failureClass == FailureClass::kNone;
  return o;
}

// Waits for the supervisor's end (or a detach request), passing a stop
// request on. `child` is set when this process started it (and reaps it).
// Returns the supervisor's wait status when known, or nullopt; sets
// `detached` when asked to stop watching.
std::optional<int> watchShim(pid_t pid, const UniqueFd& pidfd, bool child, const std::string& dir,
                             StopLatch& latch, bool& detached) {
  bool stopSent = false;
  for (;;) {
    std::array<pollfd, 2> fds{};
    nfds_t n = 0;
    if (pidfd.valid()) fds[n++] = pollfd{pidfd.get(), POLLIN, 0};
    const int latchIx = latch.valid() ? static_cast<int>(n) : -1;
    if (latch.valid()) fds[n++] = pollfd{latch.fd(), POLLIN, 0};
    int timeout = pidfd.valid() ? -1 : static_cast<int>(kExitCheckTick.count());
    if (::poll(fds.data(), n, timeout) < 0 && errno != EINTR) return std::nullopt;
    if (latchIx >= 0 && fds[latchIx].revents != 0) {
      latch.drain();
      if (latch.detachRequested()) {
        detached = true;
        return std::nullopt;
      }
      if (auto stop = latch.get(); stop && !stopSent) {
        stopSent = true;
        // Best effort: without it the stop still happens, classed by the step's exit.
        [[maybe_unused]] auto st =
            files::writeFileAtomic(dir, files::kStop, std::string(toString(stop->why)));
        sendSignal(pidfd, pid, SIGTERM);
      }
    }
    bool ended = false;
    if (child) {
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
        ended = errno != EINTR;
      else
        ended = info.si_pid == pid;
    } else if (pidfd.valid()) {
      ended = fds[0].revents != 0;
    } else {
      auto st = readProcStat(pid);
      ended = !st || st->state == 'Z' || st->state == 'X';
    }
    if (!ended) continue;
    if (!child) return std::nullopt;
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(pid, &status, 0);
    } while (r < 0 && errno == EINTR);
    if (r == pid) return status;
    return std::nullopt;
  }
}

StepOutcome detachedOutcome() {
  StepOutcome o;
  o.detached = true;
  o.message = "keel stopped watching; the step runs on under its supervisor";
  return o;
}

// The end of an attempt whose supervisor has exited: its result, or lost.
StepOutcome finishAttempt(const std::string& dir, const AttemptRef& ref,
                          std::optional<int> shimStatus) {
  if (auto o = collect(dir, ref.outputCapBytes)) return std::move(*o);
  size_t killed = killAttemptLeftovers(dir, ref);
  return failedOutcome(
      FailureClass::kLost,
      fmt::format("{} without reporting the step's end; its outcome is unknown{}",
                  describeShimEnd(shimStatus),
                  killed ? fmt::format(" ({} leftover process(es) killed)", killed) : ""));
}

// Starts the supervisor in a session of its own (a signal to keel's
// process group or terminal never reaches it), with a clean signal state,
// no descriptor of keel's, and its stderr in the folder.
Result<pid_t> spawnShim(const ShimConfig& config, const std::string& dir,
                        const StepRequest& request, const std::vector<std::string>& environment) {
  SpawnSetup s(POSIX_SPAWN_SETSID);
  // It says what went wrong in the folder's shim.log, itself.
  posix_spawn_file_actions_addopen(&s.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&s.actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&s.actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addclosefrom_np(&s.actions, 3);

  const std::string timeout = std::to_string(request.timeout.count());
  const std::string grace = std::to_string(request.killGrace.count());
  const std::string cap = std::to_string(request.logCapBytes);
  std::vector<char*> argv = {const_cast<char*>("keel-shim"),
                             const_cast<char*>(dir.c_str()),
                             const_cast<char*>(timeout.c_str()),
                             const_cast<char*>(grace.c_str()),
                             const_cast<char*>(cap.c_str()),
                             const_cast<char*>(request.workdir.c_str()),
                             const_cast<char*>(request.command.c_str()),
                             nullptr};
  std::vector<char*> envp;
  envp.reserve(environment.size() + 1);
  for (const auto& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc =
      ::posix_spawn(&pid, config.shimPath.c_str(), &s.actions, &s.attr, argv.data(), envp.data());
  if (rc == E2BIG)
    return Error(ErrorCode::kTooLarge,
                 fmt::format("cannot start the step: the command ({} bytes) and its environment "
                             "are over the system's limit for a new program (E2BIG)",
                             request.command.size()));
  if (rc != 0)
    return Error(ErrorCode::kIo, fmt::format("cannot start the step supervisor {}: {}",
                                             config.shimPath, std::strerror(rc)));
  return pid;
}

std::optional<std::string> checkWorkdir(const std::string& workdir) {
  if (workdir.empty()) return std::nullopt;
  struct stat st {};
  if (::stat(workdir.c_str(), &st) != 0) {
    if (errno == ENOENT) return fmt::format("working directory {} does not exist", workdir);
    return fmt::format("working directory {}: {}", workdir, std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) return fmt::format("working directory {} is not a directory", workdir);
  return std::nullopt;
}

// True when a live supervisor holds the folder's lock. When it does not,
// the lock is left held in `lock` for the caller.
bool supervisorAlive(const std::string& dir, UniqueFd& lock) {
  lock.reset(::open(pathIn(dir, files::kLock).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock.valid()) return false;
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) == 0) return false;
  return errno == EWOULDBLOCK;
}

// Whether `pid` is the supervisor the folder's lock names (same pid and
// start time): a pid alone may have been reused.
bool isRecordedSupervisor(const std::string& dir, pid_t pid) {
  auto who = files::readLock(dir).supervisor;
  auto st = readProcStat(pid);
  return who && st && who->pid == pid && st->startTime == who->start;
}

// The live supervisor's pid, checked against its recorded start time.
std::optional<pid_t> livePid(const std::string& dir) {
  const auto until = SteadyClock::now() + kShimFileWait;
  do {
    if (auto who = files::readLock(dir).supervisor) {
      auto pid = static_cast<pid_t>(who->pid);
      if (isRecordedSupervisor(dir, pid)) return pid;
      return std::nullopt;
    }
    std::this_thread::sleep_for(milliseconds(10));
  } while (SteadyClock::now() < until);
  return std::nullopt;
}

}  // namespace

StepOutcome stoppedBeforeStart(FailureClass why, milliseconds after) {
  ExitFacts f;
  f.stoppedAs = why;
  f.stoppedAfter = after;
  return failedOutcome(why, describeExit(f));
}

StepOutcome runUnderShim(const StepRequest& request, StopLatch& latch, TimePoint acceptedAt,
                         const ShimConfig& config) {
  if (auto stop = latch.get())
    return stoppedBeforeStart(stop->why,
                              std::chrono::duration_cast<milliseconds>(stop->at - acceptedAt));
  if (!latch.valid())
    return failedOutcome(FailureClass::kError,
                         "cannot create an eventfd for the attempt (out of file descriptors?)");
  if (request.command.find('\0') != std::string::npos)
    return failedOutcome(FailureClass::kBadInput, "the command contains a NUL byte");
  if (request.workdir.find('\0') != std::string::npos)
    return failedOutcome(FailureClass::kBadInput, "the working directory contains a NUL byte");
  if (auto problem = checkWorkdir(request.workdir))
    return failedOutcome(FailureClass::kError, *problem);

  std::error_code ec;
  // Owner only, like every attempt folder in it: logs and outputs are the steps'.
  if (::mkdir(config.attemptsDir.c_str(), 0700) != 0 && errno == ENOENT) {
    std::filesystem::create_directories(std::filesystem::path(config.attemptsDir).parent_path(),
                                        ec);
    ::mkdir(config.attemptsDir.c_str(), 0700);
  }
  const std::string dir = dirOf(config, request.runId, request.step, request.attempt);
  if (std::filesystem::exists(dir, ec)) {
    UniqueFd lock;
    if (supervisorAlive(dir, lock))
      return failedOutcome(FailureClass::kError,
                           fmt::format("a supervisor for this attempt already runs ({})", dir));
    std::filesystem::remove_all(dir, ec);
  }
  if (::mkdir(dir.c_str(), 0700) != 0)
    return failedOutcome(
        FailureClass::kError,
        fmt::format("cannot create the attempt folder {}: {}", dir, std::strerror(errno)));
  std::map<std::string, std::string> env = request.env;
  // The executor's, whatever request.env says. The three names also mark
  // every process of the attempt, for killAttemptLeftovers().
  env["KEEL_OUTPUT"] = pathIn(dir, files::kOutput);
  env["KEEL_RUN_ID"] = request.runId;
  env["KEEL_STEP"] = request.step;
  env["KEEL_ATTEMPT"] = std::to_string(request.attempt);
  auto environment = buildEnvironment(env, request.passEnv);
  if (!environment.ok())
    return failedOutcome(FailureClass::kBadInput, environment.error().message());
  auto pid = spawnShim(config, dir, request, *environment);
  if (!pid.ok()) {
    // Too long: the same input fails the same way on every attempt, so it
    // is bad input, never retried blindly (G6).
    bool badInput = pid.error().code() == ErrorCode::kTooLarge;
    return failedOutcome(badInput ? FailureClass::kBadInput : FailureClass::kError,
                         pid.error().message());
  }
  UniqueFd pidfd = openPidfd(*pid);
  bool detached = false;
  auto shimStatus = watchShim(*pid, pidfd, true, dir, latch, detached);
  latch.markEnded();
  if (detached) return detachedOutcome();
  AttemptRef ref{request.runId, request.step, request.attempt, request.outputCapBytes};
  return finishAttempt(dir, ref, shimStatus);
}

StepOutcome reattachShim(const AttemptRef& ref, StopLatch& latch, const ShimConfig& config) {
  const std::string dir = dirOf(config, ref.runId, ref.step, ref.attempt);
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec))
    return failedOutcome(FailureClass::kLost,
                         "keel stopped before this attempt's step was started; nothing ran");
  UniqueFd lock;
  if (!supervisorAlive(dir, lock)) {
    // No supervisor, and none can start now: this process holds the lock.
    if (auto o = collect(dir, ref.outputCapBytes)) return std::move(*o);
    [[maybe_unused]] auto st = files::writeFileAtomic(dir, files::kAbandoned, "");
    lock.reset();
    // A supervisor writes `shim` before it starts anything.
    if (!files::readLock(dir).supervisor)
      return failedOutcome(FailureClass::kLost,
                           "keel stopped before this attempt's step was started; nothing ran");
    size_t killed = killAttemptLeftovers(dir, ref);
    return failedOutcome(
        FailureClass::kLost,
        fmt::format("keel stopped while this attempt was running and its supervisor is gone; "
                    "its outcome is unknown{}",
                    killed ? fmt::format(" ({} leftover process(es) killed)", killed) : ""));
  }
  lock.reset();
  auto pid = livePid(dir);
  UniqueFd pidfd = pid ? openPidfd(*pid) : UniqueFd();
  // Checked again once the pidfd pins the process: the pid may have been reused in between.
  if (pid && pidfd.valid() && !isRecordedSupervisor(dir, *pid)) pid.reset();
  if (!pid) {
    // The lock holder cannot be identified: wait for the lock itself.
    lock.reset(::open(pathIn(dir, files::kLock).c_str(), O_RDWR | O_CLOEXEC));
    if (lock.valid()) ::flock(lock.get(), LOCK_EX);
    lock.reset();
    latch.markEnded();
    return finishAttempt(dir, ref, std::nullopt);
  }
  bool detached = false;
  watchShim(*pid, pidfd, false, dir, latch, detached);
  latch.markEnded();
  if (detached) return detachedOutcome();
  return finishAttempt(dir, ref, std::nullopt);
}

std::vector<std::string> staleAttemptDirs(const ShimConfig& config,
                                          const std::set<std::string>& keep) {
  std::error_code ec;
  std::vector<std::string> stale;
  for (const auto& e : std::filesystem::directory_iterator(config.attemptsDir, ec)) {
    std::string name = e.path().filename().string();
    if (!keep.count(name)) stale.push_back(e.path().string());
  }
  return stale;
}

bool clearStaleAttemptDir(const std::string& dir) {
  UniqueFd lock;
  if (supervisorAlive(dir, lock)) {
    if (auto pid = livePid(dir)) {
      UniqueFd pidfd = openPidfd(*pid);
      [[maybe_unused]] auto st = files::writeFileAtomic(dir, files::kStop, "lost");
      sendSignal(pidfd, *pid, SIGTERM);
    }
    return false;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return true;
}

size_t killAttemptLeftovers(const std::string& dir, const AttemptRef& ref) {
  const std::vector<std::string> markers = {"KEEL_RUN_ID=" + ref.runId, "KEEL_STEP=" + ref.step,
                                            "KEEL_ATTEMPT=" + std::to_string(ref.attempt)};
  // The group counts only while it is provably the step's: its leader
  // alive with the recorded start time, or no process with its number at
  // all (then the remaining members are the step's, since a group id is
  // never reused while a member lives).
  std::optional<pid_t> group;
  if (auto leaderId = files::readLock(dir).group; leaderId && leaderId->pid > 1) {
    auto leader = readProcStat(static_cast<pid_t>(leaderId->pid));
    if (!leader || leader->startTime == leaderId->start) group = static_cast<pid_t>(leaderId->pid);
  }
  const pid_t self = ::getpid();
  std::unordered_set<pid_t> killed;
  const auto until = SteadyClock::now() + std::chrono::seconds(10);
  for (;;) {
    std::vector<pid_t> victims;
    for (const auto& p : listProcesses()) {
      if (p.pid == self || p.state == 'Z' || p.state == 'X') continue;
      if ((group && p.pgrp == *group) || environHasAll(p.pid, markers)) victims.push_back(p.pid);
    }
    if (victims.empty() || SteadyClock::now() >= until) break;
    for (pid_t p : victims) {
      ::kill(p, SIGKILL);
      killed.insert(p);
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return killed.size();
}

}  // namespace keel::exec
