#include "api/router.h"

#include <exception>

#include <spdlog/spdlog.h>

namespace keel::api {
namespace {

// "/a/b/c" -> {"a","b","c"}; "/" -> {}. Empty segments ("//", a trailing
// slash) are kept, so they never match a pattern.
std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> out;
  if (path.empty() || path == "/") return out;
  size_t start = path.front() == '/' ? 1 : 0;
  while (true) {
    size_t slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string::npos ? slash : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

bool isPlaceholder(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

std::string ApiRequest::query(const std::string& name) const {
  return http.get_param_value(name.c_str());
}

void Router::add(std::string method, const std::string& pattern, RouteHandler handler) {
  routes_.push_back({std::move(method), pattern, splitPath(pattern), std::move(handler)});
}

bool Router::matches(const Route& route, const std::vector<std::string>& segments,
                     std::vector<std::string>* params) {
  if (route.segments.size() != segments.size()) return false;
  std::vector<std::string> captured;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (isPlaceholder(route.segments[i])) {
      if (segments[i].empty()) return false;
      captured.push_back(segments[i]);
    } else if (route.segments[i] != segments[i]) {
      return false;
    }
  }
  if (params) *params = std::move(captured);
  return true;
}

Reply Router::dispatch(const httplib::Request& request, std::string_view body) const {
  const std::string method = request.method == "HEAD" ? "GET" : request.method;
  auto segments = splitPath(request.path);
  std::string allowed;
  for (const auto& route : routes_) {
    std::vector<std::string> params;
    if (!matches(route, segments, &params)) continue;
    if (route.method != method) {
      allowed += (allowed.empty() ? "" : ", ") + route.method;
      continue;
    }
    ApiRequest apiRequest{request, body, std::move(params)};
    try {
      return route.handler(apiRequest);
    } catch (const std::exception& e) {
      spdlog::error("http {} {}: unexpected exception: {}", request.method, request.path, e.what());
      return errorReply(500, "internal", std::string("internal error: ") + e.what());
    } catch (...) {
      spdlog::error("http {} {}: unexpected non-standard exception", request.method, request.path);
      return errorReply(500, "internal", "internal error");
    }
  }
  if (!allowed.empty()) {
    auto reply = errorReply(
        405, "method_not_allowed",
        request.method + " is not allowed on " + request.path + " (allowed: " + allowed + ")");
    reply.headers.emplace_back("Allow", allowed);
    return reply;
  }
  return errorReply(404, "not_found", "no route for " + request.method + " " + request.path);
}

std::string Router::routeClass(const std::string& path) const {
  auto segments = splitPath(path);
  for (const auto& route : routes_)
    if (matches(route, segments, nullptr)) return route.pattern;
  return "unmatched";
}

}  // namespace keel::api
