#include "runners/http_runner.h"

#include <algorithm>
#include <atomic>
#include <cctype>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "exec/classify.h"
#include "http/classify.h"
#include "observe/trace_context.h"
#include "spec/http_step.h"
#include "spec/template.h"

namespace keel::runners {
namespace {

using nlohmann::json;

struct HttpAttempt final : engine::PreparedAttempt {
  http::HttpRequest request;
  http::StatusRanges expect;
  std::chrono::milliseconds timeout{0};
};

// Response headers worth keeping in the log and the output.
constexpr const char* kKeptHeaders[] = {"content-type",  "location",    "etag",
                                        "last-modified", "retry-after", "x-request-id"};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

struct HttpRunner::Call {
  std::atomic<int> stopClass{-1};             // a FailureClass once stop() was asked
  http::HttpClient::Handle clientHandle = 0;  // guarded by the runner's mutex
  bool cancelWhenSent = false;                // stop() before send() returned
};

std::string HttpRunner::traceId(const std::string& runId) { return observe::derivedTraceId(runId); }

Result<std::shared_ptr<const engine::PreparedAttempt>> HttpRunner::prepare(
    const engine::AttemptInput& in) {
  const auto& spec = in.step->http;
  spec::TemplateContext ctx;
  ctx.params = in.params;
  ctx.stepOutputs = in.outputs;
  ctx.runId = in.runId;
  ctx.workflow = in.workflow;
  auto rendered = spec::renderHttpRequest(spec, ctx);
  if (!rendered.ok()) return Error(ErrorCode::kInvalidArgument, rendered.error().message());

  auto attempt = std::make_shared<HttpAttempt>();
  http::HttpRequest& req = attempt->request;
  req.method = rendered->method;
  req.url = rendered->url;
  for (auto& [name, value] : rendered->headers) req.headers.push_back({name, value});
  if (!rendered->body.empty() || !rendered->contentType.empty()) {
    if (!rendered->contentType.empty())
      req.headers.push_back({"Content-Type", rendered->contentType});
    req.body = rendered->body;
  }
  req.headers.push_back({std::string(spec::kIdempotencyKeyHeader), in.runId + "/" + in.step->name});
  req.headers.push_back({std::string(spec::kRunIdHeader), in.runId});
  // The run's trace, and this attempt's span (observe::attemptSpanId).
  std::string span =
      in.spanId.empty() ? observe::attemptSpanId(in.runId, in.step->name, in.attempt) : in.spanId;
  req.headers.push_back(
      {std::string(spec::kTraceparentHeader),
       observe::formatTraceparent(observe::runTraceId(in.traceId, in.runId), span)});
  req.caFile = spec.caFile;
  req.followRedirects = spec.followRedirects;
  // The engine's timer stops the call at the step's timeout; the client's
  // own limit is a little later, so the class says "timeout" either way.
  attempt->timeout = in.timeout;
  if (in.timeout.count() > 0) {
    req.totalTimeout = in.timeout + std::chrono::milliseconds(500);
    req.connectTimeout = std::min(req.connectTimeout, in.timeout);
  }
  for (const auto& r : spec.expect) attempt->expect.emplace_back(r.from, r.to);
  return std::shared_ptr<const engine::PreparedAttempt>(std::move(attempt));
}

namespace {

// The attempt's log: the status line, the kept headers, then the body.
std::string logText(const http::HttpResponse& r) {
  std::string out = fmt::format("HTTP {}\n", r.status);
  for (const auto& h : r.headers)
    if (std::find(std::begin(kKeptHeaders), std::end(kKeptHeaders), lower(h.name)) !=
        std::end(kKeptHeaders))
      out += fmt::format("{}: {}\n", h.name, h.value);
  out += "\n" + r.body;
  if (r.truncated)
    out += fmt::format("\n[... {} more bytes of the body not kept ...]\n",
                       r.bodyBytes - r.body.size());
  return out;
}

json outputOf(const http::HttpResponse& r) {
  json headers = json::object();
  for (const auto& h : r.headers) {
    std::string name = lower(h.name);
    if (std::find(std::begin(kKeptHeaders), std::end(kKeptHeaders), name) != std::end(kKeptHeaders))
      headers[name] = h.value;
  }
  json body = r.body;  // as text, unless it is whole JSON
  auto type = http::findHeader(r.headers, "Content-Type");
  if (!r.truncated && type && lower(*type).find("json") != std::string::npos) {
    json parsed = json::parse(r.body, nullptr, false);
    if (!parsed.is_discarded()) body = std::move(parsed);
  }
  return json{{"status", r.status}, {"headers", headers}, {"body", body}};
}

}  // namespace

HttpRunner::Handle HttpRunner::start(std::shared_ptr<const engine::PreparedAttempt> prepared,
                                     Done done) {
  auto attempt = std::static_pointer_cast<const HttpAttempt>(prepared);
  auto call = std::make_shared<Call>();
  Handle ours;
  {
    std::lock_guard lock(mu_);
    ours = next_++;
    calls_[ours] = call;
  }
  const MonoTime sentAt = clock_.monoNow();
  auto onResult = [this, ours, call, attempt, sentAt,
                   done = std::move(done)](http::HttpResult result) {
    {
      std::lock_guard lock(mu_);
      calls_.erase(ours);
    }
    exec::StepOutcome o;
    o.endedAt = clock_.wallNow();
    auto c = http::classify(result, attempt->expect, clock_.wallNow());
    const int stopped = call->stopClass.load();
    if (!result.ok()) {
      if (stopped >= 0 && result.failure->kind == http::TransportFailureKind::kCancelled) {
        o.failureClass = static_cast<FailureClass>(stopped);
        o.message = fmt::format(
            "{} {} stopped after {} ({})", attempt->request.method, attempt->request.url,
            exec::formatElapsed(
                std::chrono::duration_cast<std::chrono::milliseconds>(clock_.monoNow() - sentAt)),
            toString(o.failureClass));
      } else {
        o.failureClass =
            c.failureClass == FailureClass::kNone ? FailureClass::kError : c.failureClass;
        o.message = fmt::format("{} {}: {} ({})", attempt->request.method, attempt->request.url,
                                result.failure->message, http::toString(result.failure->kind));
      }
    } else {
      const auto& r = result.response;
      o.stdoutText = logText(r);
      o.stdoutBytes = static_cast<int64_t>(r.bodyBytes);
      o.failureClass = c.failureClass;
      o.retryNotBefore = c.notBefore;
      o.message = fmt::format("HTTP {} from {} {}", r.status, attempt->request.method,
                              attempt->request.url);
      if (c.failureClass == FailureClass::kNone) o.outputJson = outputOf(r).dump();
    }
    o.succeeded = o.failureClass == FailureClass::kNone;
    done(std::move(o));
  };
  http::HttpClient::Handle h = client_.send(attempt->request, std::move(onResult));
  bool cancelNow = false;
  {
    std::lock_guard lock(mu_);
    if (auto it = calls_.find(ours); it != calls_.end()) {
      it->second->clientHandle = h;
      cancelNow = it->second->cancelWhenSent;
    }
  }
  if (cancelNow) client_.cancel(h);
  return ours;
}

void HttpRunner::stop(Handle handle, FailureClass why) {
  http::HttpClient::Handle h = 0;
  {
    std::lock_guard lock(mu_);
    auto it = calls_.find(handle);
    if (it == calls_.end()) return;  // already ended
    int expected = -1;
    it->second->stopClass.compare_exchange_strong(expected, static_cast<int>(why));
    h = it->second->clientHandle;
    if (h == 0) it->second->cancelWhenSent = true;
  }
  if (h != 0) client_.cancel(h);
}

HttpRunner::Handle HttpRunner::attach(const exec::AttemptRef& ref,
                                      std::shared_ptr<const engine::PreparedAttempt>, Done done) {
  (void)ref;
  exec::StepOutcome o;
  o.failureClass = FailureClass::kLost;
  o.message =
      "keel stopped while this HTTP call was in flight; its outcome is unknown (a retry sends "
      "the same Idempotency-Key)";
  done(std::move(o));
  return 0;
}

}  // namespace keel::runners
