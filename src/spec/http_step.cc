#include "spec/http_step.h"

#include <algorithm>
#include <cctype>

namespace keel::spec {
namespace {

std::string lowerView(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool isHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// Characters a URL may hold as written outside templates, in the path or
// the query (RFC 3986 pchar plus '/' and '?'; '%' only as %XX).
bool isUrlChar(char c) {
  auto u = static_cast<unsigned char>(c);
  if (std::isalnum(u)) return true;
  return std::string_view("-._~!$&'()*+,;=:@/?%").find(c) != std::string_view::npos;
}

// The URL template split where it changes meaning: "scheme://authority",
// then the path, then the query (after the first '?', which is never inside
// a template: expressions hold no '?').
struct UrlSplit {
  std::string_view origin, path, query;
  bool hasQuery = false;
};

UrlSplit splitUrl(std::string_view url) {
  UrlSplit s;
  size_t schemeEnd = url.find("://");
  size_t authStart = schemeEnd == std::string_view::npos ? 0 : schemeEnd + 3;
  size_t pathStart = url.find_first_of("/?#", authStart);
  if (pathStart == std::string_view::npos) pathStart = url.size();
  s.origin = url.substr(0, pathStart);
  size_t q = url.find('?', pathStart);
  s.path =
      url.substr(pathStart, q == std::string_view::npos ? std::string_view::npos : q - pathStart);
  if (q != std::string_view::npos) {
    s.hasQuery = true;
    s.query = url.substr(q + 1);
  }
  return s;
}

std::optional<std::string> hostProblem(std::string_view authority) {
  if (authority.empty()) return "has no host";
  if (authority.find('@') != std::string_view::npos)
    return "user names and passwords in the URL (user@host) are not allowed: send credentials "
           "in a header";
  std::string_view host = authority, port;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return "has an unclosed '[' in its host";
    host = authority.substr(1, close - 1);
    for (char c : host)
      if (!isHex(c) && c != ':' && c != '.') return "has an invalid IPv6 address in its host";
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return "has text after its IPv6 address";
    if (!rest.empty()) port = rest.substr(1);
    if (host.empty()) return "has no host";
  } else {
    size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (host.empty()) return "has no host";
    for (char c : host)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.')
        return "has an invalid host \"" + std::string(host) +
               "\" (letters, digits, '-' and '.', or [an IPv6 address])";
  }
  if (authority.find(':') != std::string_view::npos && authority.back() == ':')
    return "has an empty port";
  if (!port.empty()) {
    bool digits = port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) {
                    return std::isdigit(static_cast<unsigned char>(c));
                  });
    if (!digits || std::stoi(std::string(port)) < 1 || std::stoi(std::string(port)) > 65535)
      return "has an invalid port \"" + std::string(port) + "\" (1 to 65535)";
  }
  return std::nullopt;
}

// Calls onLiteral(offset, char) for each character outside templates.
// Returns false on an unclosed "{{" (reported by the template check).
template <typename F>
bool forEachLiteral(std::string_view s, F onLiteral) {
  size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, 2, "{{") == 0) {
      size_t close = s.find("}}", i + 2);
      if (close == std::string_view::npos) return false;
      i = close + 2;
      continue;
    }
    onLiteral(i, s[i]);
    ++i;
  }
  return true;
}

bool isDotSegment(std::string segment) {
  for (std::string_view enc : {"%2E", "%2e"}) {
    size_t at;
    while ((at = segment.find(enc)) != std::string::npos) segment.replace(at, 3, ".");
  }
  return segment == "." || segment == "..";
}

Error badInput(std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::move(message));
}

}  // namespace

bool isHttpToken(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos)
      return false;
  return true;
}

std::optional<std::string> reservedHttpHeader(std::string_view name) {
  std::string n = lowerView(name);
  if (n == "host") return "keel sets it from the URL";
  if (n == "content-length" || n == "transfer-encoding") return "keel sets it from the body";
  for (std::string_view own : kKeelHttpHeaders)
    if (n == lowerView(own)) return "keel sets it on every request (see `keel validate --explain`)";
  return std::nullopt;
}

std::optional<UrlTemplateProblem> urlTemplateProblem(std::string_view url) {
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    if (url.starts_with("{{"))
      return UrlTemplateProblem{
          "the URL must start with http:// or https:// and its host, written out: a template "
          "cannot give the scheme or the host, so that no value can send the request to another "
          "host",
          true};
    return UrlTemplateProblem{"\"" + std::string(url) + "\" must start with http:// or https://"};
  }
  UrlSplit s = splitUrl(url);
  std::string_view authority = s.origin.substr(s.origin.find("://") + 3);
  if (authority.find("{{") != std::string_view::npos)
    return UrlTemplateProblem{
        "a template in the host or port of \"" + std::string(url) +
            "\": the scheme, host and port must be written out, so that no value can send the "
            "request to another host; use templates in the path and the query only",
        true};
  if (auto why = hostProblem(authority)) return UrlTemplateProblem{"the URL " + *why};
  std::optional<std::string> problem;
  std::string_view rest = url.substr(s.origin.size());
  bool closed = forEachLiteral(rest, [&](size_t i, char c) {
    if (problem) return;
    if (c == '#')
      problem =
          "a fragment ('#...') is never sent to the server: remove it (a '#' in a value is "
          "encoded)";
    else if (c == '%' && (i + 2 >= rest.size() || !isHex(rest[i + 1]) || !isHex(rest[i + 2])))
      problem = "'%' must start a %XX escape";
    else if (!isUrlChar(c))
      problem = (static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) >= 0x7F
                     ? std::string("a space, control or non-ASCII character")
                     : "'" + std::string(1, c) + "'") +
                " must be percent-encoded in the URL";
  });
  if (problem) return UrlTemplateProblem{*problem};
  if (!closed) return std::nullopt;  // the template check reports it
  size_t start = 0;
  while (start <= s.path.size()) {
    size_t slash = s.path.find('/', start);
    std::string_view seg = s.path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (isDotSegment(std::string(seg)))
      return UrlTemplateProblem{"the path has a '" + std::string(seg) +
                                "' segment: write the path it leads to"};
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return std::nullopt;
}

Result<RenderedHttpRequest> renderHttpRequest(const HttpSpec& spec, const TemplateContext& ctx) {
  RenderedHttpRequest out;
  out.method = spec.method;
  UrlSplit s = splitUrl(spec.url);
  auto path = renderTemplate(s.path, ctx, Escape::kUrlPathSegment);
  if (!path.ok()) return badInput("http.url: " + path.error().message());
  size_t start = 0;
  while (start <= path->size()) {
    size_t slash = path->find('/', start);
    std::string seg = path->substr(start, slash == std::string::npos ? slash : slash - start);
    if (isDotSegment(seg))
      return badInput("http.url: the values make the path segment \"" + seg +
                      "\", which would move in the path");
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  out.url = std::string(s.origin) + *path;
  if (s.hasQuery) {
    auto query = renderTemplate(s.query, ctx, Escape::kUrlQuery);
    if (!query.ok()) return badInput("http.url: " + query.error().message());
    out.url += "?" + *query;
  }
  for (const auto& [name, tmpl] : spec.headers) {
    auto value = renderTemplate(tmpl, ctx, Escape::kNone);
    if (!value.ok()) return badInput("http.headers." + name + ": " + value.error().message());
    if (value->find_first_of("\r\n") != std::string::npos)
      return badInput("http.headers." + name +
                      ": the value contains a line break (CR or LF), which would end the header");
    out.headers.emplace_back(name, std::move(*value));
  }
  if (spec.json) {
    auto j = renderJsonTemplate(*spec.json, ctx, "http.json");
    if (!j.ok()) return j.error();
    try {
      out.body = j->dump();
    } catch (const nlohmann::json::exception&) {
      return badInput("http.json: a value is not valid UTF-8");
    }
    out.contentType = std::string(kJsonContentType);
  } else if (spec.body) {
    auto body = renderTemplate(*spec.body, ctx, Escape::kNone);
    if (!body.ok()) return badInput("http.body: " + body.error().message());
    out.body = std::move(*body);
    out.contentType =
        spec.contentType.empty() ? std::string(kDefaultBodyContentType) : spec.contentType;
  }
  return out;
}

bool httpStatusExpected(const HttpSpec& spec, int status) {
  return std::any_of(spec.expect.begin(), spec.expect.end(),
                     [&](const HttpStatusRange& r) { return status >= r.from && status <= r.to; });
}

FailureClass classifyHttpStatus(const HttpSpec& spec, int status) {
  if (httpStatusExpected(spec, status)) return FailureClass::kNone;
  if (status == 429) return FailureClass::kRateLimited;
  if (status == 502 || status == 503 || status == 504) return FailureClass::kDependencyUnavailable;
  if (status >= 400 && status <= 499) return FailureClass::kBadInput;
  return FailureClass::kError;
}

}  // namespace keel::spec
