#include "app/bench_crash.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

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

int runW3(const cli::BenchOptions& o) {
  size_t runs = o.runs > 0 ? static_cast<size_t>(o.runs) : 2'000;
  size_t killAt = runs * 3 / 2;  // 3,000 lines for 2,000 runs
  auto dir = std::filesystem::temp_directory_path() / fmt::format("keel-w3-{}", getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "workflows");
  auto db = o.db.empty() ? (dir / "keel.db").string() : o.db;
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
  child.kill();
  auto tKill = SteadyClock::now();
  int64_t inFlight = countQuery(db, "SELECT count(*) FROM attempts WHERE state='running'");
  int64_t stepsDone = countQuery(db, "SELECT count(*) FROM steps WHERE state='succeeded'");
  size_t linesAtKill = countLines(ledger);
  auto url2 = child.start();
  if (!url2.ok()) {
    std::cerr << "bench: restart failed: " << url2.error().toString() << "\n";
    for (auto& t : submitters) t.detach();
    return 1;
  }
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
  for (auto& t : submitters) t.join();
  child.terminate();

  std::map<std::string, int> seen;
  std::ifstream in(ledger);
  std::string line;
  while (std::getline(in, line)) ++seen[line];
  size_t duplicates = 0;
  for (const auto& [k, n] : seen) duplicates += n > 1 ? 1 : 0;
  double recovery = std::chrono::duration<double>(tDone - tKill).count();
  double total = std::chrono::duration<double>(tDone - t0).count();
  int64_t remainingSteps = static_cast<int64_t>(runs) * 3 - stepsDone;
  printResult("W3", runs, total, {},
              fmt::format(" kill_at_lines={} in_flight_at_kill={} remaining_steps_at_kill={} "
                          "recovery_s={:.3f} lost={} duplicates={}",
                          linesAtKill, inFlight, remainingSteps, recovery,
                          static_cast<int64_t>(runs) - succeeded, duplicates));
  if (o.db.empty()) std::filesystem::remove_all(dir);
  return succeeded == static_cast<int64_t>(runs) ? 0 : 1;
}

}  // namespace keel::app
