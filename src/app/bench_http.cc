#include "app/bench_http.h"

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "app/bench_util.h"
#include "core/clock.h"
#include "core/random.h"
#include "engine/engine.h"
#include "exec/process_executor.h"
#include "http/curl_client.h"
#include "runners/http_runner.h"
#include "store/sqlite/sqlite_store.h"

namespace keel::app {
namespace {

using SteadyClock = std::chrono::steady_clock;

// The run that finished last, handed from the engine's loop to the bench.
struct Finished {
  std::mutex mu;
  std::condition_variable cv;
  std::string runId;
  RunState state = RunState::kPending;
};

}  // namespace

int runHttpBench(const cli::BenchOptions& o) {
  const size_t runs = o.runs > 0 ? static_cast<size_t>(o.runs) : 1'000;
  httplib::Server server;
  server.Post("/orders", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(fmt::format(R"({{"accepted":true,"bytes":{}}})", req.body.size()),
                    "application/json");
  });
  // Answers go out at once (no Nagle delay waiting for the client's ACK);
  // accepted sockets inherit the option from the listening one.
  server.set_socket_options([](socket_t sock) {
    httplib::default_socket_options(sock);
    int one = 1;
    ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  if (port <= 0) {
    std::cerr << "bench: cannot listen on 127.0.0.1\n";
    return 1;
  }
  std::thread serving([&] { server.listen_after_bind(); });
  // Until the loop runs, stop() would not end it (and the join would hang).
  while (!server.is_running()) std::this_thread::yield();

  auto db = benchDbPath(o, "w5");
  if (o.db.empty()) removeDb(db);
  auto store = store::openSqliteStore(db);
  if (!store.ok()) {
    std::cerr << "bench: " << store.error().toString() << "\n";
    server.stop();
    serving.join();
    return 1;
  }
  SystemClock clock;
  SystemRandom random;
  exec::ProcessExecutorOptions xo;
  xo.maxParallel = 1;
  xo.attemptsDir = db + ".steps";  // no run: step: no supervisor is ever started
  exec::ProcessExecutor executor(xo);
  http::CurlHttpClient client;
  runners::HttpRunner runner(client, clock);
  Finished finished;
  engine::EngineOptions eo;
  eo.defaultWorkdir = std::filesystem::current_path().string();
  eo.runners[spec::StepKind::kHttp] = &runner;
  eo.onRunFinished = [&finished](const store::RunRow& row) {
    std::lock_guard lock(finished.mu);
    finished.runId = row.id;
    finished.state = row.state;
    finished.cv.notify_all();
  };
  engine::Engine engine(**store, executor, clock, random, eo);
  int failures = 0;
  std::vector<double> latencies;
  if (auto st = engine.start(); !st.ok()) {
    std::cerr << "bench: " << st.error().toString() << "\n";
    failures = 1;
  } else {
    auto applied = engine
                       .applyWorkflow(fmt::format(R"(name: bench-http
owner: {{ team: bench, contact: bench@example.com }}
runbook: docs/benchmarks.md
params: {{ n: {{ default: "0" }} }}
steps:
  - name: post
    http:
      method: POST
      url: "http://127.0.0.1:{}/orders"
      json: {{ n: "{{{{ params.n }}}}" }}
    timeout: 10s
)",
                                                  port),
                                      "")
                       .get();
    if (!applied.ok()) {
      std::cerr << "bench: " << applied.error().toString() << "\n";
      failures = 1;
    }
    auto runOne = [&](size_t i) -> double {
      auto t0 = SteadyClock::now();
      auto r = engine.trigger({"bench-http", {{"n", std::to_string(i)}}, ""}).get();
      if (!r.ok()) {
        ++failures;
        return 0;
      }
      std::unique_lock lock(finished.mu);
      finished.cv.wait_for(lock, std::chrono::seconds(30),
                           [&] { return finished.runId == r->run.id; });
      if (finished.runId != r->run.id || finished.state != RunState::kSucceeded) ++failures;
      return std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
    };
    for (size_t i = 0; i < 20 && failures == 0; ++i) runOne(i);
    latencies.reserve(runs);
    auto t0 = SteadyClock::now();
    for (size_t i = 0; i < runs && failures == 0; ++i) latencies.push_back(runOne(i));
    double secs = std::chrono::duration<double>(SteadyClock::now() - t0).count();
    printResult("W5", latencies.size(), secs, latencies, fmt::format(" failures={}", failures));
  }
  engine.stop();
  client.shutdown();
  executor.shutdown();
  server.stop();
  serving.join();
  if (o.db.empty()) removeDb(db);
  return failures == 0 ? 0 : 1;
}

}  // namespace keel::app
