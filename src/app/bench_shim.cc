#include "app/bench_shim.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <iostream>
#include <numeric>

#include <fmt/format.h>

#include "app/bench_util.h"
#include "app/shim_path.h"
#include "exec/process_executor.h"

namespace keel::app {
namespace {

using SteadyClock = std::chrono::steady_clock;

double msSince(SteadyClock::time_point t0) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
}

double mean(const std::vector<double>& v) {
  return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

// One attempt of `true` through the executor, as keel runs a step: its
// supervisor started, the result read from its folder, the folder removed
// (after the end, as keel does once the end is committed). False if the
// attempt did not succeed.
bool runOneAttempt(exec::ProcessExecutor& executor, const std::string& workdir, size_t i) {
  exec::StepRequest req;
  req.runId = fmt::format("s1-{}", i);
  req.step = "a";
  req.command = "true";
  req.workdir = workdir;
  std::promise<exec::StepOutcome> done;
  auto outcome = done.get_future();
  executor.start(req, [&done](exec::StepOutcome o) { done.set_value(std::move(o)); });
  bool ok = outcome.get().succeeded;
  executor.discard(exec::AttemptRef{req.runId, req.step, req.attempt, 0});
  return ok;
}

// `/bin/sh -c true` started with posix_spawn and reaped with waitpid: what
// any executor pays for a step, without a supervisor.
bool spawnShellDirectly(const std::string& workdir) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addchdir_np(&actions, workdir.c_str());
  char* argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"), const_cast<char*>("true"),
                  nullptr};
  char* envp[] = {const_cast<char*>("PATH=/usr/local/bin:/usr/bin:/bin"), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, "/bin/sh", &actions, nullptr, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return false;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// A small file written the way the supervisor writes its status: a
// temporary file, fsync, rename (attempt_files.h, Durability::kSynced).
bool writeLikeTheSupervisor(const std::string& dir) {
  const std::string tmp = dir + "/.status.tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  static constexpr char kText[] = "{\"exit_code\":0,\"signal\":null}\n";
  bool ok = ::write(fd, kText, sizeof(kText) - 1) == static_cast<ssize_t>(sizeof(kText) - 1) &&
            ::fsync(fd) == 0;
  ::close(fd);
  return ok && ::rename(tmp.c_str(), (dir + "/status").c_str()) == 0;
}

void report(const char* what, const std::vector<double>& ms) {
  std::cerr << fmt::format("S1: {:<28} mean_ms={:.3f} p50_ms={:.3f} p99_ms={:.3f}\n", what,
                           mean(ms), percentileMs(ms, 0.50), percentileMs(ms, 0.99));
}

}  // namespace

int runShimBench(const cli::BenchOptions& o) {
  const size_t n = o.runs > 0 ? static_cast<size_t>(o.runs) : 500;
  auto shim = findShim();
  if (!shim.ok()) {
    std::cerr << "bench: " << shim.error().message() << "\n";
    return 1;
  }
  auto dir = std::filesystem::temp_directory_path() / fmt::format("keel-s1-{}", getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string workdir = dir.string();
  exec::ProcessExecutorOptions xo;
  xo.maxParallel = 1;
  xo.shimPath = *shim;
  xo.attemptsDir = (dir / "keel.db.steps").string();
  size_t failures = 0;
  std::vector<double> shimMs, directMs, writeMs;
  shimMs.reserve(n);
  directMs.reserve(n);
  writeMs.reserve(n);
  {
    exec::ProcessExecutor executor(xo);
    constexpr size_t kWarmup = 20;
    for (size_t i = 0; i < kWarmup; ++i) {
      failures += runOneAttempt(executor, workdir, n + i) ? 0 : 1;
      failures += spawnShellDirectly(workdir) ? 0 : 1;
    }
    // Interleaved, so that all see the same machine: other work on it
    // slows them alike.
    for (size_t i = 0; i < n; ++i) {
      auto t = SteadyClock::now();
      failures += runOneAttempt(executor, workdir, i) ? 0 : 1;
      shimMs.push_back(msSince(t));
      t = SteadyClock::now();
      failures += spawnShellDirectly(workdir) ? 0 : 1;
      directMs.push_back(msSince(t));
      t = SteadyClock::now();
      failures += writeLikeTheSupervisor(workdir) ? 0 : 1;
      writeMs.push_back(msSince(t));
    }
    executor.shutdown();
  }
  report("keel-shim + sh -c true", shimMs);
  report("sh -c true (posix_spawn)", directMs);
  report("status written + fsync", writeMs);
  // seconds and runs_per_s: the attempts under keel-shim alone.
  double seconds = std::accumulate(shimMs.begin(), shimMs.end(), 0.0) / 1000;
  printResult("S1", n, seconds, shimMs,
              fmt::format(" mean_ms={:.3f} direct_mean_ms={:.3f} direct_p50_ms={:.3f} "
                          "direct_p99_ms={:.3f} shim_cost_mean_ms={:.3f} "
                          "shim_cost_p50_ms={:.3f} atomic_write_mean_ms={:.3f} "
                          "atomic_write_p50_ms={:.3f} failures={}",
                          mean(shimMs), mean(directMs), percentileMs(directMs, 0.50),
                          percentileMs(directMs, 0.99), mean(shimMs) - mean(directMs),
                          percentileMs(shimMs, 0.50) - percentileMs(directMs, 0.50), mean(writeMs),
                          percentileMs(writeMs, 0.50), failures));
  std::filesystem::remove_all(dir);
  return failures == 0 ? 0 : 1;
}

}  // namespace keel::app
