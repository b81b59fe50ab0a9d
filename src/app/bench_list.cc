#include "app/bench_list.h"

#include <chrono>
#include <iostream>

#include <fmt/format.h>

#include "app/bench_util.h"
#include "core/ids.h"
#include "store/sqlite/sqlite_store.h"

namespace keel::app {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kWorkflows = 20;
constexpr size_t kFillBatch = 5'000;
constexpr int kPagesPerCase = 200;
constexpr int64_t kStartMs = 1'767'225'600'000;  // 2026-01-01

// Mostly succeeded, as on a real server: about 1 in 50 failed, 1 in 100
// cancelled, 1 in 1,000 still running; none paused. (Prime moduli, so
// every workflow has runs in each of these states.)
RunState stateOf(size_t i) {
  if (i % 997 == 7) return RunState::kRunning;
  if (i % 101 == 3) return RunState::kCancelled;
  if (i % 53 == 1) return RunState::kFailed;
  return RunState::kSucceeded;
}

std::string workflowOf(size_t i) { return fmt::format("wf-{:02}", i % kWorkflows); }

// One run a second, ids made the way the engine makes them.
Result<std::string> fill(store::Store& store, size_t runs) {
  SeededRandom random(42);
  std::string middle;
  store::Batch batch;
  for (size_t i = 0; i < runs; ++i) {
    store::RunRow r;
    WallTime created = fromUnixMillis(kStartMs + static_cast<int64_t>(i) * 1000);
    r.id = newRunId(created, random);
    if (i == runs / 2) middle = r.id;
    r.workflow = workflowOf(i);
    r.version = 1;
    r.state = stateOf(i);
    r.paramsJson = "{}";
    r.concurrencyKey = r.workflow;
    r.createdAt = created;
    r.startedAt = created;
    if (isTerminal(r.state))
      r.finishedAt = fromUnixMillis(kStartMs + static_cast<int64_t>(i) * 1000 + 500);
    batch.mutations.push_back(store::PutRun{std::move(r)});
    if (batch.mutations.size() == kFillBatch || i + 1 == runs) {
      KEEL_TRY(store.apply(batch));
      batch.mutations.clear();
    }
  }
  return middle;
}

}  // namespace

int runListBench(const cli::BenchOptions& o) {
  size_t runs = o.runs > 0 ? static_cast<size_t>(o.runs) : 300'000;
  auto db = benchDbPath(o, "l1");
  if (o.db.empty()) removeDb(db);
  store::StoreOptions so;
  so.synchronousFull = false;  // filling is not what is measured
  auto opened = store::openSqliteStore(db, so);
  if (!opened.ok()) {
    std::cerr << "bench: " << opened.error().toString() << "\n";
    return 1;
  }
  auto t0 = SteadyClock::now();
  auto middle = fill(**opened, runs);
  if (!middle.ok()) {
    std::cerr << "bench: " << middle.error().toString() << "\n";
    return 1;
  }
  double fillSecs = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  std::cerr << fmt::format("L1: {} runs stored in {:.1f} s\n", runs, fillSecs);
  // Opening a large database: what a restart costs before keel serves.
  opened->reset();
  auto o0 = SteadyClock::now();
  opened = store::openSqliteStore(db, so);
  double openMs = std::chrono::duration<double, std::milli>(SteadyClock::now() - o0).count();
  if (!opened.ok()) {
    std::cerr << "bench: " << opened.error().toString() << "\n";
    return 1;
  }
  store::Store& store = **opened;

  struct Case {
    std::string name;
    store::RunFilter filter;
  };
  std::vector<Case> cases;
  for (int mask = 0; mask < 8; ++mask) {
    store::RunFilter f;
    std::string name;
    if (mask & 1) {
      f.workflow = workflowOf(3);
      name += "workflow+";
    }
    if (mask & 2) {
      f.states = {RunState::kFailed};
      name += "state+";
    }
    if (mask & 4) {
      f.cursor = *middle;
      name += "cursor+";
    }
    name = name.empty() ? "none" : name.substr(0, name.size() - 1);
    cases.push_back({name, f});
  }
  // A page that finds nothing must not read the whole workflow either.
  store::RunFilter none;
  none.workflow = workflowOf(3);
  none.states = {RunState::kPaused};
  cases.push_back({"workflow+state(no match)", none});

  std::vector<double> all;
  std::string extra;
  int failures = 0;
  double worstP50 = 0;
  for (const Case& c : cases) {
    std::vector<double> latencies;
    size_t rows = 0;
    for (int i = 0; i < kPagesPerCase; ++i) {
      auto p0 = SteadyClock::now();
      auto page = store.listRuns(c.filter);
      latencies.push_back(
          std::chrono::duration<double, std::milli>(SteadyClock::now() - p0).count());
      if (!page.ok()) {
        ++failures;
        continue;
      }
      rows = page->size();
    }
    double p50 = percentileMs(latencies, 0.50);
    worstP50 = std::max(worstP50, p50);
    std::cerr << fmt::format("L1: {:<24} rows={:<3} p50_ms={:.3f} p99_ms={:.3f}\n", c.name, rows,
                             p50, percentileMs(latencies, 0.99));
    all.insert(all.end(), latencies.begin(), latencies.end());
  }
  double secs = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  printResult("L1", runs, secs, all,
              fmt::format(" fill_s={:.1f} open_ms={:.1f} worst_case_p50_ms={:.3f} failures={}",
                          fillSecs, openMs, worstP50, failures));
  opened->reset();
  if (o.db.empty()) removeDb(db);
  return failures == 0 ? 0 : 1;
}

}  // namespace keel::app
