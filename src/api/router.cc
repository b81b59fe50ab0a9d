#include "api/router.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/request_log.h"
#include "core/quote.h"

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

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

// 400 for a query parameter the route does not take, or one given twice.
std::optional<Reply> checkQuery(const httplib::Request& request, const RouteOptions& options) {
  std::set<std::string> seen;
  for (const auto& [name, value] : request.params) {
    if (std::find(options.query.begin(), options.query.end(), name) == options.query.end())
      return errorReply(400, "invalid_argument",
                        fmt::format("unknown query parameter {} (this route takes: {})",
                                    quoteForMessage(name), joined(options.query)));
    if (!seen.insert(name).second)
      return errorReply(
          400, "invalid_argument",
          fmt::format("query parameter {} is given more than once", quoteForMessage(name)));
  }
  return std::nullopt;
}

// 415 for a body whose media type the route does not take. A request with
// no body and no Content-Type is fine (`curl -X POST`); one that names a
// type must name an accepted one, so that an HTML form (text/plain,
// multipart, urlencoded) never reaches a handler.
std::optional<Reply> checkBodyType(const httplib::Request& request, std::string_view body,
                                   const RouteOptions& options) {
  if (request.method == "GET" || request.method == "HEAD") return std::nullopt;
  bool named = request.has_header("Content-Type");
  if (!named && body.empty()) return std::nullopt;
  static const std::vector<std::string> kJson = {"application/json"};
  const auto& accepted = options.bodyTypes.empty() ? kJson : options.bodyTypes;
  std::string type = mediaType(request.get_header_value("Content-Type"));
  if (std::find(accepted.begin(), accepted.end(), type) != accepted.end()) return std::nullopt;
  return errorReply(415, "unsupported_media_type",
                    fmt::format("{} {} takes a body of type {}; got {}", request.method,
                                request.path, joined(accepted),
                                named ? quoteForMessage(type) : std::string("no Content-Type")));
}

}  // namespace

std::string mediaType(std::string_view contentType) {
  auto semicolon = contentType.find(';');
  std::string_view type = contentType.substr(0, semicolon);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  std::string out(type);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string ApiRequest::query(const std::string& name) const {
  return http.get_param_value(name.c_str());
}

void Router::add(std::string method, const std::string& pattern, RouteHandler handler,
                 RouteOptions options) {
  routes_.push_back(
      {std::move(method), pattern, splitPath(pattern), std::move(handler), std::move(options)});
}

std::vector<Router::RouteInfo> Router::routes() const {
  std::vector<RouteInfo> out;
  for (const auto& r : routes_) out.push_back({r.method, r.pattern, r.options});
  return out;
}

namespace {
// A request with another method changes something: it is a span.
bool changesSomething(const std::string& method) {
  return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

// The request's own span, for the caller to hang its next spans under.
void nameRequestSpan(Reply& reply, const RequestStamp& stamp) {
  if (observe::isTraceId(stamp.trace.traceId) && observe::isSpanId(stamp.trace.spanId))
    reply.headers.emplace_back(kTraceparentHeader, observe::formatTraceparent(stamp.trace));
}
}  // namespace

Reply Router::run(const Route& route, const httplib::Request& request, std::string_view body,
                  std::vector<std::string> params, const RequestStamp& stamp) const {
  ApiRequest apiRequest{request, body, std::move(params), {}, stamp.trace};
  apiRequest.context.requestId = stamp.requestId;
  apiRequest.context.spanId = stamp.trace.spanId;
  const bool traced = changesSomething(route.method) && !route.options.untraced;
  auto withActor = [&](Reply reply) {
    reply.actor = apiRequest.context.actor();
    if (traced) nameRequestSpan(reply, stamp);
    return reply;
  };
  try {
    if (guard_) {
      if (auto refused = guard_(request, route.options, apiRequest.context))
        return withActor(*refused);
    }
    if (auto refused = checkQuery(request, route.options)) return withActor(*refused);
    if (auto refused = checkBodyType(request, body, route.options)) return withActor(*refused);
    return withActor(route.handler(apiRequest));
  } catch (const std::exception& e) {
    logRequestError(request, std::string("unexpected exception: ") + e.what(),
                    apiRequest.context.actor(), stamp.requestId);
    return withActor(errorReply(500, "internal", std::string("internal error: ") + e.what()));
  } catch (...) {
    logRequestError(request, "unexpected non-standard exception", apiRequest.context.actor(),
                    stamp.requestId);
    return withActor(errorReply(500, "internal", "internal error"));
  }
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

Reply Router::dispatch(const httplib::Request& request, std::string_view body,
                       const RequestStamp& stamp) const {
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
    return run(route, request, body, std::move(params), stamp);
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

std::optional<std::string> Router::spanRoute(const httplib::Request& request) const {
  if (!changesSomething(request.method)) return std::nullopt;
  auto segments = splitPath(request.path);
  for (const auto& route : routes_) {
    if (route.method != request.method || !matches(route, segments, nullptr)) continue;
    if (route.options.untraced) return std::nullopt;
    return route.pattern;
  }
  return std::nullopt;
}

Reply Router::withRequestSpan(const httplib::Request& request, const RequestStamp& stamp,
                              Reply reply) const {
  if (spanRoute(request)) nameRequestSpan(reply, stamp);
  return reply;
}

std::string Router::routeClass(const std::string& path) const {
  auto segments = splitPath(path);
  for (const auto& route : routes_)
    if (matches(route, segments, nullptr)) return route.pattern;
  return "unmatched";
}

}  // namespace keel::api
