// HttpClient: the seam through which keel calls HTTP services.
//
// send() starts one request and returns at once; the answer (a response, or a
// transport failure when no response came) is handed to `done` exactly once,
// on the client's own thread, never while the client holds a lock, so `done`
// may call send() or cancel() again; it must not throw. cancel() makes a request in flight end
// promptly with the failure kind kCancelled; cancelling a finished or unknown
// handle does nothing. shutdown() ends every request still in flight (each
// `done` is called once, with kCancelled) and stops the thread; a send() after
// shutdown() calls `done` on the caller's thread before returning, with
// kCancelled. Every method is safe to call from any thread.
//
// This header is a pure interface (nothing to link): the real client is
// CurlHttpClient (curl_client.h); tests use testing/scripted_http_client.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace keel::http {

struct Header {
  std::string name;
  std::string value;
  bool operator==(const Header&) const = default;
};
// In order; a name may repeat.
using Headers = std::vector<Header>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // http:// or https:// only
  Headers headers;
  std::string body;  // empty: no body
  Millis connectTimeout{10'000};
  Millis totalTimeout{30'000};  // the whole exchange, connect included
  // A CA bundle (PEM) to trust for this request. It replaces libcurl's CA
  // file; its CA directory (Debian: /etc/ssl/certs) stays trusted, so public
  // CAs still are. TLS is always verified (peer and host name).
  std::string caFile;
  bool followRedirects = false;  // when true, at most 10 redirects
  // The body kept in HttpResponse::body; bytes past it are counted and dropped.
  std::size_t maxResponseBytes = 1 << 20;
};

struct HttpResponse {
  int status = 0;
  Headers headers;              // of the final response, names as received
  std::string body;             // at most maxResponseBytes
  std::uint64_t bodyBytes = 0;  // the whole body received, before the cap
  bool truncated = false;       // bodyBytes > body.size()
  Millis elapsed{0};            // from send() to the end of the response
};

enum class TransportFailureKind {
  kConnectionRefused,
  kDns,
  kTls,
  kTimeout,
  kTooManyRedirects,
  kInvalidRequest,  // the request itself is unusable: bad URL, scheme, method or header
  kCancelled,
  kOther,
};

inline std::string_view toString(TransportFailureKind k) {
  switch (k) {
    case TransportFailureKind::kConnectionRefused:
      return "connection_refused";
    case TransportFailureKind::kDns:
      return "dns";
    case TransportFailureKind::kTls:
      return "tls";
    case TransportFailureKind::kTimeout:
      return "timeout";
    case TransportFailureKind::kTooManyRedirects:
      return "too_many_redirects";
    case TransportFailureKind::kInvalidRequest:
      return "invalid_request";
    case TransportFailureKind::kCancelled:
      return "cancelled";
    case TransportFailureKind::kOther:
      return "other";
  }
  return "other";
}

struct TransportFailure {
  TransportFailureKind kind = TransportFailureKind::kOther;
  std::string message;  // for humans: what failed, with the library's reason
};

// A response, or the transport failure that prevented one. When `failure` is
// set, `response` is empty except for `elapsed`.
struct HttpResult {
  std::optional<TransportFailure> failure;
  HttpResponse response;

  bool ok() const { return !failure.has_value(); }
  static HttpResult of(HttpResponse r) { return HttpResult{std::nullopt, std::move(r)}; }
  static HttpResult failed(TransportFailureKind kind, std::string message) {
    return HttpResult{TransportFailure{kind, std::move(message)}, {}};
  }
};

// First value of a header, names compared without regard to case.
inline std::optional<std::string> findHeader(const Headers& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (h.name.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size() && same; ++i) {
      auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
      same = lower(h.name[i]) == lower(name[i]);
    }
    if (same) return h.value;
  }
  return std::nullopt;
}

class HttpClient {
 public:
  using Handle = std::uint64_t;  // never 0
  using Done = std::function<void(HttpResult)>;

  virtual ~HttpClient() = default;
  virtual Handle send(HttpRequest request, Done done) = 0;
  virtual void cancel(Handle handle) = 0;
  virtual void shutdown() = 0;
};

}  // namespace keel::http
