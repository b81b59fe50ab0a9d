#include "app/serve.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "api/access.h"
#include "api/channel_apply.h"
#include "api/server.h"
#include "api/subscription_apply.h"
#include "app/audit_head.h"
#include "app/build_info.h"
#include "app/retention.h"
#include "app/shim_path.h"
#include "auth/bootstrap.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "core/random.h"
#include "engine/engine.h"
#include "exec/process_executor.h"
#include "http/curl_client.h"
#include "observe/json_log.h"
#include "observe/metrics.h"
#include "observe/otlp_exporter.h"
#include "outbox/mail_sender.h"
#include "outbox/notification_delivery.h"
#include "outbox/outbox_delivery.h"
#include "outbox/webhook_delivery.h"
#include "runners/http_runner.h"
#include "runners/task_runner.h"
#include "spec/subscription.h"
#include "store/sqlite/sqlite_store.h"

namespace keel::app {
namespace {

int gSignalPipe[2] = {-1, -1};

void onSignal(int sig) {
  char c = static_cast<char>(sig);
  [[maybe_unused]] auto n = write(gSignalPipe[1], &c, 1);
}

// Returns the signal that asked keel to stop.
int waitForStopSignal() {
  char c = 0;
  while (read(gSignalPipe[0], &c, 1) < 0 && errno == EINTR) {
  }
  return c;
}

void installSignalHandlers() {
  if (pipe2(gSignalPipe, O_CLOEXEC) != 0) return;
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool splitListen(const std::string& listen, std::string& host, int& port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  host = listen.substr(0, colon);
  try {
    size_t used = 0;
    port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1 || port < 0 || port > 65535) return false;
  } catch (...) {
    return false;
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return !host.empty();
}

// Applies every *.yaml / *.yml file of `dir`, in name order. Returns false
// (after printing every problem) if any file is refused.
bool applyDirectory(engine::Engine& engine, store::Store& store, const Clock& clock,
                    const std::string& dir) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    auto ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(e.path());
  }
  if (ec) {
    std::cerr << "keel: cannot read workflows directory " << dir << ": " << ec.message() << "\n";
    return false;
  }
  std::sort(files.begin(), files.end());
  bool ok = true;
  for (const auto& f : files) {
    std::ifstream in(f);
    std::stringstream text;
    text << in.rdbuf();
    auto abs = std::filesystem::absolute(f).lexically_normal().string();
    auto kind = spec::fileKind(text.str(), abs);
    if (!kind.ok()) {
      std::cerr << "keel: " << kind.error().toString() << "\n";
      ok = false;
      continue;
    }
    if (*kind == spec::DocumentKind::kSubscription) {
      auto s = api::applySubscription(store, text.str(), abs, clock.wallNow());
      if (!s.ok()) {
        std::cerr << "keel: " << s.error().toString() << "\n";
        ok = false;
        continue;
      }
      spdlog::info("subscription {} version {} {} from {}", s->row.name, s->row.version,
                   s->changed ? "applied" : "unchanged", abs);
      continue;
    }
    if (*kind == spec::DocumentKind::kChannel) {
      auto c = api::applyChannel(store, text.str(), abs, clock.wallNow());
      if (!c.ok()) {
        std::cerr << "keel: " << c.error().toString() << "\n";
        ok = false;
        continue;
      }
      spdlog::info("channel {} version {} {} from {}", c->row.name, c->row.version,
                   c->changed ? "applied" : "unchanged", abs);
      continue;
    }
    auto r = engine.applyWorkflows(text.str(), abs).get();
    if (!r.ok()) {
      std::cerr << "keel: " << r.error().toString() << "\n";
      ok = false;
      continue;
    }
    for (const auto& applied : *r) {
      for (const auto& w : applied.warnings) spdlog::warn("{}", w);
      spdlog::info("workflow {} version {} {} from {}", applied.workflow.name,
                   applied.workflow.version, applied.changed ? "applied" : "unchanged", abs);
    }
  }
  return ok;
}

}  // namespace

void setupLogging(const std::string& level) {
  observe::installJsonLogger(level, std::make_shared<spdlog::sinks::stderr_sink_mt>());
}

namespace {

// The listen address and security flags together: refuses what would expose
// keel, and warns about what is allowed but unsafe.
bool checkExposure(const cli::ServeOptions& options, const std::string& host) {
  bool loopback = api::isLoopbackHost(host);
  if (options.tlsCert.empty() != options.tlsKey.empty()) {
    std::cerr << "keel: --tls-cert and --tls-key go together\n";
    return false;
  }
  if (options.auth == "none" && !loopback) {
    std::cerr << "keel: --auth none is allowed only on a loopback address (127.0.0.1, ::1): "
                 "without tokens anyone who reaches the port runs commands as this user\n";
    return false;
  }
  if (!loopback && options.tlsCert.empty() && !options.insecureListen) {
    std::cerr << "keel: refusing to serve plain HTTP on " << host
              << ": tokens and workflow commands would cross the network in clear text. Serve "
                 "HTTPS with --tls-cert and --tls-key, or accept the risk with --insecure-listen "
                 "(for example behind a TLS proxy on a private network)\n";
    return false;
  }
  if (options.auth == "none") {
    std::cerr << "keel: WARNING: --auth none: the API takes no token; any local user or program "
                 "can run commands as this user\n";
    spdlog::warn("authentication is off (--auth none): any local process may use the API");
  }
  if (!loopback && options.insecureListen && options.tlsCert.empty())
    spdlog::warn("serving plain HTTP on a non-loopback address (--insecure-listen)");
  const std::string& otlp = options.otlpEndpoint;
  if (!otlp.empty() && !otlp.starts_with("http://") && !otlp.starts_with("https://")) {
    std::cerr << "keel: --otlp-endpoint must be an http:// or https:// URL (the collector's "
                 "OTLP/HTTP address, e.g. http://127.0.0.1:4318)\n";
    return false;
  }
  return true;
}

// Stops the engine (writing everything it holds), then the executor:
// detached, leaving the steps running for the next start, or, with
// --stop-steps, after the engine has stopped them and recorded it. Once.
class StopInOrder {
 public:
  StopInOrder(engine::Engine& engine, exec::ProcessExecutor& executor, http::HttpClient& http,
              runners::TaskRunner& tasks, bool stopSteps)
      : engine_(engine), executor_(executor), http_(http), tasks_(tasks), stopSteps_(stopSteps) {}
  ~StopInOrder() { stop(); }
  StopInOrder(const StopInOrder&) = delete;
  StopInOrder& operator=(const StopInOrder&) = delete;
  void stop() {
    if (done_) return;
    done_ = true;
    // Workers get 503 from here on and report again after the restart,
    // when each leased task is re-found.
    tasks_.close();
    engine_.stop(stopSteps_);
    tasks_.release();
    executor_.detach();
    // Calls in flight end here; their attempts stay running in the
    // database and the next start retries them (same Idempotency-Key).
    http_.shutdown();
  }

 private:
  engine::Engine& engine_;
  exec::ProcessExecutor& executor_;
  http::HttpClient& http_;
  runners::TaskRunner& tasks_;
  bool stopSteps_;
  bool done_ = false;
};

}  // namespace

int runServe(const cli::ServeOptions& options) {
  setupLogging(options.logLevel);
  std::string host;
  int port = 0;
  if (!splitListen(options.listen, host, port)) {
    std::cerr << "keel: --listen must be HOST:PORT, got '" << options.listen << "'\n";
    return cli::kExitUsage;
  }
  if (!checkExposure(options, host)) return cli::kExitConfig;
  const std::string tokenFile =
      options.tokenFile.empty() ? options.db + ".token" : options.tokenFile;
  installSignalHandlers();
  // Opening creates a missing database: never silently where one existed.
  auto traces = store::databaseTraces(options.db);
  traces.push_back(tokenFile);
  if (auto lost = store::checkNotLost(options.db, traces, options.init); !lost.ok()) {
    std::cerr << "keel: refusing to start: " << lost.error().toString() << "\n";
    if (!options.init)
      std::cerr << "keel: restore the database, or start once with --init to create a new empty "
                   "one\n";
    return 1;
  }
  auto store = store::openSqliteStore(options.db);
  if (!store.ok()) {
    std::cerr << "keel: cannot open database " << options.db << ": " << store.error().toString()
              << "\n";
    return 1;
  }
  SystemClock clock;
  auto created = auth::ensureAdminToken(**store, tokenFile, clock.wallNow());
  if (!created.ok()) {
    std::cerr << "keel: cannot create the first admin token: " << created.error().toString()
              << "\n";
    return 1;
  }
  if (*created) {
    std::cerr << "keel: new database: admin token written to " << tokenFile
              << " (mode 0600; the CLI reads ./keel.db.token, $KEEL_TOKEN_FILE or $KEEL_TOKEN)"
              << "\n";
    spdlog::info("admin token written to {}", tokenFile);
  }
  auto shim = findShim();
  if (!shim.ok()) {
    std::cerr << "keel: " << shim.error().message() << "\n";
    return 1;
  }
  exec::ProcessExecutorOptions xo;
  xo.maxParallel = static_cast<size_t>(std::max(1, options.maxParallelSteps));
  xo.shimPath = *shim;
  xo.attemptsDir = options.db + ".steps";
  exec::ProcessExecutor executor(xo);
  SystemRandom random;
  engine::EngineOptions eo;
  eo.defaultWorkdir = std::filesystem::current_path().string();
  eo.maxParallelSteps = std::max(1, options.maxParallelSteps);
  // Spans go out on a client of their own, which goes on sending while the
  // engine stops; both outlive the engine, which records spans into them.
  http::CurlHttpClient otlpClient;
  http::CurlHttpClient httpClient;
  runners::HttpRunner httpRunner(httpClient, clock);
  eo.runners[spec::StepKind::kHttp] = &httpRunner;
  // Every module's metrics, served on /metrics; outlives all of them.
  observe::MetricsRegistry metrics;
  eo.metrics = &metrics;
  registerBuildInfo(metrics);
  std::optional<observe::OtlpExporter> otlp;  // after the registry it counts in
  if (!options.otlpEndpoint.empty()) {
    otlp.emplace(otlpClient, metrics, observe::OtlpOptions{.endpoint = options.otlpEndpoint});
    otlp->start();
    eo.spans = &*otlp;
    spdlog::info("exporting spans to {}", observe::OtlpExporter::tracesUrl(options.otlpEndpoint));
  }
  runners::TaskRunner taskRunner(clock, {.metrics = &metrics});
  eo.runners[spec::StepKind::kTask] = &taskRunner;
  // Set before the engine's loop starts, read only on it.
  outbox::OutboxDelivery* outboxDelivery = nullptr;
  outbox::WebhookDelivery* webhookDelivery = nullptr;
  outbox::NotificationDelivery* notificationDelivery = nullptr;
  eo.onOutboxWritten = [&outboxDelivery, &webhookDelivery] {
    outboxDelivery->wake();
    webhookDelivery->wake();
  };
  eo.onNotificationsWritten = [&notificationDelivery] {
    if (notificationDelivery) notificationDelivery->wake();
  };
  engine::Engine engine(**store, executor, clock, random, eo);
  taskRunner.setLeaseLog(&engine);
  // Every way out stops the engine and then lets go of the steps, in that
  // order: the executor's last callbacks post to the engine's loop, which
  // must still exist, and a step is stopped only when asked to.
  // Declared before the stopper, so that on every way out the engine has
  // stopped (and calls onOutboxWritten no more) before it goes; a delivery
  // made while the engine stops is refused at once and left pending.
  outbox::OutboxDelivery delivery(**store, engine, {.metrics = &metrics});
  outboxDelivery = &delivery;
  // Its own client: stopping the engine's (StopInOrder) leaves it working.
  http::CurlHttpClient webhookClient;
  SystemRandom webhookRandom;
  outbox::WebhookDelivery webhooks(**store, webhookClient, clock, webhookRandom,
                                   {.metrics = &metrics});
  webhookDelivery = &webhooks;
  // Notifications to the channels: their own client and thread, stopped
  // before the engine like the webhooks (email is sent on that thread).
  http::CurlHttpClient notificationClient;
  outbox::CurlMailSender mailSender;
  SystemRandom notificationRandom;
  outbox::NotificationDelivery notifications(**store, notificationClient, mailSender, clock,
                                             notificationRandom, {.metrics = &metrics});
  notificationDelivery = &notifications;
  StopInOrder stopper{engine, executor, httpClient, taskRunner, options.stopSteps};
  if (auto st = engine.start(); !st.ok()) {
    std::cerr << "keel: cannot start the engine: " << st.error().toString() << "\n";
    return 1;
  }
  delivery.start();
  webhooks.start();
  notifications.start();
  if (!options.workflowsDir.empty() &&
      !applyDirectory(engine, **store, clock, options.workflowsDir))
    return cli::kExitDataErr;
  api::ServerOptions so;
  so.ready = [&engine] { return engine.ready(); };
  so.notReadyReason = [&engine] {
    auto r = engine.readiness();
    return r.ok() ? std::string() : r.error().message();
  };
  Retainer retainer(**store, clock, retentionOptions(options), metrics);
  retainer.start();
  AuditHeadReporter auditHead(**store, metrics);
  auditHead.start();
  so.metrics = &metrics;
  so.access.auth = options.auth == "none" ? api::AuthMode::kNone : api::AuthMode::kToken;
  so.access.allowedOrigins = options.allowOrigins;
  so.tls = {options.tlsCert, options.tlsKey};
  so.tasks = &taskRunner;
  if (otlp) so.spans = &*otlp;  // the spans of requests that change something
  so.onWebhooksChanged = [&webhooks] { webhooks.wake(); };
  so.onNotificationsChanged = [&notifications] { notifications.wake(); };
  api::Server server(engine, **store, so);
  auto bound = server.start(host, port);
  if (!bound.ok()) {
    std::cerr << "keel: cannot listen on " << options.listen << ": " << bound.error().toString()
              << "\n";
    return 1;
  }
  std::string shownHost = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::cout << "keel serving " << (options.tlsCert.empty() ? "http" : "https") << "://" << shownHost
            << ":" << *bound << " (database " << options.db << ")" << std::endl;
  spdlog::info("serving on {}:{} with database {}", host, *bound, options.db);
  int sig = waitForStopSignal();
  spdlog::info("signal {} received, stopping{}", sig,
               options.stopSteps ? " and stopping the running steps (--stop-steps)"
                                 : "; running steps go on and are re-attached at the next start");
  // The API answers 503 with Retry-After while the engine writes what it
  // holds; then it closes.
  retainer.stop();
  auditHead.stop();
  delivery.stop();
  webhooks.stop();
  notifications.stop();
  stopper.stop();
  if (otlp) otlp->stop();  // sends the spans of the last commits
  server.stop();
  return 0;
}

}  // namespace keel::app
