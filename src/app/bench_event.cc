#include "app/bench_event.h"

#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/bench_server.h"
#include "app/bench_util.h"

namespace keel::app {
namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kClients = 16;
constexpr const char* kTopic = "bench.events";

constexpr const char* kEventWorkflow = R"(name: bench-event
owner: { team: bench, contact: bench@example.com }
runbook: docs/benchmarks.md
triggers:
  - event: bench.events
steps:
  - { name: a, noop: true }
)";

struct EventShared {
  size_t events = 0;
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  // Answers other than 202 with one run, then 200 with the same run.
  std::atomic<size_t> firstErrors{0}, repeatErrors{0}, repeatMismatches{0};
  std::mutex logMu;
  int messagesLeft = 5;  // the first few errors are printed on stderr

  void note(const std::string& what) {
    std::lock_guard lock(logMu);
    if (messagesLeft-- > 0) std::cerr << "bench: " << what << "\n";
  }
};

// The run ids of an answer, or an empty array when it has none.
json runsOf(const httplib::Result& res) {
  auto body = json::parse(res->body, nullptr, false);
  if (!body.is_object() || !body["runs"].is_array()) return json::array();
  return body["runs"];
}

void clientLoop(EventShared& s, const std::string& url, const std::string& token,
                std::vector<double>& latencies) {
  auto client = benchClient(url, token);
  const std::string path = std::string("/api/v1/events/") + kTopic;
  while (!s.stop) {
    size_t i = s.next.fetch_add(1);
    if (i >= s.events) break;
    const std::string body = json{{"id", fmt::format("ev-{}", i)}, {"payload", {{"n", i}}}}.dump();
    auto t0 = SteadyClock::now();
    auto first = client->Post(path, body, "application/json");
    auto t1 = SteadyClock::now();
    json runs;
    if (first && first->status == 202 && (runs = runsOf(first)).size() == 1) {
      latencies.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    } else {
      ++s.firstErrors;
      s.note(first ? fmt::format("event {} answered {}: {}", i, first->status, first->body)
                   : fmt::format("event {} failed: {}", i, httplib::to_string(first.error())));
      client = benchClient(url, token);
      continue;  // the counts at the end show whether it reached keel
    }
    auto again = client->Post(path, body, "application/json");
    if (!again || again->status != 200) {
      ++s.repeatErrors;
      s.note(again
                 ? fmt::format("event {} again answered {}: {}", i, again->status, again->body)
                 : fmt::format("event {} again failed: {}", i, httplib::to_string(again.error())));
      client = benchClient(url, token);
    } else if (runsOf(again) != runs) {
      ++s.repeatMismatches;
      s.note(
          fmt::format("event {} again named other runs: {} then {}", i, runs.dump(), again->body));
    }
  }
}

}  // namespace

int runEventBench(const cli::BenchOptions& o) {
  const size_t events = o.runs > 0 ? static_cast<size_t>(o.runs) : 10'000;
  auto server = BenchServer::start(o, "w6", kEventWorkflow);
  if (!server.ok()) {
    std::cerr << "bench: " << server.error().toString() << "\n";
    return 1;
  }
  const std::string url = (*server)->url(), token = (*server)->token(), db = (*server)->db();

  EventShared s;
  s.events = events;
  std::vector<std::vector<double>> latencies(kClients);
  for (auto& v : latencies) v.reserve(events / kClients + 1);
  std::vector<std::thread> threads;
  const auto t0 = SteadyClock::now();
  for (size_t c = 0; c < kClients; ++c)
    threads.emplace_back([&, c] { clientLoop(s, url, token, latencies[c]); });
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(SteadyClock::now() - t0).count();

  // Every 202 came once its run was durable; the noop runs end by
  // themselves, so wait (bounded) until the database shows them all ended.
  const std::string succeededSql =
      "SELECT count(*) FROM runs WHERE workflow = 'bench-event' AND state = 'succeeded'";
  int64_t succeeded = countRows(db, succeededSql);
  for (int i = 0; i < 2000 && succeeded < static_cast<int64_t>(events); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    succeeded = countRows(db, succeededSql);
  }
  const long serverRss = processRssKb((*server)->pid());
  (*server)->stop();

  const int64_t runs = countRows(db, "SELECT count(*) FROM runs WHERE workflow = 'bench-event'");
  const int64_t keys = countRows(
      db, "SELECT count(DISTINCT idempotency_key) FROM runs WHERE workflow = 'bench-event'");
  const int64_t stored = countRows(db, "SELECT count(*) FROM inbound_events");
  const int64_t duplicates = runs - keys;
  std::vector<double> all;
  all.reserve(events);
  for (const auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
  const auto want = static_cast<int64_t>(events);
  const size_t failures = (runs == want ? 0 : 1) + (keys == want ? 0 : 1) +
                          (stored == want ? 0 : 1) + (succeeded == want ? 0 : 1) + s.firstErrors +
                          s.repeatErrors + s.repeatMismatches;
  printResult(
      "W6", events, secs, all,
      fmt::format(" events_per_s={:.0f} requests_per_s={:.0f} server_rss_kb={} "
                  "runs_created={} duplicates={} events_stored={} succeeded={} "
                  "first_errors={} repeat_errors={} repeat_mismatches={} failures={}",
                  static_cast<double>(events) / secs, 2.0 * static_cast<double>(events) / secs,
                  serverRss, runs, duplicates, stored, succeeded, s.firstErrors.load(),
                  s.repeatErrors.load(), s.repeatMismatches.load(), failures));
  if (failures != 0)
    std::cerr << fmt::format(
        "bench: W6 FAILED: {} run(s) for {} events ({} duplicate(s)), {} event(s) stored, {} "
        "succeeded, {} first send(s) and {} repeat(s) not answered as expected, {} repeat(s) "
        "named other runs\n",
        runs, events, duplicates, stored, succeeded, s.firstErrors.load(), s.repeatErrors.load(),
        s.repeatMismatches.load());
  return failures == 0 ? 0 : 1;
}

}  // namespace keel::app
