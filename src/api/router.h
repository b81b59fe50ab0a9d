// Router: maps METHOD + path to a route handler, for the API server.
//
// Patterns are literal segments and `{name}` placeholders, each matching one
// non-empty path segment ("/api/v1/runs/{id}/steps/{step}/logs"). Each route
// declares its contract (RouteOptions): the query parameters it accepts and
// the media types its body may have. dispatch() runs, in order:
//   404 JSON when no pattern matches the path, 405 (with Allow) when none
//   for this method; then the guard (authentication and origin checks, set
//   by the server), which may refuse or fill the RequestContext; then 400
//   for an unknown or repeated query parameter, 415 for a body of another
//   media type; then the handler, whose exceptions become 500 JSON: a
//   handler can never take the server down. HEAD is routed as GET.
//
// Routes and the guard are set before the server starts; afterwards the
// router is only read, from any number of HTTP worker threads.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <httplib.h>

#include "api/reply.h"
#include "api/request_ids.h"
#include "core/request_context.h"

namespace keel::api {

struct RouteOptions {
  std::vector<std::string> query;      // accepted query parameters, each at most once
  std::vector<std::string> bodyTypes;  // accepted Content-Types (empty: "application/json")
  bool open = false;                   // served without a token (/healthz, /readyz, /metrics)
  // A request that changes something (any method but GET, HEAD and OPTIONS)
  // is a span of its trace (spanRoute); `untraced` opts a route out: long
  // polls and heartbeats, which change no run's course and would drown the
  // requests that do.
  bool untraced = false;
};

// Who is asking (core/request_context.h). Filled by the guard: the token,
// its role and the person an admin token acts for; handlers add the reason.
using RequestContext = keel::RequestContext;

struct ApiRequest {
  const httplib::Request& http;
  std::string_view body;
  std::vector<std::string> pathParams;  // the {…} segments, in pattern order
  RequestContext context;               // requestId: the request's X-Request-Id
  // The request's trace (the caller's traceparent, or a new trace).
  observe::TraceContext trace;

  // The query parameter `name`, or "" when absent.
  std::string query(const std::string& name) const;
  bool hasQuery(const std::string& name) const { return http.has_param(name.c_str()); }
};

using RouteHandler = std::function<Reply(const ApiRequest&)>;
// Returns a refusal, or nothing to let the request through.
using RouteGuard = std::function<std::optional<Reply>(const httplib::Request&, const RouteOptions&,
                                                      RequestContext&)>;

class Router {
 public:
  void add(std::string method, const std::string& pattern, RouteHandler handler,
           RouteOptions options = {});
  void setGuard(RouteGuard guard) { guard_ = std::move(guard); }

  // `stamp` (the request id and trace) goes into the handler's ApiRequest.
  Reply dispatch(const httplib::Request& request, std::string_view body,
                 const RequestStamp& stamp = {}) const;

  // The pattern that matches `path` (for any method), or "unmatched": a
  // bounded label for per-route metrics.
  std::string routeClass(const std::string& path) const;

  // The route pattern of `request` when it is a span of its trace: a
  // method other than GET, HEAD and OPTIONS, on a route that matches it and
  // is not `untraced`. Nothing otherwise (reads, health checks, metrics
  // scrapes, 404s and 405s). Its answer carries `traceparent` naming the
  // request's span.
  std::optional<std::string> spanRoute(const httplib::Request& request) const;
  // `reply` with the request's span named in `traceparent` when the request
  // is a span (spanRoute): for the answers made before dispatch (a refused
  // body, a malformed request), as dispatch names it on its own.
  Reply withRequestSpan(const httplib::Request& request, const RequestStamp& stamp,
                        Reply reply) const;

  // Every route, for tests that walk the whole surface.
  struct RouteInfo {
    std::string method;
    std::string pattern;
    RouteOptions options;
  };
  std::vector<RouteInfo> routes() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    RouteHandler handler;
    RouteOptions options;
  };

  static bool matches(const Route& route, const std::vector<std::string>& segments,
                      std::vector<std::string>* params);
  Reply run(const Route& route, const httplib::Request& request, std::string_view body,
            std::vector<std::string> params, const RequestStamp& stamp) const;

  std::vector<Route> routes_;
  RouteGuard guard_;
};

// The media type of a Content-Type value, lower-cased, without parameters
// ("Application/JSON; charset=utf-8" -> "application/json").
std::string mediaType(std::string_view contentType);

}  // namespace keel::api
