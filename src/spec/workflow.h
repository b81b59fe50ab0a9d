// WorkflowSpec: a workflow as the user wrote it, parsed and validated.
//
// Produced by parseWorkflow() (parser.h) from YAML; immutable afterwards and
// shared between threads as std::shared_ptr<const WorkflowSpec>. Every
// field a user can write is here, including those whose behaviour later
// versions of keel add (triggers, dependencies, slo): they are parsed,
// validated and stored now.
#pragma once

#include <bitset>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/retry_policy.h"
#include "core/states.h"

namespace keel::spec {

using Millis = std::chrono::milliseconds;

struct SourcePos {
  int line = 0;  // 1-based; 0 when unknown
  int column = 0;
};

using keel::Backoff;
using keel::Jitter;
using keel::RetryPolicy;

enum class StepKind { kRun, kNoop, kSleep, kHttp, kTask, kApproval };

// "run", "noop", "sleep", "http", "task", "approval": the key that gives a
// step its kind.
std::string_view toString(StepKind kind);

// A range of HTTP status codes, both ends included ("200-299", or 404 as
// {404, 404}).
struct HttpStatusRange {
  int from = 200;
  int to = 299;
  bool operator==(const HttpStatusRange&) const = default;
};

// An `http:` step, validated: the URL's scheme, host and port are literal
// text (templates only in its path and query), header names are HTTP tokens
// and none is one keel sets, at most one of json and body. Rendered for a
// run by renderHttpRequest() (http.h).
struct HttpSpec {
  std::string method = "GET";  // GET, HEAD, POST, PUT, PATCH or DELETE
  std::string url;             // a template
  // Name as written -> value (a template); names are unique ignoring case.
  std::map<std::string, std::string> headers;
  std::optional<nlohmann::json> json;  // string leaves are templates
  std::optional<std::string> body;     // a template, sent as rendered
  std::string contentType;             // with body: from `content_type:`, or text/plain
  std::vector<HttpStatusRange> expect{HttpStatusRange{200, 299}};
  std::string caFile;  // an absolute path; empty: the system's CAs
  bool followRedirects = false;
};

// A `task:` step: the queue its tasks go to and the input a worker gets.
struct TaskSpec {
  std::string queue;                    // a name (kNameRule)
  std::optional<nlohmann::json> input;  // string leaves are templates; none: {}
};

// An `approval:` step: the run waits at it until a person decides (approve
// or reject) or `timeout` passes. keel has no team directory: `approvers`
// are recorded and shown, and any admin token may decide.
struct ApprovalSpec {
  std::vector<std::string> approvers;  // team or person names, at least one
  Millis timeout{0};                   // required
  bool approveOnTimeout = false;       // on_timeout: approve (default: fail)
  std::string message;                 // a template, rendered when the wait starts
};

// An event a step or a run's end sends on a topic (`emit:`), written to
// keel's outbox with the transition that causes it. `payload` is a JSON
// object whose string leaves are templates, rendered as JSON values like an
// http step's `json:`.
struct EmitSpec {
  std::string topic;  // isValidTopic
  nlohmann::json payload = nlohmann::json::object();
  SourcePos pos;
};

// A workflow's `on_end:` item: the event emitted when a run ends in
// `state` (succeeded | failed | cancelled | finished = any of them).
struct OnEndSpec {
  std::string state;
  EmitSpec emit;
  SourcePos pos;
};

// The suffix of a compensation's name ("reserve.compensate"); no step may
// be named with it.
inline constexpr std::string_view kCompensateSuffix = ".compensate";

struct StepSpec {
  std::string name;
  SourcePos pos;
  StepKind kind = StepKind::kRun;
  std::string run;        // kRun: the command, a template, run by /bin/sh -c
  Millis sleep{0};        // kSleep
  TaskSpec task;          // kTask: done by an external worker
  ApprovalSpec approval;  // kApproval: decided by a person
  HttpSpec http;          // kHttp
  std::vector<std::string> needs;
  std::optional<Millis> timeout;
  Millis killGrace = Millis(10'000);  // SIGTERM -> SIGKILL
  bool killGraceDefaulted = true;     // the step had no `kill_grace:`
  std::optional<Millis> heartbeat;
  RetryPolicy retry;
  std::map<std::string, std::string> env;  // values are templates
  // Variables passed through from the server's own environment by name
  // (`pass_env:`); every other server variable is withheld from the step.
  std::vector<std::string> passEnv;
  // Where the command starts, resolved: the step's own `workdir:` joined to
  // the workflow's when relative, else the workflow's. May hold templates.
  std::string workdir;
  std::string uses;  // a dependency name
  // `compensate:`: what undoes this step once it succeeded, run when its
  // run fails for good or is cancelled with compensation (engine/README.md).
  // A `run:` or `http:` step of its own, named "NAME.compensate", with its
  // own timeout and retry policy and this step's env, pass_env and workdir;
  // its templates may use this step's output. Null: none.
  std::shared_ptr<const StepSpec> compensation;
  // Emitted when the step succeeds; its templates may also use the
  // step's own output.
  std::optional<EmitSpec> emit;
};

struct OwnerSpec {
  std::string team;
  std::string contact;
};

struct TriggerSpec {
  enum class Kind { kCron, kEvent, kAfter, kFile } kind = Kind::kCron;
  SourcePos pos;
  std::string cron;              // 5 fields or @hourly/@daily/@weekly/@monthly/@yearly
  std::string timezone = "UTC";  // an IANA zone, checked with cctz
  // cron: fires missed while keel was down: skip | run_once | catch_up.
  std::string misfire = "run_once";
  int catchUpLimit = 10;         // cron, misfire catch_up: runs started at most per start
  std::string overlap = "skip";  // allow | skip | queue
  std::string event;             // a topic (isValidTopic)
  // event: payload field (dotted path) -> the value it must have, as
  // written (compared as text with a scalar at that path). Empty: every
  // event of the topic.
  std::map<std::string, std::string> match;
  // event: the params of the run it starts, each a template that may use
  // event.id, event.topic and event.payload.X only. cron: likewise, with
  // schedule.time and schedule.date only. after: likewise, of
  // upstream.run_id, upstream.workflow, upstream.state and
  // upstream.steps.X.output only.
  std::map<std::string, std::string> params;
  std::string afterWorkflow;
  std::string afterState = "succeeded";  // succeeded | failed | finished
  std::string filePath;
  std::string filePattern;
  std::optional<Millis> fileStableFor;
};

// Whether `topic` can name an event topic: 1-200 characters from letters,
// digits, '.', '_' and '-'.
bool isValidTopic(std::string_view topic);
inline constexpr std::string_view kTopicRule =
    "use 1-200 characters from letters, digits, '.', '_' and '-'";

struct BreakerSpec {
  std::optional<double> failureRate;
  std::optional<int> window;
  std::optional<int> minCalls;
  std::optional<Millis> openFor;
};

struct DependencySpec {
  std::string name;
  SourcePos pos;
  BreakerSpec breaker;
  std::optional<int> maxConcurrent;
  std::string rate;  // "N/s", validated
};

struct ConcurrencySpec {
  std::string key;  // a template over params and run
  int limit = 1;
};

// An SLO deadline as written: a duration (`45m`) or a time of day
// (`"06:00"`, in the SLO's time zone). Exactly one is set.
struct SloDeadline {
  std::optional<Millis> after;
  std::optional<int> minuteOfDay;  // 0..1439
  std::string text;                // as written, for messages

  bool operator==(const SloDeadline&) const = default;
};

// `slo:` (docs/workflows.md, "SLOs"; engine/engine_slo.cc tracks it).
struct SloSpec {
  // `max_duration:`: the same as `finish_by` given as a duration (from the
  // run's creation); the two are never both given.
  std::optional<Millis> maxDuration;
  std::optional<SloDeadline> finishBy;  // a run unfinished by then is a symptom
  std::optional<SloDeadline> startBy;   // "the next system never ran"
  // `days:` of a time-of-day start_by: bit 0 = Sunday .. 6 = Saturday.
  // All set when not given.
  std::bitset<7> days = std::bitset<7>().set();
  std::optional<Millis> freshness;  // the last success may be at most this old
  // `timezone:`, else the first cron trigger's, else UTC.
  std::string timezone = "UTC";

  // finish_by, or max_duration, as one deadline.
  std::optional<SloDeadline> finishDeadline() const;
  bool tracked() const { return finishDeadline() || startBy || freshness; }
};

// One level of an escalation policy: `{after: 15m, notify: ops-leads}`.
// `notify` is "owner" (the channels serving the workflow's owner team) or
// the name of a channel.
struct EscalationLevel {
  Millis after{0};  // from the first failed attempt (or the incident's opening)
  std::string notify = "owner";
};

inline constexpr Millis kDefaultEscalateAfter{3 * 60 * 1000};

struct ParamSpec {
  std::string name;
  std::optional<std::string> defaultValue;
  std::string description;
};

struct WorkflowSpec {
  std::string name;
  std::string ns = "default";
  std::string description;
  OwnerSpec owner;
  std::string runbook;
  // `severity:` of the incidents it opens: 1 (SEV1, highest) .. 4; SEV3
  // when not given.
  int severity = 3;
  // Where run: commands start, resolved: the spec's `workdir:` (joined to
  // ParseOptions::defaultWorkdir when relative), else defaultWorkdir; empty =
  // the server's working directory.
  std::string workdir;
  std::vector<ParamSpec> params;
  std::vector<TriggerSpec> triggers;
  std::vector<DependencySpec> dependencies;
  std::optional<ConcurrencySpec> concurrency;
  SloSpec slo;
  // `escalate_after:` how long automatic recovery (retries, waits) may try
  // after a step's first failed attempt before its incident escalates.
  Millis escalateAfter = kDefaultEscalateAfter;
  // `escalation:` the levels, by increasing `after`; when not given, one
  // level {after: escalateAfter, notify: owner}.
  std::vector<EscalationLevel> escalation;
  // How long keel serve keeps this workflow's finished runs (`retention:`);
  // overrides the server's --retain both ways. Unset: --retain, if given.
  std::optional<Millis> retention;
  std::vector<StepSpec> steps;
  std::vector<OnEndSpec> onEnd;  // in the order written

  const StepSpec* findStep(const std::string& stepName) const;
};

}  // namespace keel::spec
