#include "app/bench_task.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>
#include <unordered_map>
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

constexpr size_t kTriggerClients = 16;
constexpr size_t kWorkers = 4;
constexpr int kPollMax = 100;
constexpr int kPollWaitMs = 200;

// Each step's input comes from the step before: b and c get the previous
// step's `n` and the run id it saw, as JSON values ("{{ ... }}" alone keeps
// the output's type). The worker returns {"n": n + 1, "run": RUN_ID}.
constexpr const char* kTaskChain = R"(name: bench-task-chain
owner: { team: bench, contact: bench@example.com }
runbook: docs/benchmarks.md
steps:
  - name: a
    task: { queue: w4, input: { n: 0, run: "{{ run.id }}" } }
    timeout: 1m
  - name: b
    needs: [a]
    task: { queue: w4, input: { n: "{{ steps.a.output.n }}", run: "{{ steps.a.output.run }}" } }
    timeout: 1m
  - name: c
    needs: [b]
    task: { queue: w4, input: { n: "{{ steps.b.output.n }}", run: "{{ steps.b.output.run }}" } }
    timeout: 1m
)";

// What the bench threads share.
struct TaskShared {
  size_t runs = 0;
  std::atomic<size_t> nextTrigger{0};
  std::atomic<size_t> runsDone{0};  // completions of step c answered ok
  std::atomic<bool> stop{false};
  std::atomic<size_t> triggerErrors{0}, inputMismatches{0}, reportErrors{0}, pollErrors{0};
  std::atomic<size_t> polls{0}, emptyPolls{0}, reportCalls{0}, tasks{0};
  std::mutex mu;
  std::condition_variable allDone;
  std::mutex logMu;
  int messagesLeft = 5;  // the first few errors are printed on stderr

  void note(const std::string& what) {
    std::lock_guard lock(logMu);
    if (messagesLeft-- > 0) std::cerr << "bench: " << what << "\n";
  }
};

struct Stamp {
  std::string runId;
  SteadyClock::time_point at;
};

// Triggers runs until `runs` have been created, recording when each
// trigger was sent, by run id.
void triggerLoop(TaskShared& s, const std::string& url, const std::string& token,
                 std::vector<Stamp>& sent) {
  auto client = benchClient(url, token);
  while (!s.stop) {
    size_t i = s.nextTrigger.fetch_add(1);
    if (i >= s.runs) break;
    for (int tries = 0;; ++tries) {
      auto t0 = SteadyClock::now();
      auto res = client->Post("/api/v1/workflows/bench-task-chain/runs", "{}", "application/json");
      if (res && res->status == 201) {
        auto body = json::parse(res->body, nullptr, false);
        if (body.is_object() && body.contains("id") && body["id"].is_string()) {
          sent.push_back({body["id"].get<std::string>(), t0});
          break;
        }
      }
      ++s.triggerErrors;
      s.note(res ? fmt::format("trigger answered {}: {}", res->status, res->body)
                 : fmt::format("trigger failed: {}", httplib::to_string(res.error())));
      // No idempotency key: a trigger that did reach keel may have created
      // a run; the counts at the end would show it. Give up after a few.
      if (tries >= 3 || s.stop) {
        s.stop = true;
        s.allDone.notify_all();
        return;
      }
      client = benchClient(url, token);
    }
  }
}

// A worker: polls up to kPollMax tasks at a time, checks each input against
// what the previous step returned, and completes the whole batch with one
// POST /api/v1/tasks/results. Records when each run's step c was answered.
void workerLoop(TaskShared& s, const std::string& url, const std::string& token, size_t index,
                std::vector<Stamp>& finished) {
  auto client = benchClient(url, token);
  const std::string worker = fmt::format("w4-worker-{}", index);
  const std::string pollBody = json{
      {"queues", json::array({"w4"})},
      {"worker", worker},
      {"max", kPollMax},
      {"wait_ms", kPollWaitMs}}.dump();
  const json nextPoll = {{"queues", json::array({"w4"})}, {"max", kPollMax}, {"wait_ms", 0}};
  json tasks;  // {"tasks": [...]}: what the last poll, or the last results call, handed out
  while (!s.stop) {
    if (!tasks.is_object() || !tasks["tasks"].is_array() || tasks["tasks"].empty()) {
      auto res = client->Post("/api/v1/tasks/poll", pollBody, "application/json");
      ++s.polls;
      if (!res || res->status != 200) {
        ++s.pollErrors;
        s.note(res ? fmt::format("poll answered {}: {}", res->status, res->body)
                   : fmt::format("poll failed: {}", httplib::to_string(res.error())));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        client = benchClient(url, token);
        continue;
      }
      tasks = json::parse(res->body, nullptr, false);
      if (!tasks.is_object() || !tasks["tasks"].is_array()) {
        ++s.pollErrors;
        s.note("poll answer is not {\"tasks\": [...]}: " + res->body);
        tasks = json();
        continue;
      }
      if (tasks["tasks"].empty()) {
        ++s.emptyPolls;
        continue;
      }
    }
    json results = json::array();
    std::vector<bool> isLast;
    for (const json& t : tasks["tasks"]) {
      const std::string& id = t["id"].get_ref<const std::string&>();
      const std::string& runId = t["run_id"].get_ref<const std::string&>();
      const std::string& step = t["step"].get_ref<const std::string&>();
      const json& input = t["input"];
      // a gets n = 0, b gets a's 1, c gets b's 2; each with its own run id.
      const int want = step == "a" ? 0 : step == "b" ? 1 : step == "c" ? 2 : -1;
      const bool inputOk = input.is_object() && input["n"].is_number_integer() &&
                           input["n"].get<int>() == want && input["run"].is_string() &&
                           input["run"].get_ref<const std::string&>() == runId;
      if (!inputOk) {
        ++s.inputMismatches;
        s.note(fmt::format("task {}: unexpected input {}", id, input.dump()));
      }
      results.push_back({{"id", id}, {"output", {{"n", want + 1}, {"run", runId}}}});
      isLast.push_back(step == "c");
    }
    s.tasks += results.size();
    // The results, and the next batch in the same call.
    const std::string reportBody =
        json{{"worker", worker}, {"results", results}, {"poll", nextPoll}}.dump();
    auto answer = client->Post("/api/v1/tasks/results", reportBody, "application/json");
    ++s.reportCalls;
    const auto now = SteadyClock::now();
    if (!answer || answer->status != 200) {
      s.reportErrors += results.size();
      s.note(answer ? fmt::format("results answered {}: {}", answer->status, answer->body)
                    : fmt::format("results failed: {}", httplib::to_string(answer.error())));
      client = benchClient(url, token);
      continue;
    }
    json acks = json::parse(answer->body, nullptr, false);
    if (!acks.is_object() || !acks["results"].is_array() ||
        acks["results"].size() != results.size() || !acks["tasks"].is_array()) {
      s.reportErrors += results.size();
      s.note("results answer does not match the reports: " + answer->body);
      tasks = json();
      continue;
    }
    if (acks.contains("poll_error")) s.note("the poll of a results call failed: " + answer->body);
    ++s.polls;
    if (acks["tasks"].empty()) ++s.emptyPolls;
    tasks = {{"tasks", std::move(acks["tasks"])}};
    size_t done = 0;
    for (size_t i = 0; i < results.size(); ++i) {
      const json& ack = acks["results"][i];
      if (!ack.is_object() || ack["ok"] != true) {
        ++s.reportErrors;
        s.note("a result was refused: " + ack.dump());
        continue;
      }
      if (isLast[i]) {
        finished.push_back({results[i]["output"]["run"].get<std::string>(), now});
        ++done;
      }
    }
    if (done > 0 && s.runsDone.fetch_add(done) + done >= s.runs) {
      std::lock_guard lock(s.mu);
      s.allDone.notify_all();
    }
  }
}

// A counter of keel's /metrics; -1 if it cannot be read.
int64_t metricValue(const std::string& url, const std::string& token, const std::string& name) {
  auto res = benchClient(url, token)->Get("/metrics");
  if (!res || res->status != 200) return -1;
  const std::string line = "\n" + name + " ";
  auto at = res->body.find(line);
  return at == std::string::npos ? -1 : std::atoll(res->body.c_str() + at + line.size());
}

}  // namespace

int runTaskBench(const cli::BenchOptions& o) {
  const size_t runs = o.runs > 0 ? static_cast<size_t>(o.runs) : 10'000;
  auto server = BenchServer::start(o, "w4", kTaskChain);
  if (!server.ok()) {
    std::cerr << "bench: " << server.error().toString() << "\n";
    return 1;
  }
  const std::string url = (*server)->url(), token = (*server)->token(), db = (*server)->db();

  TaskShared s;
  s.runs = runs;
  std::vector<std::vector<Stamp>> sent(kTriggerClients), finished(kWorkers);
  for (auto& v : sent) v.reserve(runs / kTriggerClients + 1);
  for (auto& v : finished) v.reserve(runs);
  std::vector<std::thread> threads;
  for (size_t w = 0; w < kWorkers; ++w)
    threads.emplace_back([&, w] { workerLoop(s, url, token, w, finished[w]); });
  const auto t0 = SteadyClock::now();
  for (size_t t = 0; t < kTriggerClients; ++t)
    threads.emplace_back([&, t] { triggerLoop(s, url, token, sent[t]); });
  {
    std::unique_lock lock(s.mu);
    s.allDone.wait_for(lock, std::chrono::minutes(5),
                       [&] { return s.runsDone >= runs || s.stop.load(); });
  }
  // Every step c's completion has been answered, so it is durable; the run
  // ends in the same commit. Wait until the database agrees (bounded).
  const std::string succeededSql =
      "SELECT count(*) FROM runs WHERE workflow = 'bench-task-chain' AND state = 'succeeded'";
  int64_t succeeded = countRows(db, succeededSql);
  for (int i = 0; i < 1000 && !s.stop && succeeded < static_cast<int64_t>(runs); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    succeeded = countRows(db, succeededSql);
  }
  const double secs = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  s.stop = true;
  for (auto& t : threads) t.join();
  const long serverRss = processRssKb((*server)->pid());
  const int64_t commits = metricValue(url, token, "keel_store_commits_total");
  (*server)->stop();

  // Every run succeeded, with exactly three attempts, and every step kept
  // the output its worker returned.
  const int64_t runsTotal = countRows(db, "SELECT count(*) FROM runs");
  const int64_t attempts = countRows(db, "SELECT count(*) FROM attempts");
  const int64_t goodSteps =
      countRows(db,
                "SELECT count(*) FROM steps WHERE state = 'succeeded' AND "
                "output_json = '{\"n\":' || (CASE name WHEN 'a' THEN 1 WHEN 'b' "
                "THEN 2 WHEN 'c' THEN 3 END) || ',\"run\":\"' || run_id || '\"}'");
  std::unordered_map<std::string, SteadyClock::time_point> start;
  start.reserve(runs);
  for (const auto& v : sent)
    for (const auto& st : v) start.emplace(st.runId, st.at);
  std::vector<double> latencies;
  latencies.reserve(runs);
  size_t unmatched = 0;
  for (const auto& v : finished)
    for (const auto& st : v) {
      auto it = start.find(st.runId);
      if (it == start.end()) {
        ++unmatched;
        continue;
      }
      latencies.push_back(std::chrono::duration<double, std::milli>(st.at - it->second).count());
    }
  const auto want = static_cast<int64_t>(runs);
  const size_t failures = (succeeded == want ? 0 : 1) + (runsTotal == want ? 0 : 1) +
                          (attempts == 3 * want ? 0 : 1) + (goodSteps == 3 * want ? 0 : 1) +
                          unmatched + s.triggerErrors + s.inputMismatches + s.reportErrors;
  const double polls = static_cast<double>(std::max<size_t>(1, s.polls - s.emptyPolls));
  printResult(
      "W4", runs, secs, latencies,
      fmt::format(
          " server_rss_kb={} commits={} succeeded={} attempts={} steps_ok={} "
          "tasks_per_poll={:.1f} tasks_per_report={:.1f} empty_polls={} "
          "input_mismatches={} report_errors={} poll_errors={} failures={}",
          serverRss, commits, succeeded, attempts, goodSteps, static_cast<double>(s.tasks) / polls,
          static_cast<double>(s.tasks) / static_cast<double>(std::max<size_t>(1, s.reportCalls)),
          s.emptyPolls.load(), s.inputMismatches.load(), s.reportErrors.load(), s.pollErrors.load(),
          failures));
  return failures == 0 ? 0 : 1;
}

}  // namespace keel::app
