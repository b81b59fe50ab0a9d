#include "app/bench_crash.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <httplib.h>

#include "app/bench_util.h"
#include "app/child_server.h"
#include "app/db_peek.h"

namespace keel::app {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A count from the database the child server owns; -1 if it cannot be read.
int64_t countQuery(const std::string& db, const std::string& sql) {
  auto text = queryText(db, sql);
  return text == "<error>" ? -1 : std::atoll(text.c_str());
}

size_t countLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  size_t n = 0;
  char buf[65536];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    n += static_cast<size_t>(std::count(buf, buf + in.gcount(), '\n'));
    if (!in) break;
  }
  return n;
}

// A process as /proc shows it: its pid and start time (field 22 of
// /proc/PID/stat), which together name it even if the pid is reused.
struct ProcId {
  pid_t pid = 0;
  unsigned long long start = 0;
};

std::string readWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The start time of a live process; nullopt when it is gone or a zombie.
std::optional<unsigned long long> liveStartTime(pid_t pid) {
  std::string stat = readWhole(fmt::format("/proc/{}/stat", pid));
  auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  char state = 0;
  fields >> state;
  if (state == 'Z' || state == 'X') return std::nullopt;
  // Fields 4 to 21, then the start time (22).
  for (int i = 4; i <= 21 && fields >> field; ++i) {
  }
  unsigned long long start = 0;
  if (!(fields >> start)) return std::nullopt;
  return start;
}

bool alive(const ProcId& p) {
  auto start = liveStartTime(p.pid);
  return start && *start == p.start;
}

// Every live process of an attempt under `attemptsDir`: the supervisor and
// the step's processes all carry KEEL_OUTPUT=attemptsDir/RUN.STEP.N/...
// in their environment. `shims` selects the supervisors (argv[0] is
// keel-shim) or everything else.
std::vector<ProcId> attemptProcesses(const std::string& attemptsDir, bool shims) {
  const std::string marker = "KEEL_OUTPUT=" + attemptsDir + "/";
  std::vector<ProcId> found;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::atol(name.c_str()));
    if (pid == getpid()) continue;
    std::string env = readWhole(e.path().string() + "/environ");
    bool ours = false;
    for (size_t at = 0; at < env.size();) {
      size_t end = env.find('\0', at);
      if (end == std::string::npos) end = env.size();
      if (env.compare(at, marker.size(), marker) == 0) {
        ours = true;
        break;
      }
      at = end + 1;
    }
    if (!ours) continue;
    std::string cmdline = readWhole(e.path().string() + "/cmdline");
    const bool isShim = cmdline.substr(0, cmdline.find('\0')) == "keel-shim";
    if (isShim != shims) continue;
    if (auto start = liveStartTime(pid)) found.push_back({pid, *start});
  }
  return found;
}

// The supervisors named by the attempt folders' `lock` files ("PID START" first)
// that are still alive.
std::vector<ProcId> shimsFromFiles(const std::string& attemptsDir) {
  std::vector<ProcId> found;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(attemptsDir, ec)) {
    std::istringstream in(readWhole(e.path().string() + "/lock"));
    ProcId p;
    long long pid = 0;
    if (in >> pid >> p.start && pid > 1) {
      p.pid = static_cast<pid_t>(pid);
      if (alive(p)) found.push_back(p);
    }
  }
  return found;
}

// SIGKILLs each process of `procs` still alive as named, adding it to
// `killed`.
void killAll(const std::vector<ProcId>& procs, std::set<pid_t>& killed) {
  for (const auto& p : procs)
    if (alive(p) && ::kill(p.pid, SIGKILL) == 0) killed.insert(p.pid);
}

// Kills every supervisor of the attempts under `attemptsDir`: those named
// by their `shim` files, then any found by their environment (one that had
// not written its file yet), until none is left. Returns how many.
size_t killEveryShim(const std::string& attemptsDir, const std::vector<ProcId>& known) {
  std::set<pid_t> killed;
  killAll(known, killed);
  auto until = SteadyClock::now() + std::chrono::seconds(5);
  for (;;) {
    auto more = shimsFromFiles(attemptsDir);
    auto seen = attemptProcesses(attemptsDir, true);
    more.insert(more.end(), seen.begin(), seen.end());
    if (more.empty() || SteadyClock::now() > until) break;
    killAll(more, killed);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return killed.size();
}

// Each step appends "RUN STEP" to the ledger with one write(2) (dash's
// printf writes its whole output at once), then sleeps 5 ms.
std::string ledgerStepScript(const std::string& ledger) {
  return fmt::format(
      "#!/bin/sh\nprintf '%s %s\\n' \"$KEEL_RUN_ID\" \"$KEEL_STEP\" >> {}\nsleep 0.005\n", ledger);
}

constexpr const char* kLedgerWorkflow = R"(name: bench-ledger
owner: { team: bench, contact: bench@example.com }
runbook: docs/benchmarks.md
steps:
  - { name: a, run: ./step.sh, timeout: 1m, retry: { max_attempts: 5, backoff: fixed, initial: 100ms, jitter: none } }
  - { name: b, run: ./step.sh, needs: [a], timeout: 1m, retry: { max_attempts: 5, backoff: fixed, initial: 100ms, jitter: none } }
  - { name: c, run: ./step.sh, needs: [b], timeout: 1m, retry: { max_attempts: 5, backoff: fixed, initial: 100ms, jitter: none } }
)";

// Submits runs first, stride, ... with idempotency keys; a request that
// fails because the server is down is sent again with the same key once it
// is back, which must not start a second run.
void submitLoop(std::atomic<std::string*>& url, const std::string& token, size_t first,
                size_t stride, size_t runs) {
  std::string base;
  std::unique_ptr<httplib::Client> client;
  for (size_t i = first; i < runs;) {
    if (!client || base != *url.load()) {
      base = *url.load();
      client = std::make_unique<httplib::Client>(base);
      client->set_connection_timeout(2);
      client->set_read_timeout(30);
      client->set_keep_alive(true);
      client->set_bearer_token_auth(token);
    }
    auto res = client->Post("/api/v1/workflows/bench-ledger/runs",
                            fmt::format(R"({{"idempotency_key":"w3-{}"}})", i), "application/json");
    if (res && (res->status == 201 || res->status == 200)) {
      i += stride;
    } else {
      client.reset();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

}  // namespace

namespace {

// W3 and W3K. With `killShims`, every supervisor of an attempt in flight
// is SIGKILLed right after keel, as a crash of the whole machine would
// (except that the step processes themselves survive it, orphaned: the
// restarted keel must kill them before it retries their attempts).
int runCrash(const cli::BenchOptions& o, bool killShims) {
  const std::string workload = killShims ? "W3K" : "W3";
  size_t runs = o.runs > 0 ? static_cast<size_t>(o.runs) : 2'000;
  size_t killAt = runs * 3 / 2;  // 3,000 lines for 2,000 runs
  auto dir = std::filesystem::temp_directory_path() / fmt::format("keel-w3-{}", getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "workflows");
  auto db = o.db.empty() ? (dir / "keel.db").string() : o.db;
  // Where keel keeps its attempts' folders, spelled as keel does (the
  // steps' $KEEL_OUTPUT starts with it).
  const std::string attemptsDir = db + ".steps";
  auto ledger = (dir / "ledger").string();
  std::ofstream(dir / "workflows" / "ledger.yaml") << kLedgerWorkflow;
  auto script = dir / "workflows" / "step.sh";
  std::ofstream(script) << ledgerStepScript(ledger);
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  std::vector<std::string> args{"--db",           db,
                                "--listen",       "127.0.0.1:0",
                                "--workflows",    (dir / "workflows").string(),
                                "--max-parallel", "16",
                                "--log-level",    "warn"};
  ChildServer child(selfExecutable(), args);
  auto url = child.start();
  if (!url.ok()) {
    std::cerr << "bench: " << url.error().toString() << "\n";
    return 1;
  }
  std::string urls[2] = {*url, ""};
  // The admin token the server wrote beside its new database.
  std::string token;
  std::getline(std::ifstream(db + ".token"), token);
  std::atomic<std::string*> current{&urls[0]};
  auto t0 = SteadyClock::now();
  constexpr size_t kSubmitters = 16;
  std::vector<std::thread> submitters;
  for (size_t t = 0; t < kSubmitters; ++t)
    submitters.emplace_back([&, t] { submitLoop(current, token, t, kSubmitters, runs); });
  while (countLines(ledger) < killAt) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // The supervisors are read first and killed right after keel is sent
  // SIGKILL, before it is reaped: as close to one instant as two kill(2)
  // calls get.
  std::vector<ProcId> shims;
  size_t shimsKilled = 0;
  if (killShims) {
    shims = shimsFromFiles(attemptsDir);
    ::kill(child.pid(), SIGKILL);
    shimsKilled = killEveryShim(attemptsDir, shims);
  }
  child.kill();
  auto tKill = SteadyClock::now();
  // Step processes whose supervisor is gone: the restarted keel must end
  // them before it runs their attempts again.
  std::vector<ProcId> orphans;
  if (killShims) orphans = attemptProcesses(attemptsDir, false);
  int64_t inFlight = countQuery(db, "SELECT count(*) FROM attempts WHERE state='running'");
  int64_t stepsDone = countQuery(db, "SELECT count(*) FROM steps WHERE state='succeeded'");
  size_t linesAtKill = countLines(ledger);
  auto tRestart = SteadyClock::now();
  auto url2 = child.start();
  if (!url2.ok()) {
    std::cerr << "bench: restart failed: " << url2.error().toString() << "\n";
    for (auto& t : submitters) t.detach();
    return 1;
  }
  double restart = std::chrono::duration<double>(SteadyClock::now() - tRestart).count();
  urls[1] = *url2;
  current = &urls[1];
  int64_t succeeded = 0;
  auto deadline = SteadyClock::now() + std::chrono::minutes(5);
  while (SteadyClock::now() < deadline) {
    succeeded = countQuery(db, "SELECT count(*) FROM runs WHERE state='succeeded'");
    if (succeeded >= static_cast<int64_t>(runs)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto tDone = SteadyClock::now();
  size_t orphansLeft = 0;
  for (const auto& p : orphans) orphansLeft += alive(p) ? 1 : 0;
  int64_t lostAttempts = countQuery(db, "SELECT count(*) FROM attempts WHERE failure_class='lost'");
  // Attempts whose leftover processes the restarted keel killed (it says so
  // in the attempt's message).
  int64_t killedByKeel = countQuery(
      db, "SELECT count(*) FROM attempts WHERE message LIKE '%leftover process(es) killed%'");
  for (auto& t : submitters) t.join();
  child.terminate();
  // Nothing of the benchmark may outlive it: every run has ended, so no
  // process should carry one of its attempts; any that does is killed
  // here and counted.
  std::set<pid_t> leftovers;
  for (int pass = 0; pass < 100; ++pass) {
    auto procs = attemptProcesses(attemptsDir, true);
    auto steps = attemptProcesses(attemptsDir, false);
    procs.insert(procs.end(), steps.begin(), steps.end());
    if (procs.empty()) break;
    killAll(procs, leftovers);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  std::map<std::string, int> seen;
  std::ifstream in(ledger);
  std::string line;
  while (std::getline(in, line)) ++seen[line];
  size_t duplicates = 0;
  for (const auto& [k, n] : seen) duplicates += n > 1 ? 1 : 0;
  double recovery = std::chrono::duration<double>(tDone - tKill).count();
  double total = std::chrono::duration<double>(tDone - t0).count();
  double beforeKill = std::chrono::duration<double>(tKill - t0).count();
  int64_t remainingSteps = static_cast<int64_t>(runs) * 3 - stepsDone;
  // The remaining steps at the rate the steps were completed before the
  // kill: what recovery should take, restart aside.
  double remainingWork = stepsDone > 0 ? static_cast<double>(remainingSteps) * beforeKill /
                                             static_cast<double>(stepsDone)
                                       : 0;
  std::string killed = killShims
                           ? fmt::format(
                                 " shims_killed={} orphans_at_kill={} "
                                 "attempts_with_leftovers_killed={} orphans_left_after_recovery={}",
                                 shimsKilled, orphans.size(), killedByKeel, orphansLeft)
                           : "";
  printResult(workload, runs, total, {},
              fmt::format(" kill_at_lines={} in_flight_at_kill={}{} remaining_steps_at_kill={} "
                          "remaining_work_s={:.3f} restart_s={:.3f} recovery_s={:.3f} lost={} "
                          "lost_attempts={} duplicates={} processes_left_at_exit={}",
                          linesAtKill, inFlight, killed, remainingSteps, remainingWork, restart,
                          recovery, static_cast<int64_t>(runs) - succeeded, lostAttempts,
                          duplicates, leftovers.size()));
  if (o.db.empty()) std::filesystem::remove_all(dir);
  return succeeded == static_cast<int64_t>(runs) && leftovers.empty() ? 0 : 1;
}

}  // namespace

int runW3(const cli::BenchOptions& o) { return runCrash(o, false); }
int runW3K(const cli::BenchOptions& o) { return runCrash(o, true); }

}  // namespace keel::app
