#include "exec/classify.h"

#include <csignal>

#include <algorithm>
#include <array>
#include <utility>

#include <fmt/format.h>

namespace keel::exec {
namespace {

constexpr int kFirstSysexit = 64;  // EX_USAGE
constexpr int kLastSysexit = 78;   // EX_CONFIG

constexpr std::array<const char*, kLastSysexit - kFirstSysexit + 1> kSysexitNames = {
    "EX_USAGE",       "EX_DATAERR",  "EX_NOINPUT",  "EX_NOUSER", "EX_NOHOST",
    "EX_UNAVAILABLE", "EX_SOFTWARE", "EX_OSERR",    "EX_OSFILE", "EX_CANTCREAT",
    "EX_IOERR",       "EX_TEMPFAIL", "EX_PROTOCOL", "EX_NOPERM", "EX_CONFIG",
};

constexpr std::array<std::pair<int, const char*>, 20> kSignalNames = {{
    {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
    {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
    {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
    {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"}, {SIGXCPU, "SIGXCPU"},
    {SIGXFSZ, "SIGXFSZ"}, {SIGSYS, "SIGSYS"},   {SIGSTOP, "SIGSTOP"}, {SIGTSTP, "SIGTSTP"},
}};

bool isSysexit(int code) { return code >= kFirstSysexit && code <= kLastSysexit; }

// "timed out", "cancelled", "stopped (error)": how a stop reads in a sentence.
std::string stopVerb(FailureClass why) {
  switch (why) {
    case FailureClass::kTimeout:
      return "timed out";
    case FailureClass::kCancelled:
      return "cancelled";
    case FailureClass::kLost:  // keel stopped its steps as it stopped (--stop-steps)
      return "stopped by keel's shutdown";
    default:
      return fmt::format("stopped ({})", toString(why));
  }
}

// How the process ended, as the tail of a sentence: "exited with code 143".
std::string endClause(const ExitFacts& f) {
  if (f.signal) return describeSignal(*f.signal);
  // "exit code 143 (...)" -> "exited with code 143 (...)"
  if (f.exitCode) return "exited with code " + describeExitCode(*f.exitCode).substr(10);
  return "ended with an unknown status";
}

}  // namespace

FailureClass classifyExit(std::optional<int> exitCode, std::optional<int> signal,
                          std::optional<FailureClass> stoppedAs) {
  if (stoppedAs) return *stoppedAs;
  if (exitCode) {
    if (*exitCode == 0) return FailureClass::kNone;
    if (isSysexit(*exitCode)) return FailureClass::kBadInput;
    return FailureClass::kError;  // 126, 127 and every other code
  }
  if (signal) return FailureClass::kCrash;
  return FailureClass::kError;
}

std::string signalName(int signal) {
  for (const auto& [number, name] : kSignalNames)
    if (number == signal) return name;
  return fmt::format("signal {}", signal);
}

std::string describeSignal(int signal) {
  const std::string name = signalName(signal);
  if (name.rfind("SIG", 0) != 0) return "killed by " + name;
  return fmt::format("killed by signal {} ({})", signal, name);
}

std::string describeExitCode(int code) {
  if (isSysexit(code))
    return fmt::format("exit code {} ({})", code, kSysexitNames[code - kFirstSysexit]);
  if (code == 126) return "exit code 126 (command not executable)";
  if (code == 127) return "exit code 127 (command not found)";
  if (code > 128 && code < 128 + 32) {
    const std::string name = signalName(code - 128);
    if (name.rfind("SIG", 0) == 0)
      return fmt::format("exit code {} (128+{}: a command was killed by {})", code, code - 128,
                         name);
  }
  return fmt::format("exit code {}", code);
}

std::string formatElapsed(std::chrono::milliseconds d) {
  int64_t ms = std::max<int64_t>(0, d.count());
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms < 10'000) {
    // One decimal: "1.5s"; whole seconds read without one: "3s".
    int64_t tenths = (ms + 50) / 100;
    if (tenths % 10 == 0) return fmt::format("{}s", tenths / 10);
    return fmt::format("{}.{}s", tenths / 10, tenths % 10);
  }
  int64_t secs = (ms + 500) / 1000;
  if (secs < 60) return fmt::format("{}s", secs);
  const int64_t h = secs / 3600, m = (secs / 60) % 60, s = secs % 60;
  std::string out;
  if (h) out += fmt::format("{}h", h);
  if (m) out += fmt::format("{}m", m);
  if (s) out += fmt::format("{}s", s);
  return out;
}

std::string describeExit(const ExitFacts& f) {
  if (!f.stoppedAs) {
    if (f.signal) return describeSignal(*f.signal);
    if (f.exitCode) return describeExitCode(*f.exitCode);
    return "ended with an unknown status";
  }
  std::string out = stopVerb(*f.stoppedAs) + " after " + formatElapsed(f.stoppedAfter);
  if (!f.sigtermSent) {
    if (!f.signal && !f.exitCode) return out + ", before the process started";
    return out + "; " + endClause(f);
  }
  if (f.sigkillAfterGrace)
    return out + "; SIGTERM sent, then SIGKILL after " + formatElapsed(f.killGrace) + " grace";
  return out + "; SIGTERM sent, then " + endClause(f);
}

}  // namespace keel::exec
