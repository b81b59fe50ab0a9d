#include "api/access.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "core/quote.h"

namespace keel::api {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "example.com:7070" -> "example.com"; "[::1]:7070" -> "[::1]".
std::string hostPart(const std::string& hostHeader) {
  if (!hostHeader.empty() && hostHeader.front() == '[') {
    auto close = hostHeader.find(']');
    return close == std::string::npos ? hostHeader : hostHeader.substr(0, close + 1);
  }
  return hostHeader.substr(0, hostHeader.find(':'));
}

// "https://keel.example.com:8443/x" -> "keel.example.com".
std::string originHost(const std::string& origin) {
  auto scheme = origin.find("://");
  std::string rest = scheme == std::string::npos ? origin : origin.substr(scheme + 3);
  return hostPart(rest.substr(0, rest.find('/')));
}

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

bool isLoopbackHost(const std::string& host) {
  std::string h = lower(host);
  if (h == "localhost") return true;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

AccessPolicy::AccessPolicy(store::Store& store, AccessOptions options)
    : authenticator_(store), options_(std::move(options)) {
  for (auto& origin : options_.allowedOrigins) {
    while (!origin.empty() && origin.back() == '/') origin.pop_back();
    origin = lower(origin);
  }
}

void AccessPolicy::configure(const std::string& scheme, const std::string& host, int port) {
  loopback_ = isLoopbackHost(host);
  std::vector<std::string> names;
  if (loopback_) {
    names = {"localhost", "127.0.0.1", "[::1]"};
  } else if (host != "0.0.0.0" && host != "::" && !host.empty()) {
    names = {host.find(':') != std::string::npos ? "[" + lower(host) + "]" : lower(host)};
  }
  hostNames_ = names;
  origins_.clear();
  for (const auto& name : names) {
    origins_.push_back(fmt::format("{}://{}:{}", scheme, name, port));
    if ((scheme == "http" && port == 80) || (scheme == "https" && port == 443))
      origins_.push_back(fmt::format("{}://{}", scheme, name));
  }
  for (const auto& origin : options_.allowedOrigins) {
    origins_.push_back(origin);
    hostNames_.push_back(originHost(origin));
  }
}

std::optional<Reply> AccessPolicy::checkHost(const httplib::Request& request) const {
  if (!loopback_ || !request.has_header("Host")) return std::nullopt;
  std::string host = lower(hostPart(request.get_header_value("Host")));
  if (isLoopbackHost(host) || contains(hostNames_, host)) return std::nullopt;
  return errorReply(403, errorCodeName(ErrorCode::kPermissionDenied),
                    fmt::format("this keel listens on a loopback address and answers only to "
                                "localhost, 127.0.0.1 and [::1], not to Host {} (add a name with "
                                "--allow-origin if a proxy forwards it)",
                                quoteForMessage(host)));
}

std::optional<Reply> AccessPolicy::checkOrigin(const httplib::Request& request) const {
  bool crossSite = lower(request.get_header_value("Sec-Fetch-Site")) == "cross-site";
  if (!request.has_header("Origin") && !crossSite) return std::nullopt;
  std::string origin = lower(request.get_header_value("Origin"));
  while (!origin.empty() && origin.back() == '/') origin.pop_back();
  if (!crossSite && contains(origins_, origin)) return std::nullopt;
  return errorReply(403, errorCodeName(ErrorCode::kPermissionDenied),
                    fmt::format("cross-origin request refused: Origin {} is not this server's "
                                "own; a browser page may call keel only from an origin named "
                                "with --allow-origin",
                                quoteForMessage(origin)));
}

std::optional<Reply> AccessPolicy::check(const httplib::Request& request, const RouteOptions& route,
                                         RequestContext& context) const {
  if (auto refused = checkHost(request)) return refused;
  if (route.open) return std::nullopt;
  if (auto refused = checkOrigin(request)) return refused;
  if (options_.auth == AuthMode::kNone) {
    context.token = "anonymous";
    context.role = "admin";
    return checkOnBehalfOf(request, context);
  }
  auto principal = authenticator_.authenticate(request.get_header_value("Authorization"));
  if (!principal.ok()) {
    auto reply = errorReply(principal.error());
    if (principal.error().code() == ErrorCode::kUnauthenticated)
      reply.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"keel\"");
    return reply;
  }
  context.token = principal->name;
  context.role = principal->role;
  return checkOnBehalfOf(request, context);
}

std::optional<Reply> AccessPolicy::checkOnBehalfOf(const httplib::Request& request,
                                                   RequestContext& context) const {
  if (!request.has_header(kActorHeader)) return std::nullopt;
  std::string name = request.get_header_value(kActorHeader);
  if (auto bad = checkActorName(name); !bad.ok())
    return errorReply(Error(ErrorCode::kInvalidArgument,
                            fmt::format("header {}: {}", kActorHeader, bad.error().message())));
  // Only an admin token may name someone else; any other keeps its own name.
  if (context.role == "admin") context.onBehalfOf = std::move(name);
  return std::nullopt;
}

}  // namespace keel::api
