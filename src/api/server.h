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

#include "api/access.h"
#include "api/http_metrics.h"
#include "api/request_ids.h"
#include "api/router.h"
#include "core/clock.h"
#include "core/random.h"
#include "core/result.h"
#include "engine/control.h"
#include "engine/task_broker.h"
#include "observe/metrics.h"
#include "observe/span.h"
#include "store/store.h"

namespace httplib {
class Server;
}

namespace keel::api {

struct TlsOptions {
  std::string certFile;  // PEM certificate chain; with keyFile, the server speaks HTTPS
  std::string keyFile;   // PEM private key
  bool enabled() const { return !certFile.empty(); }
};

// Bounds that keep slow or greedy clients from holding the workers (see
// guarded_server.h).
struct ConnectionLimits {
  // The whole of one request (head and body) must arrive within this.
  std::chrono::milliseconds requestReadTimeout{10'000};
  // An idle keep-alive connection is closed after this.
  std::chrono::milliseconds keepAliveTimeout{5'000};
  // A connection that has waited this long for request bytes is slow.
  std::chrono::milliseconds slowAfter{2'000};
  int slowPerClient = 8;  // slow connections one address may hold; more are closed
  int slowTotal = 16;     // slow connections all clients together may hold
};

struct ServerOptions {
  size_t maxBodyBytes = 1 << 20;  // larger request bodies get 413
  AccessOptions access;           // tokens, Host and Origin checks (access.h)
  TlsOptions tls;
  ConnectionLimits limits;
  // Wall time for the rows the API writes (tokens); null: the system clock.
  const Clock* clock = nullptr;
  // /readyz answers 200 only while this returns true; empty = always ready.
  std::function<bool()> ready;
  // While not ready: why, as /readyz's "reason" (empty or unset: starting).
  std::function<std::string()> notReadyReason;
  // The registry /metrics renders, where the server registers its own
  // metrics (http_metrics.h) beside the engine's and the others'; not
  // owned, outlives the Server. Null: a registry of the server's own.
  observe::MetricsRegistry* metrics = nullptr;
  // How long a request waits for the engine before answering 503.
  std::chrono::milliseconds engineTimeout{60'000};
  int workerThreads = 32;
  // The queues of `task:` steps, for external workers; null: no task routes
  // answer (503).
  engine::TaskBroker* tasks = nullptr;
  // Called after a subscription is applied or dead deliveries are made
  // pending again; may be empty.
  std::function<void()> onWebhooksChanged;
  // Called after dead notifications are made pending again; may be empty.
  std::function<void()> onNotificationsChanged;
  // Draws request ids and trace ids (request_ids.h); not owned, used under
  // the server's lock. Null: a system random source of the server's own.
  Random* random = nullptr;
  // Where the spans of requests that change something go (request_span.h;
  // the OTLP exporter); not owned. Null: no request spans.
  observe::SpanSink* spans = nullptr;
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
  // The request's id and trace, made once per request on its worker thread.
  const RequestStamp& stampOf(const httplib::Request& request);
  const Clock& clock() const { return options_.clock ? *options_.clock : systemClock_; }

  engine::Control& control_;
  store::Store& store_;
  ServerOptions options_;
  SystemClock systemClock_;
  SystemRandom systemRandom_;
  RequestStamper stamper_;
  AccessPolicy access_;
  Router router_;
  std::unique_ptr<observe::MetricsRegistry> ownMetrics_;  // when options_.metrics is null
  observe::MetricsRegistry& metrics_;
  HttpMetrics httpMetrics_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::atomic<bool> listenReturned_{false};
  int listenSocket_ = -1;  // set while binding
};

}  // namespace keel::api
