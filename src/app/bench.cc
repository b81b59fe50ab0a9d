#include "app/bench.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/bench_crash.h"
#include "app/bench_event.h"
#include "app/bench_http.h"
#include "app/bench_list.h"
#include "app/bench_shim.h"
#include "app/bench_task.h"
#include "app/bench_util.h"
#include "app/serve.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "core/random.h"
#include "engine/engine.h"
#include "exec/process_executor.h"
#include "store/sqlite/sqlite_store.h"

namespace keel::app {

using SteadyClock = std::chrono::steady_clock;

long rssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

double percentileMs(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::string benchDbPath(const cli::BenchOptions& o, const std::string& tag) {
  if (!o.db.empty()) return o.db;
  const char* tmp = std::getenv("TMPDIR");
  return fmt::format("{}/keel-bench-{}-{}.db", tmp && *tmp ? tmp : "/tmp", tag, getpid());
}

void removeDb(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", ".lock"}) std::filesystem::remove(path + suffix);
}

void printResult(const std::string& workload, size_t runs, double seconds,
                 const std::vector<double>& latencies, const std::string& extra) {
  std::cout << fmt::format(
                   "RESULT peer=keel workload={} runs={} seconds={:.3f} runs_per_s={:.0f} "
                   "p50_ms={:.3f} p99_ms={:.3f} rss_kb={}{}",
                   workload, runs, seconds, static_cast<double>(runs) / seconds,
                   percentileMs(latencies, 0.50), percentileMs(latencies, 0.99), rssKb(), extra)
            << std::endl;
}

namespace {

constexpr const char* kNoopChain = R"(name: bench-noop-chain
owner: { team: bench, contact: bench@example.com }
runbook: docs/benchmarks.md
steps:
  - { name: a, noop: true }
  - { name: b, noop: true, needs: [a] }
  - { name: c, noop: true, needs: [b] }
)";

constexpr const char* kNoopOne = R"(name: bench-noop-one
owner: { team: bench, contact: bench@example.com }
runbook: docs/benchmarks.md
steps:
  - { name: a, noop: true }
)";

struct InProcess {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<exec::ProcessExecutor> executor;
  SystemClock clock;
  SystemRandom random;
  std::unique_ptr<engine::Engine> engine;
};

Result<std::unique_ptr<InProcess>> startInProcess(const std::string& db, const char* yaml) {
  auto p = std::make_unique<InProcess>();
  auto s = store::openSqliteStore(db);
  if (!s.ok()) return s.error();
  p->store = std::move(*s);
  exec::ProcessExecutorOptions xo;
  xo.maxParallel = 8;
  xo.attemptsDir = db + ".steps";  // noop steps only: no supervisor is ever started
  p->executor = std::make_unique<exec::ProcessExecutor>(xo);
  engine::EngineOptions eo;
  eo.defaultWorkdir = std::filesystem::current_path().string();
  p->engine = std::make_unique<engine::Engine>(*p->store, *p->executor, p->clock, p->random, eo);
  KEEL_TRY(p->engine->start());
  auto applied = p->engine->applyWorkflow(yaml, "").get();
  if (!applied.ok()) return applied.error();
  return p;
}

// Submits `runs` runs with at most `inFlight` outstanding; each run's
// latency is from submit to the answer, which for a noop chain comes once
// the whole run is durably finished (checked: state must be succeeded).
int submitAll(engine::Engine& engine, const std::string& workflow, size_t runs, size_t inFlight,
              std::vector<double>& latencies) {
  struct Pending {
    std::future<Result<engine::TriggerResult>> f;
    SteadyClock::time_point t0;
  };
  std::deque<Pending> pending;
  size_t submitted = 0, failures = 0;
  auto collect = [&](Pending& p) {
    auto r = p.f.get();
    latencies.push_back(
        std::chrono::duration<double, std::milli>(SteadyClock::now() - p.t0).count());
    if (!r.ok() || r->run.state != RunState::kSucceeded) ++failures;
  };
  while (submitted < runs || !pending.empty()) {
    while (submitted < runs && pending.size() < inFlight) {
      auto t0 = SteadyClock::now();
      pending.push_back({engine.trigger({workflow, nlohmann::json::object(), ""}), t0});
      ++submitted;
    }
    collect(pending.front());
    pending.pop_front();
    while (!pending.empty() &&
           pending.front().f.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
      collect(pending.front());
      pending.pop_front();
    }
  }
  return static_cast<int>(failures);
}

int runW1(const cli::BenchOptions& o) {
  size_t runs = o.runs > 0 ? static_cast<size_t>(o.runs) : 10'000;
  auto db = benchDbPath(o, "w1");
  if (o.db.empty()) removeDb(db);
  auto p = startInProcess(db, kNoopChain);
  if (!p.ok()) {
    std::cerr << "bench: " << p.error().toString() << "\n";
    return 1;
  }
  std::vector<double> latencies;
  latencies.reserve(runs);
  auto t0 = SteadyClock::now();
  int failures = submitAll(*(*p)->engine, "bench-noop-chain", runs, 64, latencies);
  double secs = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  auto commits = (*p)->engine->stats().commits;
  printResult("W1", runs, secs, latencies,
              fmt::format(" commits={} failures={}", commits, failures));
  (*p)->engine->stop();
  if (o.db.empty()) removeDb(db);
  return failures == 0 ? 0 : 1;
}

int runW2(const cli::BenchOptions& o) {
  size_t runs = o.runs > 0 ? static_cast<size_t>(o.runs) : 1'000;
  auto db = benchDbPath(o, "w2");
  if (o.db.empty()) removeDb(db);
  auto p = startInProcess(db, kNoopOne);
  if (!p.ok()) {
    std::cerr << "bench: " << p.error().toString() << "\n";
    return 1;
  }
  std::vector<double> warmup, latencies;
  submitAll(*(*p)->engine, "bench-noop-one", 20, 1, warmup);
  auto before = (*p)->engine->stats().commits;
  auto t0 = SteadyClock::now();
  int failures = submitAll(*(*p)->engine, "bench-noop-one", runs, 1, latencies);
  double secs = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  auto commits = (*p)->engine->stats().commits - before;
  printResult("W2", runs, secs, latencies,
              fmt::format(" commits_per_run={:.2f} failures={}",
                          static_cast<double>(commits) / static_cast<double>(runs), failures));
  (*p)->engine->stop();
  if (o.db.empty()) removeDb(db);
  return failures == 0 ? 0 : 1;
}

}  // namespace

int runBench(const cli::BenchOptions& options) {
  setupLogging("warn");
  if (options.workload == "W1") return runW1(options);
  if (options.workload == "W2") return runW2(options);
  if (options.workload == "W3") return runW3(options);
  if (options.workload == "W3K") return runW3K(options);
  if (options.workload == "L1") return runListBench(options);
  if (options.workload == "S1") return runShimBench(options);
  if (options.workload == "W4") return runTaskBench(options);
  if (options.workload == "W5") return runHttpBench(options);
  if (options.workload == "W6") return runEventBench(options);
  std::cerr << "keel bench: unknown workload '" << options.workload
            << "' (use W1, W2, W3, W3K, W4, W5, W6, L1 or S1)\n";
  return cli::kExitUsage;
}

}  // namespace keel::app
