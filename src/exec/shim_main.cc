// keel-shim: the supervisor of one attempt of a `run:` step.
//
//   keel-shim DIR TIMEOUT_MS GRACE_MS LOG_CAP WORKDIR COMMAND
//
// keel starts it in a session of its own with the step's environment; it
// outlives keel. It takes DIR/lock (and exits at once if it cannot, or if
// keel already gave the attempt up), makes itself the child subreaper so
// that every descendant of the step stays its own to kill (even one that
// called setsid), writes its pid and start time, and runs `/bin/sh -c
// COMMAND` in a new process group with output captured (capped: head and
// tail, and appended as read to DIR/live for keel to follow). It enforces the attempt's deadline
// itself (TIMEOUT_MS after its start, 0 for none): SIGTERM to everything the step started, SIGKILL
// after GRACE_MS. SIGTERM or SIGINT sent to the shim stops the step the same way. When the step's
// shell has exited, its output is read for at most 2 more seconds; then whatever is left of the
// step is killed and reaped, the captured output is written, and the status, last, atomically. The
// folder layout is described in attempt_files.h.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "exec/attempt_files.h"
#include "exec/proc.h"
#include "exec/spawn.h"
#include "exec/stream_capture.h"

extern char** environ;

namespace keel::exec {
namespace {

namespace files = attempt_files;
using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using std::chrono::milliseconds;

constexpr milliseconds kDrainAfterExit{2000};
constexpr milliseconds kExitCheckTick{100};
// How long the final cleanup keeps killing before it reports what survived
// (a process stuck in uninterruptible sleep cannot die at once).
constexpr milliseconds kCleanupLimit{10'000};
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxReadPerWake = 1 << 20;

struct Args {
  std::string dir;
  milliseconds timeout{0};
  milliseconds grace{0};
  size_t logCap = 1 << 20;
  std::string workdir;
  std::string command;
};

std::optional<Args> parseArgs(int argc, char** argv) {
  if (argc != 7) return std::nullopt;
  Args a;
  char* end = nullptr;
  a.dir = argv[1];
  a.timeout = milliseconds(std::strtoll(argv[2], &end, 10));
  if (*end) return std::nullopt;
  a.grace = milliseconds(std::strtoll(argv[3], &end, 10));
  if (*end) return std::nullopt;
  a.logCap = std::strtoull(argv[4], &end, 10);
  if (*end) return std::nullopt;
  a.workdir = argv[5];
  a.command = argv[6];
  return a;
}

struct Stream {
  UniqueFd fd;
  StreamCapture capture;
};

// DIR/live: every byte read from either stream, appended as it is read, so
// that keel can show a running step's output. Stops past `cap` bytes with a
// line that says so; a failed write stops it too (the step runs on: the
// live copy is a convenience, `logs` is the record).
class LiveCopy {
 public:
  LiveCopy(UniqueFd fd, size_t cap) : fd_(std::move(fd)), cap_(cap) {}
  void append(std::string_view data) {
    if (!fd_.valid()) return;
    const size_t room = cap_ - std::min(cap_, written_);
    if (!writeAll(data.substr(0, room))) return;
    if (data.size() > room) {
      writeAll(
          fmt::format("\n[keel: live output stopped after {} bytes; the step's logs keep "
                      "the head and tail of each stream]\n",
                      cap_));
      fd_.reset();
    }
  }

 private:
  bool writeAll(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::write(fd_.get(), data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fd_.reset();
        return false;
      }
      written_ += static_cast<size_t>(n);
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  UniqueFd fd_;
  size_t cap_;
  size_t written_ = 0;
};

class Supervisor {
 public:
  Supervisor(const Args& args, SpawnedShell shell, UniqueFd signals, TimePoint start, UniqueFd live)
      : args_(args),
        pid_(shell.pid),
        out_{std::move(shell.stdoutFd), StreamCapture(args.logCap)},
        err_{std::move(shell.stderrFd), StreamCapture(args.logCap)},
        pidfd_(static_cast<int>(::syscall(SYS_pidfd_open, shell.pid, 0))),
        signals_(std::move(signals)),
        start_(start),
        live_(std::move(live), 2 * args.logCap),
        buf_(kReadChunk, '\0') {
    if (args.timeout.count() > 0) deadline_ = start + args.timeout;
  }

  void run();
  nlohmann::json status() const;
  const Stream& out() const { return out_; }
  const Stream& err() const { return err_; }

 private:
  void readSome(Stream& s);
  void checkExit();
  void stop(const char* why, TimePoint now);
  void signalEverything(int sig);
  int pollTimeoutMs(TimePoint now) const;
  void cleanUp();

  const Args& args_;
  const pid_t pid_;
  Stream out_, err_;
  UniqueFd pidfd_;
  UniqueFd signals_;
  const TimePoint start_;
  LiveCopy live_;
  std::optional<TimePoint> deadline_;
  std::string buf_;
  bool exited_ = false;
  bool reaped_ = false;
  std::optional<int> exitCode_;
  std::optional<int> signal_;
  std::string stoppedBy_;  // "deadline" or "signal"
  milliseconds stoppedAfter_{0};
  bool sigtermSent_ = false;
  bool sigkillAfterGrace_ = false;
  std::optional<TimePoint> killAt_;
  std::optional<TimePoint> drainUntil_;
  size_t survivors_ = 0;
  std::optional<std::chrono::system_clock::time_point> endedAt_;
  std::string failure_;
};

void Supervisor::run() {
  for (;;) {
    const TimePoint now = SteadyClock::now();
    if (exited_ && ((!out_.fd.valid() && !err_.fd.valid()) || now >= *drainUntil_)) break;
    if (!exited_ && stoppedBy_.empty() && deadline_ && now >= *deadline_) stop("deadline", now);
    if (!exited_ && killAt_ && !sigkillAfterGrace_ && now >= *killAt_) {
      signalEverything(SIGKILL);
      sigkillAfterGrace_ = true;
    }
    std::array<pollfd, 4> fds{};
    nfds_t n = 0;
    auto add = [&](int fd) {
      if (fd >= 0) fds[n++] = pollfd{fd, POLLIN, 0};
      return fd >= 0 ? static_cast<int>(n - 1) : -1;
    };
    const int outIx = add(out_.fd.get());
    const int errIx = add(err_.fd.get());
    const int pidIx = add(exited_ ? -1 : pidfd_.get());
    const int sigIx = add(signals_.get());
    if (::poll(fds.data(), n, pollTimeoutMs(now)) < 0) {
      if (errno == EINTR) continue;
      failure_ = fmt::format("poll failed: {}", std::strerror(errno));
      break;
    }
    auto ready = [&](int ix) { return ix >= 0 && fds[ix].revents != 0; };
    if (ready(outIx)) readSome(out_);
    if (ready(errIx)) readSome(err_);
    if (!exited_ && (ready(pidIx) || !pidfd_.valid())) checkExit();
    if (ready(sigIx)) {
      signalfd_siginfo info{};
      [[maybe_unused]] ssize_t r = ::read(signals_.get(), &info, sizeof info);
      if (!exited_ && stoppedBy_.empty()) stop("signal", SteadyClock::now());
    }
  }
  cleanUp();
}

void Supervisor::readSome(Stream& s) {
  size_t budget = kMaxReadPerWake;
  while (budget > 0 && s.fd.valid()) {
    ssize_t n = ::read(s.fd.get(), buf_.data(), buf_.size());
    if (n > 0) {
      const std::string_view data(buf_.data(), static_cast<size_t>(n));
      s.capture.append(data);
      live_.append(data);
      budget -= std::min(budget, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else {
      s.fd.reset();
    }
  }
}

// The shell's status, read without reaping it: a zombie leader keeps its
// pid and process group id reserved until cleanUp() reaps it.
void Supervisor::checkExit() {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno == EINTR) return;
    reaped_ = true;  // cannot happen: nobody else waits for our children
  } else if (info.si_pid != pid_) {
    return;
  } else if (info.si_code == CLD_EXITED) {
    exitCode_ = info.si_status;
  } else {
    signal_ = info.si_status;
  }
  exited_ = true;
  endedAt_ = std::chrono::system_clock::now();
  drainUntil_ = SteadyClock::now() + kDrainAfterExit;
}

void Supervisor::stop(const char* why, TimePoint now) {
  stoppedBy_ = why;
  stoppedAfter_ = std::chrono::duration_cast<milliseconds>(now - start_);
  sigtermSent_ = true;
  signalEverything(SIGTERM);
  killAt_ = now + args_.grace;
}

// The step's process group and every other process below this one, so a
// step that left its group (setsid, setpgid) is reached as well.
void Supervisor::signalEverything(int sig) {
  if (!reaped_) ::kill(-pid_, sig);
  for (pid_t p : descendantsOf(::getpid(), listProcesses())) ::kill(p, sig);
}

int Supervisor::pollTimeoutMs(TimePoint now) const {
  std::optional<TimePoint> next;
  auto consider = [&](TimePoint t) { next = next ? std::min(*next, t) : t; };
  if (!exited_ && deadline_ && stoppedBy_.empty()) consider(*deadline_);
  if (!exited_ && killAt_ && !sigkillAfterGrace_) consider(*killAt_);
  if (exited_) consider(*drainUntil_);
  if (!exited_ && !pidfd_.valid()) consider(now + kExitCheckTick);
  if (!next) return -1;
  if (*next <= now) return 0;
  auto ms = std::chrono::duration_cast<milliseconds>(*next - now).count() + 1;
  return static_cast<int>(std::min<int64_t>(ms, 60'000));
}

// Kills whatever is left of the step and reaps it all. As the subreaper,
// this process inherits every orphan below it, so once it has no child
// left, nothing the step started is alive.
void Supervisor::cleanUp() {
  const TimePoint giveUp = SteadyClock::now() + kCleanupLimit;
  if (!reaped_) {
    ::kill(-pid_, SIGKILL);
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(pid_, &status, 0);
    } while (r < 0 && errno == EINTR);
    reaped_ = true;
    if (!exited_ && r == pid_) {  // only after a poll failure
      if (WIFEXITED(status)) exitCode_ = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) signal_ = WTERMSIG(status);
    }
  }
  for (;;) {
    pid_t r;
    while ((r = ::waitpid(-1, nullptr, WNOHANG)) > 0) {
    }
    if (r < 0 && errno == ECHILD) return;
    auto left = descendantsOf(::getpid(), listProcesses());
    if (SteadyClock::now() >= giveUp) {
      survivors_ = left.size();
      return;
    }
    for (pid_t p : left) ::kill(p, SIGKILL);
    std::this_thread::sleep_for(milliseconds(10));
  }
}

nlohmann::json Supervisor::status() const {
  nlohmann::json s;
  s["exit_code"] = exitCode_ ? nlohmann::json(*exitCode_) : nlohmann::json();
  s["signal"] = signal_ ? nlohmann::json(*signal_) : nlohmann::json();
  s["stopped"] = stoppedBy_;
  s["stopped_after_ms"] = stoppedAfter_.count();
  s["sigterm_sent"] = sigtermSent_;
  s["sigkill_after_grace"] = sigkillAfterGrace_;
  s["grace_ms"] = args_.grace.count();
  s["stdout_bytes"] = out_.capture.totalBytes();
  s["stderr_bytes"] = err_.capture.totalBytes();
  s["survivors"] = survivors_;
  // Milliseconds since the epoch: when the step's shell ended (or now).
  auto ended = endedAt_.value_or(std::chrono::system_clock::now());
  s["ended_at_ms"] = std::chrono::duration_cast<milliseconds>(ended.time_since_epoch()).count();
  if (!failure_.empty()) {
    s["error"] = failure_;
    s["error_class"] = "error";
  }
  return s;
}

std::string procPair(pid_t pid) {
  auto st = readProcStat(pid);
  return files::formatProcessId(pid, st ? st->startTime : 0);
}

// The attempt's folder, for fail(): keel gives this process no stderr.
std::string gDir;

// Says why into DIR/shim.log, made only when there is something to say.
int fail(const std::string& message) {
  UniqueFd log(::open((gDir + "/" + files::kShimLog).c_str(),
                      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  std::string line = "keel-shim: " + message + "\n";
  if (log.valid()) [[maybe_unused]]
    auto n = ::write(log.get(), line.data(), line.size());
  std::fputs(line.c_str(), stderr);
  return 1;
}

// Writes the whole of `text` at `offset`; false on failure.
bool writeAt(int fd, const std::string& text, off_t offset) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::pwrite(fd, text.data() + done, text.size() - done, offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

int writeStatusAndExit(const std::string& dir, const nlohmann::json& status) {
  // Last, and synced: a status on disk is whole, and means the logs
  // written before it are complete.
  auto st =
      files::writeFileAtomic(dir, files::kStatus, status.dump() + "\n", files::Durability::kSynced);
  if (!st.ok()) return fail(st.error().message());
  return 0;
}

int supervise(const Args& args) {
  gDir = args.dir;
  const std::string lockPath = args.dir + "/" + files::kLock;
  // Kept open (and locked) until exit; close-on-exec, so the step never holds it.
  int lock = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0) return fail(fmt::format("cannot open {}: {}", lockPath, std::strerror(errno)));
  if (::flock(lock, LOCK_EX | LOCK_NB) != 0) return fail("the attempt's lock is held elsewhere");
  if (::access((args.dir + "/" + files::kAbandoned).c_str(), F_OK) == 0)
    return fail("keel gave this attempt up before it started; not running it");
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);

  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGHUP);  // blocked and never read: a hangup stops nothing
  ::sigprocmask(SIG_BLOCK, &stopSignals, nullptr);
  sigdelset(&stopSignals, SIGHUP);
  UniqueFd signals(::signalfd(-1, &stopSignals, SFD_CLOEXEC | SFD_NONBLOCK));
  ::signal(SIGPIPE, SIG_IGN);

  // Who holds the lock, before anything runs (attempt_files.h).
  const std::string self = procPair(::getpid());
  if (!writeAt(lock, self, 0))
    return fail(fmt::format("cannot write {}: {}", lockPath, std::strerror(errno)));
  const TimePoint start = SteadyClock::now();

  // Made before the step starts, so that a reader finds it as soon as the
  // step runs; close-on-exec, so the step never holds it.
  const std::string livePath = args.dir + "/" + files::kLive;
  UniqueFd live(
      ::open(livePath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600));

  std::vector<std::string> environment;
  for (char** e = environ; e && *e; ++e) environment.emplace_back(*e);
  auto shell = spawnShell(args.command, args.workdir, environment);
  if (!shell.ok()) {
    ErrorCode code = shell.error().code();
    bool badInput = code == ErrorCode::kTooLarge || code == ErrorCode::kInvalidArgument;
    nlohmann::json s;
    s["error"] = shell.error().message();
    s["error_class"] = badInput ? "bad_input" : "error";
    return writeStatusAndExit(args.dir, s);
  }
  // Not fatal: keel uses it only to find leftovers after this shim is gone.
  [[maybe_unused]] bool grouped = writeAt(lock, self + procPair(shell->pid), 0);

  Supervisor sup(args, std::move(*shell), std::move(signals), start, std::move(live));
  sup.run();
  // stdout then stderr in one file; the status says where one ends. Read
  // only once the status exists, so written in place.
  const std::string out = sup.out().capture.text();
  const std::string err = sup.err().capture.text();
  const std::string logsPath = args.dir + "/" + files::kLogs;
  if (!out.empty() || !err.empty()) {  // no file at all for a quiet step
    UniqueFd logs(::open(logsPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!logs.valid() || !writeAt(logs.get(), out + err, 0))
      return fail(fmt::format("cannot write {}: {}", logsPath, std::strerror(errno)));
  }
  nlohmann::json status = sup.status();
  status["stdout_kept"] = out.size();
  status["stderr_kept"] = err.size();
  return writeStatusAndExit(args.dir, status);
}

}  // namespace
}  // namespace keel::exec

int main(int argc, char** argv) {
  auto args = keel::exec::parseArgs(argc, argv);
  if (!args) {
    std::fprintf(stderr,
                 "usage: keel-shim DIR TIMEOUT_MS GRACE_MS LOG_CAP WORKDIR COMMAND\n"
                 "keel starts this program to supervise one step; it is not run by hand\n");
    return 2;
  }
  return keel::exec::supervise(*args);
}
