#include "api/server.h"

#include <httplib.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/routes.h"

namespace keel::api {
namespace {

void writeReply(const Reply& reply, httplib::Response& res) {
  res.status = reply.status;
  for (const auto& [name, value] : reply.headers) res.set_header(name, value);
  res.set_content(reply.body, reply.contentType.c_str());
}

// A reply that also ends the connection: after a refused or unreadable
// body, the rest of the request may still be on the wire.
void writeFinalReply(Reply reply, httplib::Response& res) {
  reply.headers.emplace_back("Connection", "close");
  writeReply(reply, res);
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
    : control_(control), store_(store), options_(std::move(options)) {
  addRoutes();
}

Server::~Server() { stop(); }

void Server::addRoutes() {
  router_.add("GET", "/healthz", [this](const ApiRequest&) { return healthz(); });
  router_.add("GET", "/readyz", [this](const ApiRequest&) { return readyz(); });
  router_.add("GET", "/metrics", [this](const ApiRequest&) { return metrics(); });
  RouteContext context{control_, store_, options_.engineTimeout};
  addWorkflowRoutes(router_, context);
  addRunRoutes(router_, context);
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
  reply.body = httpMetrics_.text();
  if (options_.extraMetrics) reply.body += options_.extraMetrics();
  return reply;
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

  auto plain = [this](const httplib::Request& req, httplib::Response& res) {
    writeReply(router_.dispatch(req, req.body), res);
  };
  // Bodies are read through a receiver so that a chunked body (which has no
  // Content-Length for httplib to check) is cut off at the limit too.
  auto streamed = [this, maxBody](const httplib::Request& req, httplib::Response& res,
                                  const httplib::ContentReader& reader) {
    if (req.is_multipart_form_data()) {
      writeFinalReply(errorReply(400, "invalid_argument",
                                 "multipart bodies are not accepted; send the raw text"),
                      res);
      return;
    }
    std::string body;
    // A request with neither header has no body (RFC 9112 6.3); httplib
    // would instead wait for the connection to close (`curl -X POST`).
    if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
      writeReply(router_.dispatch(req, body), res);
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
    if (tooLarge || res.status == 413) {
      writeFinalReply(httpLayerError(req, 413, maxBody), res);
    } else if (!read) {
      writeFinalReply(errorReply(400, "invalid_argument", "the request body could not be read"),
                      res);
    } else {
      writeReply(router_.dispatch(req, body), res);
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
  httplib::Server::HandlerWithResponse onError = [maxBody](const httplib::Request& req,
                                                           httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    writeReply(httpLayerError(req, res.status, maxBody), res);
    return httplib::Server::HandlerResponse::Handled;
  };
  http.set_error_handler(std::move(onError));
  http.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("http {} {}: {}", req.method, req.path, what);
        writeReply(errorReply(500, "internal", "internal error: " + what), res);
      });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    httpMetrics_.record(req.method, router_.routeClass(req.path), res.status);
    spdlog::debug("http {} {} {} from {}", req.method, req.path, res.status, req.remote_addr);
  });
}

Result<int> Server::start(const std::string& host, int port) {
  if (http_) return Error(ErrorCode::kFailedPrecondition, "the API server was already started");
  http_ = std::make_unique<httplib::Server>();
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
