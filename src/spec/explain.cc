// explainWorkflow(): the spec as keel will run it, every default made visible.
#include <cctype>

#include <nlohmann/json.hpp>

#include "spec/http_step.h"
#include "spec/parser.h"
#include "spec/slo.h"

namespace keel::spec {
namespace {

constexpr const char* kNotFired = "each starts runs by itself";
constexpr const char* kNotEnforced =
    "stored; breakers, max_concurrent and rate are not enforced by this version of keel";

std::string classList(const std::vector<FailureClass>& classes) {
  std::string out = "[";
  for (size_t i = 0; i < classes.size(); ++i)
    out += (i ? "," : "") + std::string(toString(classes[i]));
  return out + "]";
}

std::string intList(const std::vector<int>& codes) {
  std::string out = "[";
  for (size_t i = 0; i < codes.size(); ++i) out += (i ? "," : "") + std::to_string(codes[i]);
  return out + "]";
}

std::string jitterName(Jitter j) {
  switch (j) {
    case Jitter::kNone:
      return "none";
    case Jitter::kFull:
      return "full";
    case Jitter::kEqual:
      return "equal";
    case Jitter::kDecorrelated:
      return "decorrelated";
  }
  return "unknown";
}

std::string retryLine(const RetryPolicy& p) {
  // The set RetryPolicy documents for an empty retryOn.
  static const std::vector<FailureClass> kDefaultOn = {FailureClass::kTimeout,
                                                       FailureClass::kCrash,
                                                       FailureClass::kLost,
                                                       FailureClass::kError,
                                                       FailureClass::kDependencyUnavailable,
                                                       FailureClass::kRateLimited};
  std::string out = "retry: max_attempts=" + std::to_string(p.maxAttempts) +
                    " backoff=" + (p.backoff == Backoff::kFixed ? "fixed" : "exponential") +
                    " initial=" + formatDuration(p.initial) + " max=" + formatDuration(p.max) +
                    " jitter=" + jitterName(p.jitter) +
                    " retry_on=" + classList(p.retryOn.empty() ? kDefaultOn : p.retryOn);
  if (!p.noRetryOn.empty()) out += " no_retry_on=" + classList(p.noRetryOn);
  if (!p.retryOnExitCodes.empty()) out += " retry_on_exit_codes=" + intList(p.retryOnExitCodes);
  if (!p.noRetryOnExitCodes.empty())
    out += " no_retry_on_exit_codes=" + intList(p.noRetryOnExitCodes);
  if (p.defaulted) out += " (default: the step has no retry block)";
  return out;
}

std::string kindLine(const StepSpec& s) {
  switch (s.kind) {
    case StepKind::kRun:
      return "run: " + s.run;
    case StepKind::kNoop:
      return "noop: does nothing";
    case StepKind::kSleep:
      return "sleep: " + formatDuration(s.sleep);
    case StepKind::kHttp:
      return "http: " + s.http.method + " " + s.http.url;
    case StepKind::kTask:
      return "task: queue " + s.task.queue + " (done by an external worker)";
    case StepKind::kApproval: {
      std::string who;
      for (const auto& a : s.approval.approvers) who += (who.empty() ? "" : ", ") + a;
      std::string out = "approval: by " + who + " within " + formatDuration(s.approval.timeout) +
                        ", on timeout " + (s.approval.approveOnTimeout ? "approve" : "fail") +
                        " (any admin token may decide)";
      if (!s.approval.message.empty()) out += "; message: " + s.approval.message;
      return out;
    }
  }
  return "unknown";
}

// A `json:` value as it will be sent: a string that is one whole template
// is shown bare ({{ steps.x.output.rows }}: the value with its JSON type),
// unless it is a param or run.* (always a JSON string); other strings as
// JSON strings with their templates inside.
std::string dumpText(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string jsonShape(const nlohmann::json& j) {
  if (j.is_string()) {
    const auto& text = j.get_ref<const std::string&>();
    auto refs = templateRefs(text);
    bool whole = refs.ok() && refs->size() == 1 && text.starts_with("{{") &&
                 text.find("}}") + 2 == text.size();
    if (whole && refs->front().root == "steps") return text;
    return dumpText(j);
  }
  if (j.is_object()) {
    std::string out = "{";
    for (const auto& [k, v] : j.items())
      out += (out.size() > 1 ? "," : "") + dumpText(nlohmann::json(k)) + ":" + jsonShape(v);
    return out + "}";
  }
  if (j.is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < j.size(); ++i) out += (i ? "," : "") + jsonShape(j[i]);
    return out + "]";
  }
  return dumpText(j);
}

std::string expectList(const std::vector<HttpStatusRange>& expect) {
  std::string out = "[";
  for (size_t i = 0; i < expect.size(); ++i) {
    const auto& r = expect[i];
    out += (i ? ", " : "") + std::to_string(r.from);
    if (r.to != r.from) out += "-" + std::to_string(r.to);
  }
  return out + "]";
}

// Headers whose value is likely a credential: explain shows that they are
// set, not what to (G12: secrets never appear in output).
bool isSensitiveHeader(std::string name) {
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* word :
       {"authorization", "cookie", "token", "secret", "password", "api-key", "apikey"})
    if (name.find(word) != std::string::npos) return true;
  return false;
}

void explainHttp(const StepSpec& s, std::string& out) {
  const HttpSpec& h = s.http;
  out += "      request (each {{ ... }} is filled in per run, percent-encoded in the URL):\n";
  out += "        " + h.method + " " + h.url + "\n";
  for (const auto& [name, value] : h.headers)
    out += "        " + name + ": " +
           (isSensitiveHeader(name) ? "<hidden: " + std::to_string(value.size()) + " characters>"
                                    : value) +
           "\n";
  out += "        " + std::string(kIdempotencyKeyHeader) + ": <run id>/" + s.name +
         "   (added by keel: the same for every attempt)\n";
  out += "        " + std::string(kRunIdHeader) + ": <run id>   (added by keel)\n";
  out += "        " + std::string(kTraceparentHeader) +
         ": <the attempt's W3C trace context>   (added by keel)\n";
  if (h.json) {
    out += "        Content-Type: " + std::string(kJsonContentType) + "\n";
    out += "        body (json): " + jsonShape(*h.json) + "\n";
  } else if (h.body) {
    out += "        Content-Type: " + h.contentType + "\n";
    out += "        body (as rendered, not escaped): " + dumpText(nlohmann::json(*h.body)) + "\n";
  }
  out += "      tls: " +
         (h.caFile.empty() ? std::string("the system's CA certificates")
                           : "CA certificates from " + h.caFile) +
         "; follow_redirects: " + (h.followRedirects ? "true" : "false (default)") + "\n";
  bool defaulted = h.expect == std::vector<HttpStatusRange>{HttpStatusRange{200, 299}};
  out += "      expect: " + expectList(h.expect) + (defaulted ? " (default)" : "") + "\n";
  out += "      outcomes: a status in expect -> success\n";
  out +=
      "                connection refused, DNS or TLS failure, 502, 503, 504 -> "
      "dependency_unavailable\n";
  out += "                429 -> rate_limited (Retry-After honoured)\n";
  out += "                no response within the timeout -> timeout\n";
  out += "                other 4xx -> bad_input (not retried by default)\n";
  out += "                other 5xx, and any other status -> error\n";
}

void explainTask(const StepSpec& s, std::string& out) {
  out += "      input (each {{ ... }} is filled in per run as a JSON value): " +
         (s.task.input ? jsonShape(*s.task.input) : std::string("{} (none given)")) + "\n";
  out += "      lease: " +
         (s.heartbeat ? formatDuration(*s.heartbeat) + " (heartbeat)"
                      : (s.timeout ? formatDuration(*s.timeout) : std::string("none")) +
                            " (the timeout: no heartbeat given)") +
         "; idempotency_key: <run id>/" + s.name + " (the same for every attempt)\n";
  out += "      outcomes: completed -> success with the worker's output\n";
  out += "                failed -> the class the worker gives\n";
  out += "                no heartbeat or result within the lease -> lost (retried)\n";
  out += "                not done within the timeout, queued time included -> timeout\n";
}

void explainStep(const StepSpec& s, std::string& out) {
  out += "    " + s.name + "\n";
  out += "      " + kindLine(s) + "\n";
  if (s.kind == StepKind::kHttp) explainHttp(s, out);
  if (s.kind == StepKind::kTask) explainTask(s, out);
  std::string needs;
  for (const auto& n : s.needs) needs += (needs.empty() ? "" : ", ") + n;
  out += "      needs: " + (needs.empty() ? "nothing (starts with the run)" : needs) + "\n";
  if (!s.uses.empty()) out += "      uses: " + s.uses + "\n";
  if (s.kind == StepKind::kApproval)
    out +=
        "      timeout: " + formatDuration(s.approval.timeout) + " (approval.timeout); then " +
        (s.approval.approveOnTimeout ? "approved by keel (timeout)" : "dead with class timeout") +
        "\n";
  else if (s.timeout)
    out += "      timeout: " + formatDuration(*s.timeout) + "\n";
  else
    out +=
        "      timeout: none (noop and sleep steps are exempt from the timeout rule, G10: "
        "they do no outside work)\n";
  out += "      kill_grace: " + formatDuration(s.killGrace) +
         (s.killGraceDefaulted ? " (default)" : "") + "\n";
  if (s.heartbeat) out += "      heartbeat: " + formatDuration(*s.heartbeat) + "\n";
  if (s.kind == StepKind::kApproval)
    out += "      retry: none (a decision is made once; a rejection is bad_input)\n";
  else
    out += "      " + retryLine(s.retry) + "\n";
  if (!s.env.empty()) {
    std::string names;
    for (const auto& [k, v] : s.env) names += (names.empty() ? "" : ", ") + k;
    out += "      env: " + names + "\n";
  }
  if (!s.passEnv.empty()) {
    std::string names;
    for (const auto& n : s.passEnv) names += (names.empty() ? "" : ", ") + n;
    out += "      pass_env: " + names + " (from keel's environment)\n";
  }
  if (!s.workdir.empty()) out += "      workdir: " + s.workdir + "\n";
  if (s.compensation)
    out += "      compensate: " +
           (s.compensation->kind == StepKind::kHttp
                ? s.compensation->http.method + " " + s.compensation->http.url
                : s.compensation->run) +
           " (run when the run fails or is cancelled with compensation)\n";
  if (s.emit)
    out += "      emit: on topic " + s.emit->topic + " when it succeeds, payload " +
           jsonShape(s.emit->payload) + "\n";
}

std::string triggerLine(const TriggerSpec& t) {
  switch (t.kind) {
    case TriggerSpec::Kind::kCron:
      return "cron \"" + t.cron + "\" timezone=" + t.timezone + " misfire=" + t.misfire +
             (t.misfire == "catch_up" ? " catch_up_limit=" + std::to_string(t.catchUpLimit) : "") +
             " overlap=" + t.overlap;
    case TriggerSpec::Kind::kEvent:
      return "event " + t.event;
    case TriggerSpec::Kind::kAfter:
      return "after workflow=" + t.afterWorkflow + " state=" + t.afterState;
    case TriggerSpec::Kind::kFile:
      // The defaults are triggers::kDefaultStableFor and "*" (spec cannot
      // include triggers).
      return "file path=" + t.filePath +
             " pattern=" + (t.filePattern.empty() ? std::string("*") : t.filePattern) +
             " stable_for=" + formatDuration(t.fileStableFor.value_or(Millis(10'000))) +
             " (one run per regular file directly in path whose name matches, once its size "
             "and mtime are unchanged for stable_for)";
  }
  return "unknown";
}

std::string dependencyLine(const DependencySpec& d) {
  std::string out = d.name + ":";
  const BreakerSpec& b = d.breaker;
  if (b.failureRate || b.window || b.minCalls || b.openFor) {
    out += " breaker";
    if (b.failureRate) out += " failure_rate=" + nlohmann::json(*b.failureRate).dump();
    if (b.window) out += " window=" + std::to_string(*b.window);
    if (b.minCalls) out += " min_calls=" + std::to_string(*b.minCalls);
    if (b.openFor) out += " open_for=" + formatDuration(*b.openFor);
  }
  if (d.maxConcurrent) out += " max_concurrent=" + std::to_string(*d.maxConcurrent);
  if (!d.rate.empty()) out += " rate=" + d.rate;
  if (out.back() == ':') out += " no policy";
  return out;
}

void explainHeader(const WorkflowSpec& w, std::string& out) {
  out += "workflow " + w.name + "\n";
  out += "  namespace: " + w.ns + (w.ns == "default" ? " (default)" : "") + "\n";
  if (!w.description.empty()) out += "  description: " + w.description + "\n";
  out += "  owner: team " + w.owner.team +
         (w.owner.contact.empty() ? "" : ", contact " + w.owner.contact) + "\n";
  out += "  runbook: " + w.runbook + "\n";
  out += "  escalation: a step still failing " + formatDuration(w.escalateAfter) +
         " after its first failed attempt (or a run that failed for good) calls";
  for (size_t i = 0; i < w.escalation.size(); ++i)
    out += (i == 0 ? " " : ", then ") +
           (w.escalation[i].notify == "owner" ? std::string("the owner team's channels")
                                              : "channel " + w.escalation[i].notify) +
           " at " + formatDuration(w.escalation[i].after);
  out += " (each level only while the incident is unacknowledged)\n";
  out += "  workdir: " + (w.workdir.empty() ? "the server's working directory" : w.workdir) + "\n";
  if (w.params.empty()) out += "  params: none\n";
  if (!w.params.empty()) out += "  params:\n";
  for (const ParamSpec& p : w.params) {
    out += "    " + p.name + ": " +
           (p.defaultValue ? "default \"" + *p.defaultValue + "\"" : std::string("required"));
    out += (p.description.empty() ? "" : " - " + p.description) + "\n";
  }
}

std::string deadlineText(const SloDeadline& d) {
  if (d.after) return formatDuration(*d.after);
  return formatTimeOfDay(d.minuteOfDay.value_or(0));
}

// What each SLO checks, in words, with the zone its times of day are in.
std::string sloLine(const SloSpec& slo) {
  std::vector<std::string> parts;
  if (slo.maxDuration) parts.push_back("max_duration=" + formatDuration(*slo.maxDuration));
  if (slo.finishBy)
    parts.push_back("finish_by=" + deadlineText(*slo.finishBy) +
                    (slo.finishBy->after ? " (from each run's creation)"
                                         : " (the first such time after each run's creation)"));
  if (slo.startBy)
    parts.push_back("start_by=" + deadlineText(*slo.startBy) +
                    (slo.startBy->after
                         ? " (after each cron fire, its run's first step must have started)"
                         : " on " + formatDays(slo.days) +
                               " (a run must have started since the previous one)"));
  if (slo.freshness)
    parts.push_back("freshness=" + formatDuration(*slo.freshness) + " (since the last success)");
  if (parts.empty()) return "none";
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  if (slo.finishBy || slo.startBy) out += "; timezone=" + slo.timezone;
  out += "; a miss opens an incident";
  return out;
}

}  // namespace

std::string explainWorkflow(const WorkflowSpec& w) {
  std::string out;
  explainHeader(w, out);
  if (w.triggers.empty()) out += "  triggers: none (runs start through the API or the CLI)\n";
  if (!w.triggers.empty()) out += std::string("  triggers (") + kNotFired + "):\n";
  for (const TriggerSpec& t : w.triggers) out += "    " + triggerLine(t) + "\n";
  if (w.dependencies.empty()) out += "  dependencies: none\n";
  if (!w.dependencies.empty()) out += std::string("  dependencies (") + kNotEnforced + "):\n";
  for (const DependencySpec& d : w.dependencies) out += "    " + dependencyLine(d) + "\n";
  if (w.concurrency)
    out += "  concurrency: key=\"" + w.concurrency->key +
           "\" limit=" + std::to_string(w.concurrency->limit) + "\n";
  else
    out += "  concurrency: none (runs do not wait for each other)\n";
  out += "  slo: " + sloLine(w.slo) + "\n";
  out += "  retention: " +
         (w.retention ? formatDuration(*w.retention) + " (finished runs deleted by keel serve)"
                      : std::string("none (keel serve --retain applies, if set)")) +
         "\n";
  out += "  steps:\n";
  for (const StepSpec& s : w.steps) explainStep(s, out);
  for (const OnEndSpec& e : w.onEnd)
    out += "  on_end: when a run ends " + e.state + ", emit on topic " + e.emit.topic +
           " payload " + jsonShape(e.emit.payload) + "\n";
  return out;
}

}  // namespace keel::spec
