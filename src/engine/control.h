// Control: what the API asks of the engine. Every call is queued to the
// engine loop and its future resolves only after the resulting transition
// is durable (G1). Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/request_context.h"
#include "core/result.h"
#include "incidents/lifecycle.h"
#include "store/records.h"

namespace keel::engine {

struct TriggerRequest {
  std::string workflow;
  nlohmann::json params = nlohmann::json::object();  // values: strings, numbers or booleans
  std::string idempotencyKey;                        // empty = none
  RequestContext who = {};                           // who asked, and why (recorded in run_created)
  // The W3C trace the run joins (32 hex, the caller's traceparent); empty:
  // the run starts a trace of its own.
  std::string traceId = {};
};

struct TriggerResult {
  store::RunRow run;
  bool created = false;  // false: an earlier run with the same idempotency key
};

struct ApplyResult {
  store::WorkflowVersionRow workflow;
  bool changed = false;  // false: identical to the latest version, no new version
  std::vector<std::string> warnings;
};

// An event received on a topic (POST /api/v1/events/TOPIC).
struct EventRequest {
  std::string topic;
  std::string id;
  nlohmann::json payload = nlohmann::json::object();
  // The delivery of keel's own outbox event `id`: the event is marked
  // delivered in the batch that records it (or, if the event was received
  // already, in a batch of its own before the answer).
  bool fromOutbox = false;
  // Who sent it through the API (audited as event.receive); keel's own
  // outbox deliveries leave it empty and are not audited.
  RequestContext who = {};
  // The W3C trace of the API request (32 hex): the runs it starts join it,
  // their run spans under the request's span (who.spanId). Empty: each run
  // starts a trace of its own.
  std::string traceId = {};
};

// A workflow whose trigger matched but whose run could not be made (its
// params did not render or were refused).
struct EventError {
  std::string workflow;
  std::string message;
  bool operator==(const EventError&) const = default;
};

struct EventResult {
  std::string topic;
  std::string id;
  std::vector<std::string> runIds;  // the runs the event started
  std::vector<EventError> errors;
  bool created = false;  // false: an earlier delivery of the same (topic, id)
};

// Where one file trigger of a workflow's latest version stands (keel
// schedules, GET /api/v1/schedules).
struct FileTriggerStatus {
  std::string workflow;
  size_t trigger = 0;  // its index in the workflow's triggers
  std::string path;
  std::string pattern;
  std::chrono::milliseconds stableFor{0};
  std::string error;  // why the directory could not be listed last time; empty if it could
  std::optional<WallTime> errorSince;
  std::optional<WallTime> lastListed;
  size_t pending = 0;  // files seen in the directory and followed
  // The last file it started a run for since keel started.
  std::string lastPath;
  std::optional<WallTime> lastArrivalAt;
  std::string lastRunId;
};

// What to read of one attempt's output while it runs
// (GET /api/v1/runs/ID/steps/STEP/logs?follow=true).
struct LiveLogRequest {
  std::string runId;
  std::string step;
  int attempt = 1;
  int64_t offset = 0;  // bytes of the live output already read
  size_t maxBytes = 256 * 1024;
};

// The attempt's output from `offset` (stdout and stderr interleaved as the
// step wrote them), and where the next read starts.
struct LiveLog {
  std::string data;
  int64_t offset = 0;
  bool ended = false;  // the attempt has ended and nothing follows `offset`
};

// What an operator set on a workflow (pause, disable), and whether the
// call changed it (false: it was so already, nothing was written).
struct WorkflowControlResult {
  store::WorkflowControlRow control;
  bool changed = false;
};

// A person's call on an incident (POST /api/v1/incidents/ID/...).
enum class IncidentAction { kAcknowledge, kMitigate, kResolve, kWorkaround, kActionDone };
struct IncidentRequest {
  std::string id;
  IncidentAction action = IncidentAction::kAcknowledge;
  incidents::ResolveRequest resolve;  // kResolve
  std::string workaround;             // kWorkaround: what people do meanwhile
  std::optional<WallTime> expires;    // kWorkaround: until when it may be relied on
  int actionItem = 0;                 // kActionDone: its number
};

class Control {
 public:
  virtual ~Control() = default;
  // Errors: kNotFound (no such workflow), kInvalidArgument (bad params: a
  // required param missing, a template that cannot render).
  virtual std::future<Result<TriggerResult>> trigger(TriggerRequest request) = 0;
  // `who` (actor and reason) lands in the run's timeline.
  // Errors: kNotFound, kConflict (already finished).
  virtual std::future<Result<store::RunRow>> cancel(const std::string& runId,
                                                    RequestContext who) = 0;
  // A cancel that, once the run's running steps have stopped, runs the
  // compensations of its succeeded steps before the run ends `cancelled`.
  // Errors: those of cancel, and kConflict while compensations run.
  virtual std::future<Result<store::RunRow>> cancelAndCompensate(const std::string& runId,
                                                                 RequestContext who) {
    (void)runId;
    (void)who;
    std::promise<Result<store::RunRow>> p;
    p.set_value(Error(ErrorCode::kUnimplemented, "cancel with compensation is not available"));
    return p.get_future();
  }
  // Re-runs the failed and dead steps of a finished, unsuccessful run, each
  // with a fresh retry budget. Decided from the run's state when the engine
  // loop handles it, so two concurrent retries cannot both re-run a step.
  // Errors: kNotFound, kConflict (still active, or succeeded).
  virtual std::future<Result<store::RunRow>> retry(const std::string& runId,
                                                   RequestContext who) = 0;
  // Operator actions on one step of a run (keel skip, rerun --from, cancel
  // --step). Each is decided on the engine loop from the run's current
  // state, so two concurrent calls cannot both act, and answers the run once
  // the transition is durable. `who` (actor and reason) lands in the run's
  // timeline. Errors: kNotFound (no such run or step), kConflict saying why.
  //
  // skipStep: a pending, ready, waiting, retrying or dead step becomes
  // `skipped` by an operator; its dependants run with an empty output from
  // it. A failed run whose step is skipped is re-opened. A running step is
  // refused (cancel it first).
  virtual std::future<Result<store::RunRow>> skipStep(const std::string& runId,
                                                      const std::string& step, RequestContext who) {
    (void)runId, (void)step, (void)who;
    return unimplemented();
  }
  // rerunFrom: the step and every step downstream of it (by needs) run
  // again with new attempts and fresh retry budgets; upstream results stay.
  // Any finished run; an active one only if none of those steps runs.
  virtual std::future<Result<store::RunRow>> rerunFrom(const std::string& runId,
                                                       const std::string& step,
                                                       RequestContext who) {
    (void)runId, (void)step, (void)who;
    return unimplemented();
  }
  // cancelStep: stops one running step (class cancelled, never retried);
  // it ends `dead` and the run goes on by the usual rules.
  virtual std::future<Result<store::RunRow>> cancelStep(const std::string& runId,
                                                        const std::string& step,
                                                        RequestContext who) {
    (void)runId, (void)step, (void)who;
    return unimplemented();
  }
  // Starts one run per matching event trigger (of each workflow's latest
  // version), durable together with the event before the future resolves.
  // A second delivery of the same (topic, id) answers the first one's runs
  // (created = false). Errors: kInvalidArgument (topic, id or payload),
  // kTooLarge (payload), kIdempotencyConflict (same id, other payload).
  virtual std::future<Result<EventResult>> emitEvent(EventRequest request) = 0;
  // Validates and stores a new version, recording `who` as the version's
  // applier, with its audit entry in the version's transaction (keel
  // itself when empty: `keel serve --workflows`). Errors: kInvalidArgument
  // with every problem in details, kTooLarge. (The default arguments
  // belong to these declarations; overrides repeat them.)
  virtual std::future<Result<ApplyResult>> applyWorkflow(std::string yaml, std::string sourceName,
                                                         RequestContext who = {}) = 0;
  // A file of one or more workflows, one per YAML document (split by
  // spec::splitDocuments): every document is validated (and the after
  // triggers of all checked for cycles together) before any is stored;
  // then each is stored as a new version, in file order. One document
  // refused: nothing is stored, and the error names the document and the
  // line it starts on. Two documents with the same name are refused.
  // One result per document. A file of one document is applyWorkflow().
  virtual std::future<Result<std::vector<ApplyResult>>> applyWorkflows(std::string text,
                                                                       std::string sourceName,
                                                                       RequestContext who = {}) = 0;
  // Pause and disable (engine_pause.cc). While a workflow (or a run) is
  // paused, its steps not yet dispatched hold as `ready` with wait kind
  // `paused`; running steps finish. While a workflow is disabled, its
  // triggers start no run (trigger() answers kConflict). Each answers once
  // the change is durable; one already in that state answers at once with
  // changed = false. `who` lands in the timeline of every affected run.
  // Errors: kNotFound (no such workflow or run), kConflict (run finished).
  virtual std::future<Result<WorkflowControlResult>> pauseWorkflow(const std::string& name,
                                                                   RequestContext who) {
    return unimplementedControl<WorkflowControlResult>(name, who);
  }
  virtual std::future<Result<WorkflowControlResult>> resumeWorkflow(const std::string& name,
                                                                    RequestContext who) {
    return unimplementedControl<WorkflowControlResult>(name, who);
  }
  virtual std::future<Result<WorkflowControlResult>> disableWorkflow(const std::string& name,
                                                                     RequestContext who) {
    return unimplementedControl<WorkflowControlResult>(name, who);
  }
  virtual std::future<Result<WorkflowControlResult>> enableWorkflow(const std::string& name,
                                                                    RequestContext who) {
    return unimplementedControl<WorkflowControlResult>(name, who);
  }
  virtual std::future<Result<store::RunRow>> pauseRun(const std::string& runId,
                                                      RequestContext who) {
    return unimplementedControl<store::RunRow>(runId, who);
  }
  virtual std::future<Result<store::RunRow>> resumeRun(const std::string& runId,
                                                       RequestContext who) {
    return unimplementedControl<store::RunRow>(runId, who);
  }
  // Decides the `approval:` step `step` of a run, on the engine loop, once:
  // approve -> the step succeeds with output {"approved": true, "by",
  // "reason", "at"}; reject -> it is dead with class bad_input, "rejected by
  // ACTOR: REASON". The decision and `who` (actor and reason) land in the
  // timeline; the future resolves once they are durable. Errors:
  // kNotFound (no such run or step), kConflict (decided already: names the
  // first decider and decision; or the step does not wait for approval:
  // names its state). kUnimplemented by default.
  virtual std::future<Result<store::RunRow>> decideApproval(const std::string& runId,
                                                            const std::string& step, bool approve,
                                                            RequestContext who) {
    (void)runId, (void)step, (void)approve, (void)who;
    std::promise<Result<store::RunRow>> p;
    p.set_value(Error(ErrorCode::kUnimplemented, "this keel has no approval steps"));
    return p.get_future();
  }
  // A lifecycle call on an incident (incidents/lifecycle.h), decided on the
  // engine loop; `who` (actor, and its reason as the note) lands in the
  // incident's timeline, and the future resolves with the incident once
  // that is durable. Errors: kNotFound (no such incident or action item),
  // kConflict (not allowed from its state, naming it), kInvalidArgument
  // (a resolve without a root cause or action items, saying what is
  // missing). kUnimplemented by default.
  virtual std::future<Result<incidents::Incident>> incidentAction(IncidentRequest request,
                                                                  RequestContext who) {
    (void)request, (void)who;
    std::promise<Result<incidents::Incident>> p;
    p.set_value(Error(ErrorCode::kUnimplemented, "this keel keeps no incidents"));
    return p.get_future();
  }
  // Where every file trigger stands. Any thread; none by default.
  virtual std::vector<FileTriggerStatus> fileTriggers() const { return {}; }
  // The live output of an attempt, from its step kind's runner, read on
  // the caller's thread (a file read at most, never the engine loop). Any
  // thread. Errors: kUnimplemented (no runner keeps live output of it),
  // kNotFound (its runner knows nothing of it: not started yet, or its
  // end recorded and its live copy gone); none by default.
  virtual Result<LiveLog> liveLog(const LiveLogRequest& request) const {
    (void)request;
    return Error(ErrorCode::kUnimplemented, "this keel has no live step output");
  }

 private:
  static std::future<Result<store::RunRow>> unimplemented() {
    std::promise<Result<store::RunRow>> p;
    p.set_value(Error(ErrorCode::kUnimplemented, "this keel cannot act on single steps"));
    return p.get_future();
  }
  template <typename T>
  static std::future<Result<T>> unimplementedControl(const std::string&, const RequestContext&) {
    std::promise<Result<T>> p;
    p.set_value(Error(ErrorCode::kUnimplemented, "this keel cannot pause or disable"));
    return p.get_future();
  }
};

}  // namespace keel::engine
