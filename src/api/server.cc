#include "api/server.h"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/framing.h"
#include "api/guarded_server.h"
#include "api/request_log.h"
#include "api/request_span.h"
#include "api/routes.h"

namespace keel::api {
namespace {

// Who asked, from the last reply this thread wrote, for httplib's logger
// (which runs on the same thread once the reply is sent).
thread_local const httplib::Response* actorOf = nullptr;
thread_local std::string actor;
// The stamp of the request this thread serves (stampOf), until its log
// line is written.
thread_local const httplib::Request* stampedFor = nullptr;
thread_local RequestStamp stamped;

// Every answer, errors and refusals included, carries the request's id.
void writeReply(const RequestStamp& stamp, const Reply& reply, httplib::Response& res) {
  actorOf = &res;
  actor = reply.actor;
  res.status = reply.status;
  for (const auto& [name, value] : reply.headers) res.set_header(name, value);
  res.set_header(kRequestIdHeader, stamp.requestId);
  res.set_content(reply.body, reply.contentType.c_str());
}

// A reply that also ends the connection: after a refused or unreadable
// body, the rest of the request may still be on the wire.
void writeFinalReply(const RequestStamp& stamp, Reply reply, httplib::Response& res) {
  reply.headers.emplace_back("Connection", "close");
  writeReply(stamp, reply, res);
  GuardedServer::closeAfterReply();
}

// The TLS context for --tls-cert/--tls-key: TLS 1.2 at least, the
// certificate chain and key checked against each other.
Result<SSL_CTX*> makeTlsContext(const TlsOptions& tls) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return Error(ErrorCode::kInternal, "cannot create a TLS context");
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  auto fail = [&](const std::string& what) -> Error {
    char buf[256] = {};
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    SSL_CTX_free(ctx);
    return Error(ErrorCode::kInvalidArgument, fmt::format("{}: {}", what, buf));
  };
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.certFile.c_str()) != 1)
    return fail("cannot load the TLS certificate " + tls.certFile);
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.keyFile.c_str(), SSL_FILETYPE_PEM) != 1)
    return fail("cannot load the TLS key " + tls.keyFile);
  if (SSL_CTX_check_private_key(ctx) != 1)
    return fail("the TLS key " + tls.keyFile + " does not match the certificate");
  return ctx;
}

// The JSON body for errors produced by httplib itself (malformed requests,
// a Content-Length over the limit), which arrive here with an empty body.
Reply httpLayerError(const httplib::Request& req, int status, size_t maxBodyBytes) {
  switch (status) {
    case 413:
      return errorReply(413, errorCodeName(ErrorCode::kTooLarge),
                        fmt::format("the request body exceeds {} bytes", maxBodyBytes));
    case 404:
      return errorReply(404, "not_found", "no route for " + req.method + " " + req.path);
    case 400:
      return errorReply(400, "invalid_argument", "malformed HTTP request or unsupported method");
    default:
      return errorReply(status, "http_error", fmt::format("HTTP error {}", status));
  }
}

}  // namespace

Server::Server(engine::Control& control, store::Store& store, ServerOptions options)
    : control_(control),
      store_(store),
      options_(std::move(options)),
      stamper_(options_.random ? *options_.random : systemRandom_),
      access_(store, options_.access),
      ownMetrics_(options_.metrics ? nullptr : std::make_unique<observe::MetricsRegistry>()),
      metrics_(options_.metrics ? *options_.metrics : *ownMetrics_),
      httpMetrics_(metrics_) {
  addRoutes();
  router_.setGuard(
      [this](const httplib::Request& request, const RouteOptions& route, RequestContext& context) {
        return access_.check(request, route, context);
      });
}

Server::~Server() { stop(); }

void Server::addRoutes() {
  const RouteOptions open{.open = true};
  router_.add(
      "GET", "/healthz", [this](const ApiRequest&) { return healthz(); }, open);
  router_.add(
      "GET", "/readyz", [this](const ApiRequest&) { return readyz(); }, open);
  router_.add(
      "GET", "/metrics", [this](const ApiRequest&) { return metrics(); }, open);
  RouteContext context{control_,
                       store_,
                       options_.engineTimeout,
                       clock(),
                       options_.tasks,
                       std::max(1, options_.workerThreads / 2),
                       options_.onWebhooksChanged,
                       options_.onNotificationsChanged};
  addWorkflowRoutes(router_, context);
  addRunRoutes(router_, context);
  addStepRoutes(router_, context);
  addTaskRoutes(router_, context);
  addTokenRoutes(router_, context);
  addEventRoutes(router_, context);
  addScheduleRoutes(router_, context);
  addAuditRoutes(router_, context);
  addSubscriptionRoutes(router_, context);
  addChannelRoutes(router_, context);
  addControlRoutes(router_, context);
  addIncidentRoutes(router_, context);
}

Reply Server::healthz() const { return jsonReply(200, {{"status", "ok"}}); }

Reply Server::readyz() const {
  if (!options_.ready || options_.ready()) return jsonReply(200, {{"status", "ready"}});
  std::string reason = options_.notReadyReason ? options_.notReadyReason() : std::string();
  if (reason.empty()) return jsonReply(503, {{"status", "starting"}});
  return jsonReply(503, {{"status", "unavailable"}, {"reason", reason}});
}

Reply Server::metrics() const {
  Reply reply;
  reply.contentType = "text/plain; version=0.0.4";
  reply.body = metrics_.render();
  return reply;
}

const RequestStamp& Server::stampOf(const httplib::Request& request) {
  if (stampedFor != &request) {
    stamped = stamper_.stamp(request);
    stamped.startedAt = clock().wallNow();
    stampedFor = &request;
  }
  return stamped;
}

namespace {
constexpr size_t kDrainAllowanceBytes = 8 << 20;
}  // namespace

void Server::configureHttp() {
  auto& http = *http_;
  const size_t maxBody = options_.maxBodyBytes;
  const int threads = options_.workerThreads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Bodies a little over the limit are read to the end and discarded, so
  // the client gets its 413 instead of a connection reset (closing a socket
  // with unread data sends RST). Beyond the allowance httplib answers 413
  // at once.
  http.set_payload_max_length(maxBody + kDrainAllowanceBytes);
  // httplib's default sets SO_REUSEPORT, which lets a second `keel serve`
  // bind the same port and silently take half of the requests. SO_REUSEADDR
  // alone still allows a quick restart over connections in TIME_WAIT.
  http.set_socket_options([this](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listenSocket_ = sock;
  });

  // Malformed framing (RFC 9112 section 6) is refused before any body is
  // read, and the connection closed: what follows on the wire cannot be
  // trusted to be the next request.
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // A new request: its own stamp, even if it sits where the last one did.
    stampedFor = nullptr;
    const RequestStamp& stamp = stampOf(req);
    auto refused = checkFraming(req, GuardedServer::rawHead());
    if (!refused) return httplib::Server::HandlerResponse::Unhandled;
    GuardedServer::requestRead();
    writeFinalReply(stamp, router_.withRequestSpan(req, stamp, *refused), res);
    return httplib::Server::HandlerResponse::Handled;
  });
  auto plain = [this](const httplib::Request& req, httplib::Response& res) {
    GuardedServer::requestRead();
    const RequestStamp& stamp = stampOf(req);
    writeReply(stamp, router_.dispatch(req, req.body, stamp), res);
  };
  // Bodies are read through a receiver so that a chunked body (which has no
  // Content-Length for httplib to check) is cut off at the limit too.
  auto streamed = [this, maxBody](const httplib::Request& req, httplib::Response& res,
                                  const httplib::ContentReader& reader) {
    const RequestStamp& stamp = stampOf(req);
    if (req.is_multipart_form_data()) {
      writeFinalReply(stamp,
                      router_.withRequestSpan(
                          req, stamp,
                          errorReply(415, "unsupported_media_type",
                                     "multipart bodies are not accepted; send the raw text")),
                      res);
      return;
    }
    std::string body;
    // A request with neither header has no body (RFC 9112 6.3); httplib
    // would instead wait for the connection to close (`curl -X POST`).
    if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
      GuardedServer::requestRead();
      writeReply(stamp, router_.dispatch(req, body, stamp), res);
      return;
    }
    bool tooLarge = false;
    bool read = reader([&](const char* data, size_t n) {
      if (tooLarge || body.size() + n > maxBody) {
        tooLarge = true;
        body.clear();
        return true;  // keep reading, see set_payload_max_length above
      }
      body.append(data, n);
      return true;
    });
    GuardedServer::requestRead();
    if (tooLarge || res.status == 413) {
      writeFinalReply(stamp, router_.withRequestSpan(req, stamp, httpLayerError(req, 413, maxBody)),
                      res);
    } else if (!read) {
      writeFinalReply(stamp,
                      router_.withRequestSpan(req, stamp,
                                              errorReply(400, "invalid_argument",
                                                         "the request body could not be read")),
                      res);
    } else {
      writeReply(stamp, router_.dispatch(req, body, stamp), res);
    }
  };
  http.Get(".*", plain);
  http.Delete(".*", plain);
  http.Options(".*", plain);
  http.Post(".*", streamed);
  http.Put(".*", streamed);
  http.Patch(".*", streamed);

  // Our own replies already carry a JSON body; only httplib's bare ones
  // (malformed request, Content-Length over the limit) get one here.
  httplib::Server::HandlerWithResponse onError = [this, maxBody](const httplib::Request& req,
                                                                 httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const RequestStamp& stamp = stampOf(req);
    writeReply(stamp, router_.withRequestSpan(req, stamp, httpLayerError(req, res.status, maxBody)),
               res);
    return httplib::Server::HandlerResponse::Handled;
  };
  http.set_error_handler(std::move(onError));
  http.set_exception_handler(
      [this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        const RequestStamp& stamp = stampOf(req);
        logRequestError(req, what, {}, stamp.requestId);
        writeReply(stamp, errorReply(500, "internal", "internal error: " + what), res);
      });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    httpMetrics_.record(req.method, router_.routeClass(req.path), res.status);
    const RequestStamp& stamp = stampOf(req);
    logRequest(req, res.status, actorOf == &res ? actor : std::string(), stamp.requestId);
    if (options_.spans) {
      if (auto route = router_.spanRoute(req))
        options_.spans->record(
            requestSpan(stamp, req.method, *route, res.status, clock().wallNow()));
    }
    actorOf = nullptr;
    actor.clear();
    stampedFor = nullptr;
  });
}

Result<int> Server::start(const std::string& host, int port) {
  if (http_) return Error(ErrorCode::kFailedPrecondition, "the API server was already started");
  SSL_CTX* tls = nullptr;
  if (options_.tls.enabled()) {
    auto ctx = makeTlsContext(options_.tls);
    if (!ctx.ok()) return ctx.error();
    tls = *ctx;
  }
  http_ = std::make_unique<GuardedServer>(options_.limits, tls);
  configureHttp();
  int bound = port;
  if (port == 0) {
    bound = http_->bind_to_any_port(host);
  } else if (!http_->bind_to_port(host, port)) {
    bound = -1;
  }
  if (bound < 0)
    return Error(ErrorCode::kUnavailable,
                 fmt::format("cannot listen on {}:{} (address in use, not local, or not allowed)",
                             host, port));
  // httplib listens with a backlog of 5: a burst of clients (100 triggers
  // at once) would overflow it and see connections stall for seconds.
  // listen() again on the bound socket only raises the backlog.
  if (listenSocket_ >= 0) ::listen(listenSocket_, SOMAXCONN);
  access_.configure(tls ? "https" : "http", host, bound);
  thread_ = std::thread([this] {
    http_->listen_after_bind();
    listenReturned_ = true;
  });
  // stop() only reaches a server that is already running; wait for that so
  // a stop() right after start() cannot be lost.
  while (!http_->is_running() && !listenReturned_) std::this_thread::yield();
  spdlog::debug("API listening on {}:{}", host, bound);
  return bound;
}

void Server::stop() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace keel::api
