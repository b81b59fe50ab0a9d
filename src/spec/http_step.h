// http steps: the rules for their URL and headers, and a step's request
// rendered for one run, with every value escaped for where it lands.
//
// An http step's URL is a template whose scheme, host and port are literal
// text: a value can change the path and the query, never where the request
// goes. A value in the path is one path segment ('/' becomes %2F), a value
// in the query one query component ('&', '=', '#', '+', spaces encoded);
// `json:` is built as a JSON value (never by pasting text); header values
// must not hold a line break once rendered; `body:` is sent as rendered,
// unescaped (its author chose its format).
//
// The parser (parse_http.cc) checks an `http:` block with these rules; the
// runner that sends the request calls renderHttpRequest() and adds keel's
// own headers (kKeelHttpHeaders). Pure functions; thread-safe.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/states.h"
#include "spec/template.h"
#include "spec/workflow.h"

namespace keel::spec {

// The headers keel sets on every request of an http step: Idempotency-Key is
// "RUN_ID/STEP" (the same for every attempt, like KEEL_IDEMPOTENCY_KEY),
// X-Keel-Run-Id the run's id, traceparent the W3C trace context of the
// attempt. A step cannot set them.
inline constexpr std::string_view kIdempotencyKeyHeader = "Idempotency-Key";
inline constexpr std::string_view kRunIdHeader = "X-Keel-Run-Id";
inline constexpr std::string_view kTraceparentHeader = "traceparent";
inline constexpr std::array<std::string_view, 3> kKeelHttpHeaders = {
    kIdempotencyKeyHeader, kRunIdHeader, kTraceparentHeader};

// The methods an http step may use.
inline constexpr std::array<std::string_view, 6> kHttpMethods = {"GET", "HEAD",  "POST",
                                                                 "PUT", "PATCH", "DELETE"};

// The type of a `body:` without `content_type:`, and of every `json:`.
inline constexpr std::string_view kDefaultBodyContentType = "text/plain; charset=utf-8";
inline constexpr std::string_view kJsonContentType = "application/json";

// Whether `name` is an HTTP header name (RFC 9110 token: letters, digits and
// !#$%&'*+-.^_`|~, at least one).
bool isHttpToken(std::string_view name);

// Why a step may not set the header `name` (compared ignoring case): Host,
// Content-Length and Transfer-Encoding (the client sets them from the URL
// and the body), and keel's own (kKeelHttpHeaders). nullopt if it may.
std::optional<std::string> reservedHttpHeader(std::string_view name);

// What is wrong with an http step's URL template, or nullopt. `inHost`: the
// problem is a template in the scheme, host or port (always the first
// template of the URL).
struct UrlTemplateProblem {
  std::string message;
  bool inHost = false;
};
std::optional<UrlTemplateProblem> urlTemplateProblem(std::string_view url);

// The request of one attempt, rendered.
struct RenderedHttpRequest {
  std::string method;
  std::string url;  // absolute, every value percent-encoded for its place
  // The step's `headers:`, rendered, sorted by name; keel's own are not here.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;         // empty without json or body
  std::string contentType;  // empty without json or body
};

// Renders `spec` (parsed, so valid) with `ctx`. Errors (kInvalidArgument,
// a failure of class bad_input) name the field and the template: a missing
// value, a NUL byte, a path value that is "." or "..", a header value with a
// CR or LF, a json value that is not valid UTF-8.
Result<RenderedHttpRequest> renderHttpRequest(const HttpSpec& spec, const TemplateContext& ctx);

// Whether `status` is in the step's `expect` list.
bool httpStatusExpected(const HttpSpec& spec, int status);

// The outcome of a response: kNone (success) for a status in `expect`;
// then 429 rate_limited, 502/503/504 dependency_unavailable, other 4xx
// bad_input, anything else (other 5xx, 1xx, 3xx) error. Connection
// failures (refused, DNS, TLS) are dependency_unavailable and a request past
// the step's timeout is timeout: the runner's, as they have no status.
FailureClass classifyHttpStatus(const HttpSpec& spec, int status);

}  // namespace keel::spec
