// Router: maps METHOD + path to a route handler, for the API server.
//
// Patterns are literal segments and `{name}` placeholders, each matching one
// non-empty path segment ("/api/v1/runs/{id}/steps/{step}/logs"). dispatch()
// answers 404 JSON when no pattern matches the path, 405 JSON (with an Allow
// header) when patterns match but none for this method, and 500 JSON when a
// handler throws: a handler can never take the server down. HEAD is routed
// as GET.
//
// Routes are added before the server starts; afterwards the router is only
// read, from any number of HTTP worker threads.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <httplib.h>

#include "api/reply.h"

namespace keel::api {

struct ApiRequest {
  const httplib::Request& http;
  std::string_view body;
  std::vector<std::string> pathParams;  // the {…} segments, in pattern order

  // The query parameter `name`, or "" when absent.
  std::string query(const std::string& name) const;
  bool hasQuery(const std::string& name) const { return http.has_param(name.c_str()); }
};

using RouteHandler = std::function<Reply(const ApiRequest&)>;

class Router {
 public:
  void add(std::string method, const std::string& pattern, RouteHandler handler);

  Reply dispatch(const httplib::Request& request, std::string_view body) const;

  // The pattern that matches `path` (for any method), or "unmatched": a
  // bounded label for per-route metrics.
  std::string routeClass(const std::string& path) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    RouteHandler handler;
  };

  static bool matches(const Route& route, const std::vector<std::string>& segments,
                      std::vector<std::string>* params);

  std::vector<Route> routes_;
};

}  // namespace keel::api
