#include "exec/process_attempt.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "exec/classify.h"
#include "exec/spawn.h"
#include "exec/stream_capture.h"

namespace keel::exec {
namespace {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using std::chrono::milliseconds;

// Without a pidfd (kernels before 5.3) the shell's exit is checked this often.
constexpr milliseconds kExitCheckTick{100};
constexpr size_t kReadChunk = 64 * 1024;
// Bytes read from one pipe per wake-up, so a chatty stdout cannot starve stderr.
constexpr size_t kMaxReadPerWake = 1 << 20;

StepOutcome failedOutcome(FailureClass cls, std::string message) {
  StepOutcome o;
  o.failureClass = cls;
  o.message = std::move(message);
  return o;
}

// The attempt's private directory (mode 0700) and the empty $KEEL_OUTPUT
// file in it; both go away with the object, whatever the step left there.
class AttemptDir {
 public:
  static Result<AttemptDir> create() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/keel-attempt-XXXXXX";
    if (!::mkdtemp(pattern.data()))
      return Error(ErrorCode::kIo, fmt::format("cannot create a temporary directory {}: {}",
                                               pattern, std::strerror(errno)));
    AttemptDir dir(pattern);
    UniqueFd f(::open(dir.outputPath().c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    if (!f.valid())
      return Error(ErrorCode::kIo,
                   fmt::format("cannot create {}: {}", dir.outputPath(), std::strerror(errno)));
    return dir;
  }
  AttemptDir(AttemptDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  AttemptDir& operator=(AttemptDir&&) = delete;
  ~AttemptDir() {
    std::error_code ec;  // a leftover temp directory is not worth failing a step
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  std::string outputPath() const { return path_ + "/output.json"; }

 private:
  explicit AttemptDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// The step's $KEEL_OUTPUT, normalised to compact JSON; "" when the file is
// empty (or only whitespace).
Result<std::string> readOutputFile(const std::string& path, size_t cap) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::string();  // the step removed it: no output
    return Error(ErrorCode::kIo,
                 fmt::format("cannot read the output file: {}", std::strerror(errno)));
  }
  std::string text;
  char buf[kReadChunk];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return Error(ErrorCode::kIo,
                   fmt::format("cannot read the output file: {}", std::strerror(errno)));
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > cap)
      return Error(ErrorCode::kTooLarge,
                   fmt::format("output file is too large (more than {} bytes)", cap));
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return std::string();
  try {
    return nlohmann::json::parse(text).dump();
  } catch (const nlohmann::json::exception& e) {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("output file is not valid JSON: {}", e.what()));
  }
}

// One output pipe of the shell and what was read from it.
struct Stream {
  UniqueFd fd;
  StreamCapture capture;
};

// Watches one running process group until it has ended: reads its pipes,
// applies a stop request, notices the shell's exit, cleans up the group.
class Watch {
 public:
  Watch(SpawnedShell shell, const StepRequest& request, StopLatch& latch, TimePoint acceptedAt)
      : pid_(shell.pid),
        request_(request),
        latch_(latch),
        acceptedAt_(acceptedAt),
        out_{std::move(shell.stdoutFd), StreamCapture(request.logCapBytes)},
        err_{std::move(shell.stderrFd), StreamCapture(request.logCapBytes)},
        pidfd_(static_cast<int>(::syscall(SYS_pidfd_open, shell.pid, 0))),
        buf_(kReadChunk, '\0') {}

  void run();
  const ExitFacts& facts() const { return facts_; }
  const std::optional<std::string>& failure() const { return failure_; }
  Stream& out() { return out_; }
  Stream& err() { return err_; }

 private:
  void readSome(Stream& s);
  void checkExit();
  void applyStop();
  int pollTimeoutMs(TimePoint now) const;
  void finish();

  const pid_t pid_;
  const StepRequest& request_;
  StopLatch& latch_;
  const TimePoint acceptedAt_;
  Stream out_, err_;
  UniqueFd pidfd_;
  std::string buf_;
  ExitFacts facts_;
  bool exited_ = false;
  bool reapedElsewhere_ = false;  // SIGCHLD ignored, or a stray waitpid(-1)
  std::optional<TimePoint> killAt_;
  std::optional<TimePoint> drainUntil_;
  std::optional<std::string> failure_;  // the executor itself failed
};

void Watch::run() {
  for (;;) {
    const TimePoint now = SteadyClock::now();
    if (exited_ && ((!out_.fd.valid() && !err_.fd.valid()) || now >= *drainUntil_)) break;
    if (!exited_ && killAt_ && !facts_.sigkillAfterGrace && now >= *killAt_) {
      ::kill(-pid_, SIGKILL);
      facts_.sigkillAfterGrace = true;
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
    const int stopIx = add(exited_ ? -1 : latch_.fd());
    if (::poll(fds.data(), n, pollTimeoutMs(now)) < 0) {
      if (errno == EINTR) continue;
      failure_ = fmt::format("poll failed: {}", std::strerror(errno));
      break;
    }
    auto ready = [&](int ix) { return ix >= 0 && fds[ix].revents != 0; };
    if (ready(outIx)) readSome(out_);
    if (ready(errIx)) readSome(err_);
    if (!exited_ && (ready(pidIx) || !pidfd_.valid())) checkExit();
    if (!exited_ && ready(stopIx)) applyStop();
  }
  finish();
}

void Watch::readSome(Stream& s) {
  size_t budget = kMaxReadPerWake;
  while (budget > 0 && s.fd.valid()) {
    ssize_t n = ::read(s.fd.get(), buf_.data(), buf_.size());
    if (n > 0) {
      s.capture.append(std::string_view(buf_.data(), static_cast<size_t>(n)));
      budget -= std::min(budget, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else {
      s.fd.reset();  // EOF, or an error that ends the stream just the same
    }
  }
}

// The shell's status, read without reaping it: a zombie leader keeps its
// pid and process group id reserved, so signalling -pid_ stays safe until
// finish() reaps it.
void Watch::checkExit() {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno == EINTR) return;
    reapedElsewhere_ = true;  // ECHILD: no status to report
  } else if (info.si_pid != pid_) {
    return;  // still running
  } else if (info.si_code == CLD_EXITED) {
    facts_.exitCode = info.si_status;
  } else {
    facts_.signal = info.si_status;  // CLD_KILLED or CLD_DUMPED
  }
  exited_ = true;
  latch_.markEnded();
  drainUntil_ = SteadyClock::now() + kDrainAfterExit;
}

void Watch::applyStop() {
  latch_.drain();
  auto stop = latch_.get();
  if (!stop || facts_.stoppedAs) return;
  facts_.stoppedAs = stop->why;
  facts_.stoppedAfter = std::chrono::duration_cast<milliseconds>(stop->at - acceptedAt_);
  facts_.killGrace = request_.killGrace;
  facts_.sigtermSent = true;
  ::kill(-pid_, SIGTERM);
  killAt_ = SteadyClock::now() + request_.killGrace;
}

int Watch::pollTimeoutMs(TimePoint now) const {
  std::optional<TimePoint> next;
  auto consider = [&](TimePoint t) { next = next ? std::min(*next, t) : t; };
  if (!exited_ && killAt_ && !facts_.sigkillAfterGrace) consider(*killAt_);
  if (exited_) consider(*drainUntil_);
  if (!exited_ && !pidfd_.valid()) consider(now + kExitCheckTick);
  if (!next) return -1;
  if (*next <= now) return 0;
  // Rounded up, so the loop never wakes just before a deadline and spins.
  auto ms = std::chrono::duration_cast<milliseconds>(*next - now).count() + 1;
  return static_cast<int>(std::min<int64_t>(ms, 60'000));
}

// Kills whatever is left of the group, then reaps the shell.
void Watch::finish() {
  if (reapedElsewhere_) return;  // the pid may already be reused: signal nothing
  ::kill(-pid_, SIGKILL);
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  if (!exited_ && r == pid_) {  // only after a poll failure
    if (WIFEXITED(status)) facts_.exitCode = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) facts_.signal = WTERMSIG(status);
  }
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

}  // namespace

StepOutcome stoppedBeforeStart(FailureClass why, milliseconds after) {
  ExitFacts f;
  f.stoppedAs = why;
  f.stoppedAfter = after;
  return failedOutcome(why, describeExit(f));
}

StepOutcome runProcessAttempt(const StepRequest& request, StopLatch& latch, TimePoint acceptedAt) {
  if (auto stop = latch.get())
    return stoppedBeforeStart(stop->why,
                              std::chrono::duration_cast<milliseconds>(stop->at - acceptedAt));
  if (!latch.valid())
    return failedOutcome(FailureClass::kError,
                         "cannot create an eventfd for the attempt (out of file descriptors?)");
  if (auto problem = checkWorkdir(request.workdir))
    return failedOutcome(FailureClass::kError, *problem);
  auto dir = AttemptDir::create();
  if (!dir.ok()) return failedOutcome(FailureClass::kError, dir.error().message());
  std::map<std::string, std::string> env = request.env;
  env["KEEL_OUTPUT"] = dir->outputPath();  // the executor's, whatever request.env says
  auto environment = buildEnvironment(env, request.passEnv);
  if (!environment.ok())
    return failedOutcome(FailureClass::kBadInput, environment.error().message());
  auto shell = spawnShell(request.command, request.workdir, *environment);
  if (!shell.ok()) {
    // Too long or not representable: the same input fails the same way on
    // every attempt, so it is bad input, never retried blindly (G6).
    ErrorCode code = shell.error().code();
    bool badInput = code == ErrorCode::kTooLarge || code == ErrorCode::kInvalidArgument;
    return failedOutcome(badInput ? FailureClass::kBadInput : FailureClass::kError,
                         shell.error().message());
  }

  Watch watch(std::move(*shell), request, latch, acceptedAt);
  watch.run();
  latch.markEnded();

  StepOutcome o;
  const ExitFacts& f = watch.facts();
  o.exitCode = f.exitCode;
  o.signal = f.signal;
  o.failureClass = classifyExit(f.exitCode, f.signal, f.stoppedAs);
  o.message = describeExit(f);
  o.stdoutText = watch.out().capture.text();
  o.stderrText = watch.err().capture.text();
  o.stdoutBytes = watch.out().capture.totalBytes();
  o.stderrBytes = watch.err().capture.totalBytes();
  if (watch.failure()) {
    o.failureClass = FailureClass::kError;
    o.message = *watch.failure();
  } else if (o.failureClass == FailureClass::kNone) {
    // The output of a failed attempt is never used, so it is read on success only.
    auto output = readOutputFile(dir->outputPath(), request.outputCapBytes);
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

}  // namespace keel::exec
