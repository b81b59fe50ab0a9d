// Server: keel's HTTP API (/api/v1, /healthz, /readyz, /metrics).
//
// A thin HTTP layer over the engine's Control (mutations: apply, trigger,
// cancel, retry, each answered only once durable) and the Store (reads).
// Every answer is JSON (except /metrics); every error has the shape
// {"error":{"code","message","details"}} with a status that follows the
// Error's code; no request, however malformed, and no exception in a
// handler can stop the server. docs/api.md is the user-facing reference.
//
// start() binds and serves on its own thread (plus a pool of workers that
// run the handlers concurrently); stop() ends it and joins. A Server is
// started at most once. start() and stop() are called by the owner; the
// Control and Store must outlive the Server.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "api/http_metrics.h"
#include "api/router.h"
#include "core/result.h"
#include "engine/control.h"
#include "store/store.h"

namespace httplib {
class Server;
}

namespace keel::api {

struct ServerOptions {
  size_t maxBodyBytes = 1 << 20;  // larger request bodies get 413
  // /readyz answers 200 only while this returns true; empty = always ready.
  std::function<bool()> ready;
  // While not ready: why, as /readyz's "reason" (empty or unset: starting).
  std::function<std::string()> notReadyReason;
  // Appended to /metrics (the engine's own metrics, in Prometheus text).
  std::function<std::string()> extraMetrics;
  // How long a request waits for the engine before answering 503.
  std::chrono::milliseconds engineTimeout{60'000};
  int workerThreads = 32;
};

class Server {
 public:
  Server(engine::Control& control, store::Store& store, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Returns the bound port (port 0 picks a free one). kUnavailable if the
  // address cannot be bound.
  Result<int> start(const std::string& host, int port);
  // Stops accepting, finishes in-flight requests, joins. Idempotent.
  void stop();

 private:
  void addRoutes();
  void configureHttp();
  Reply healthz() const;
  Reply readyz() const;
  Reply metrics() const;

  engine::Control& control_;
  store::Store& store_;
  ServerOptions options_;
  Router router_;
  HttpMetrics httpMetrics_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::atomic<bool> listenReturned_{false};
  int listenSocket_ = -1;  // set while binding
};

}  // namespace keel::api
