#include "cli/server_url.h"

#include <charconv>

#include <fmt/format.h>

namespace keel::cli {
namespace {

Error bad(std::string_view text, std::string_view why) {
  return Error(ErrorCode::kInvalidArgument, fmt::format("bad server URL '{}': {}", text, why));
}

}  // namespace

std::string ServerUrl::toString() const {
  bool v6 = host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}{}", tls ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "",
                     port, basePath);
}

Result<ServerUrl> parseServerUrl(std::string_view text) {
  ServerUrl url;
  std::string_view rest = text;
  bool explicitScheme = false;
  if (auto sep = rest.find("://"); sep != std::string_view::npos) {
    auto scheme = rest.substr(0, sep);
    if (scheme != "http" && scheme != "https") return bad(text, "the scheme must be http or https");
    url.tls = scheme == "https";
    rest = rest.substr(sep + 3);
    explicitScheme = true;
  }
  if (rest.find_first_of("?#") != std::string_view::npos)
    return bad(text, "a query or fragment is not allowed");
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string path(rest.substr(slash));
    while (!path.empty() && path.back() == '/') path.pop_back();
    url.basePath = path;
  }
  if (authority.find('@') != std::string_view::npos)
    return bad(text, "credentials in the URL are not supported");
  std::string_view portText;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad(text, "unclosed '[' in the host");
    url.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return bad(text, "unexpected text after ']'");
    if (!after.empty()) portText = after.substr(1);
    if (after == ":") return bad(text, "empty port");
  } else {
    auto colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      portText = authority.substr(colon + 1);
      if (portText.empty()) return bad(text, "empty port");
    }
  }
  if (url.host.empty()) return bad(text, "no host");
  url.port = !explicitScheme ? 7070 : url.tls ? 443 : 80;
  if (!portText.empty()) {
    int port = 0;
    auto [end, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
    if (ec != std::errc() || end != portText.data() + portText.size() || port < 1 || port > 65535)
      return bad(text, "the port must be a number from 1 to 65535");
    url.port = port;
  }
  return url;
}

}  // namespace keel::cli
