// Helpers shared by the ProcessExecutor tests (real processes): an
// executor's options, launching and awaiting attempts, waiting for a
// condition, and looking at processes in /proc. Test only.
#pragma once

#include <signal.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "exec/process_executor.h"
#include "testing/temp_dir.h"

namespace keel::exec::testutil {

using keel::testing::readFile;
using keel::testing::TempDir;
using keel::testing::writeFile;
using std::chrono::milliseconds;

inline constexpr auto kGuard = std::chrono::seconds(60);

// Every executor of this test binary keeps its attempt folders in one
// temporary directory, removed at exit.
inline ProcessExecutorOptions options(size_t maxParallel) {
  static TempDir attempts;
  ProcessExecutorOptions o;
  o.maxParallel = maxParallel;
  o.shimPath = KEEL_SHIM_PATH;
  o.attemptsDir = attempts.path() + "/steps";
  return o;
}

struct Launched {
  ExecHandle handle = 0;
  std::future<StepOutcome> future;
};

inline Launched launch(StepExecutor& ex, StepRequest req) {
  auto promise = std::make_shared<std::promise<StepOutcome>>();
  Launched l;
  l.future = promise->get_future();
  // set_value throws if `done` ever ran twice, which fails the test loudly.
  l.handle =
      ex.start(std::move(req), [promise](StepOutcome o) { promise->set_value(std::move(o)); });
  return l;
}

inline std::optional<StepOutcome> await(Launched& l) {
  if (l.future.wait_for(kGuard) != std::future_status::ready) return std::nullopt;
  return l.future.get();
}

inline StepRequest shell(std::string command, std::string workdir = "") {
  static std::atomic<int> runs{0};
  StepRequest r;
  // Unique across the test processes that run at once, as run ids are: an
  // attempt's leftovers are found by these names.
  r.runId = "run-" + std::to_string(::getpid()) + "-" + std::to_string(++runs);
  r.step = "step";
  r.command = std::move(command);
  r.workdir = std::move(workdir);
  return r;
}

inline StepOutcome runOne(StepRequest req, size_t maxParallel = 1) {
  ProcessExecutor ex(options(maxParallel));
  Launched l = launch(ex, std::move(req));
  auto o = await(l);
  if (!o) {
    ADD_FAILURE() << "no outcome within the guard";
    return StepOutcome{};
  }
  return *o;
}

// Waits for a condition that the test's own processes make true.
inline bool waitUntil(const std::function<bool()>& cond) {
  const auto deadline = std::chrono::steady_clock::now() + kGuard;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

inline bool exists(const std::string& path) { return std::filesystem::exists(path); }

// A file written with `echo ... > f.tmp && mv f.tmp f`, so never half-written.
inline pid_t readPid(const std::string& path) {
  return static_cast<pid_t>(std::stol(readFile(path)));
}

// Gone, or a zombie waiting for init: either way no longer running. (A
// reparented zombie may linger where PID 1 does not reap.)
inline bool processGone(pid_t pid) {
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return true;
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return true;
  char state = stat[close + 2];
  if (state == 'Z' || state == 'X') return true;
  return stat.find("(sleep)") == std::string::npos;  // the pid was reused
}

inline void killIfSleep(pid_t pid) {
  if (!processGone(pid)) ::kill(pid, SIGKILL);
}

}  // namespace keel::exec::testutil
