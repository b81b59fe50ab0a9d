// Incidents opened by keel itself (incidents/): a symptom (a run that failed
// for good, a step gone dead, a failed compensation) opens or joins an
// incident in the batch that records the symptom, decided on the loop from
// the index loaded at start; lifecycle calls are decided here too and
// answered once durable.
#include <algorithm>
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/engine.h"
#include "incidents/escalation.h"
#include "incidents/fingerprint.h"
#include "observe/json_log.h"
#include "observe/trace_context.h"

namespace keel::engine {
namespace {

using incidents::Incident;
using incidents::IncidentState;

bool isUnresolved(const Incident& i) { return i.state != IncidentState::kResolved; }

// The audit action of each caller's incident action (docs/audit.md).
const char* incidentAuditAction(IncidentAction action) {
  switch (action) {
    case IncidentAction::kAcknowledge:
      return "incident.ack";
    case IncidentAction::kMitigate:
      return "incident.mitigate";
    case IncidentAction::kResolve:
      return "incident.resolve";
    case IncidentAction::kWorkaround:
      return "incident.workaround";
    case IncidentAction::kActionDone:
      return "incident.action_done";
  }
  return "incident.unknown";
}

}  // namespace

Status Engine::loadIncidents() {
  store::IncidentFilter all;
  all.limit = 1'000'000;
  auto rows = store_.listIncidents(all);
  if (!rows.ok()) {
    if (rows.error().code() == ErrorCode::kUnimplemented) return okStatus();
    return rows.error();
  }
  incidents_.clear();
  incidentsByFingerprint_.clear();
  // Newest first from the store: the index keeps each fingerprint's oldest first.
  for (auto it = rows->rbegin(); it != rows->rend(); ++it) {
    int number = 0;
    if (std::sscanf(it->id.c_str(), "inc-%d", &number) == 1)
      lastIncidentNumber_ = std::max(lastIncidentNumber_, number);
    incidentsByFingerprint_[it->fingerprint].push_back(it->id);
    std::string id = it->id;
    incidents_[id] = std::move(*it);
  }
  for (const auto& [id, incident] : incidents_) {
    armWorkaround(incident);
    // Checked once the loop runs: a level due while keel was down fires then.
    if (incident.state == IncidentState::kOpen) armEscalation(id, now());
  }
  refreshIncidentMetrics();
  return okStatus();
}

bool Engine::raisesIncident(const RunRt& run, int idx) {
  const StepRt& s = run.steps[idx];
  if (s.attempt && s.attempt->failureClass == FailureClass::kCancelled) return false;
  return run.wf->step(idx).kind != spec::StepKind::kApproval;
}

void Engine::writeIncident(const Incident& incident) {
  pending_.mutations.emplace_back(store::PutIncident{incident});
}

std::vector<std::string> Engine::workflowsAfter(const std::string& workflow) {
  std::vector<std::string> out;
  for (const auto& other : workflows_.allLatest())
    for (const auto& t : other->spec->triggers)
      if (t.kind == spec::TriggerSpec::Kind::kAfter && t.afterWorkflow == workflow &&
          std::find(out.begin(), out.end(), other->spec->name) == out.end())
        out.push_back(other->spec->name);
  return out;
}

void Engine::incidentSymptom(RunRt& run, int idx, const char* kind) {
  const spec::WorkflowSpec& wf = *run.wf->spec;
  incidents::Symptom s;
  s.kind = kind;
  s.runId = run.row.id;
  s.workflow = run.row.workflow;
  s.severity = wf.severity;
  s.ownerTeam = wf.owner.team;
  s.ownerContact = wf.owner.contact;
  s.runbook = wf.runbook;
  if (idx >= 0) {
    const StepRt& step = run.steps[idx];
    s.step = step.row.name;
    // Still retrying: the attempt's own error, not the retry's plan.
    s.message = s.kind == incidents::kStepNotRecovered && step.attempt ? step.attempt->message
                                                                       : step.row.reason;
    nlohmann::json attempts = nlohmann::json::array();
    if (step.attempt) {
      const store::AttemptRow& a = *step.attempt;
      s.failureClass = std::string(toString(a.failureClass));
      nlohmann::json j{{"n", a.n},
                       {"of", step.row.attempts},
                       {"class", toString(a.failureClass)},
                       {"message", a.message},
                       {"started_at", formatRfc3339(a.startedAt)}};
      if (a.exitCode) j["exit_code"] = *a.exitCode;
      if (a.finishedAt) j["finished_at"] = formatRfc3339(*a.finishedAt);
      attempts.push_back(std::move(j));
    }
    s.attemptsJson = attempts.dump();
    // The logs of the last attempt are in the batch being built (queued by
    // the same turn that ended the attempt): the loop reads no store.
    for (auto it = pending_.mutations.rbegin(); it != pending_.mutations.rend(); ++it) {
      const auto* log = std::get_if<store::PutLog>(&*it);
      if (!log || log->row.runId != run.row.id || log->row.step != step.row.name) continue;
      s.logsTail = incidents::lastLines(log->row.joinedText());
      break;
    }
  } else {
    s.message = run.row.reason;
  }
  if (s.failureClass.empty()) s.failureClass = std::string(toString(FailureClass::kError));
  s.downstream = workflowsAfter(run.row.workflow);

  // This step's failure in this run already called a person: its end is
  // the same incident.
  if (joinedStepIncident(run, s.step)) return;
  auto fp = incidents::fingerprintOf(s.workflow, s.step, s.failureClass, s.message);
  auto& ids = incidentsByFingerprint_[fp.hash];
  std::vector<const Incident*> same;
  for (const auto& id : ids) same.push_back(&incidents_.at(id));
  auto decision = incidents::decideSymptom(same, s.runId);
  if (decision.kind == incidents::SymptomDecision::Kind::kAlreadyJoined) return;
  Incident* touched = nullptr;
  if (decision.kind == incidents::SymptomDecision::Kind::kJoin) {
    touched = &incidents_.at(decision.join->id);
    incidents::joinIncident(*touched, s, now());
  } else {
    std::string id = fmt::format("inc-{:06d}", ++lastIncidentNumber_);
    Incident opened = incidents::openIncident(s, id, fp.hash, fp.normalized, same, now());
    ids.push_back(id);
    touched = &(incidents_[id] = std::move(opened));
  }
  writeIncident(*touched);
  // A new incident arms its levels; a joined one has its timer already
  // (armed when it opened, or by loadIncidents).
  if (touched->count == 1) escalate(*touched);
  event(run, touched->count == 1 ? "incident_opened" : "incident_joined", s.step, 0,
        fmt::format("{} {} ({}{})", touched->id, incidents::severityName(touched->severity),
                    touched->recurring ? "recurring" : "new",
                    touched->fixIneffective ? ", fix ineffective" : ""));
  observe::logFields(
      spdlog::level::warn,
      fmt::format("incident {} {}", touched->id, touched->count == 1 ? "opened" : "joined"),
      {{"incident", touched->id},
       {"run_id", run.row.id},
       {"trace_id", observe::runTraceId(run.row.traceId, run.row.id)},
       {"workflow", run.row.workflow},
       {"step", s.step},
       {"count", touched->count},
       {"recurring", touched->recurring}});
}

void Engine::incidentRecovered(RunRt& run) {
  for (auto& [id, incident] : incidents_) {
    if (incident.state != IncidentState::kOpen && incident.state != IncidentState::kAcknowledged)
      continue;
    if (std::find(incident.runs.begin(), incident.runs.end(), run.row.id) == incident.runs.end())
      continue;
    if (!incidents::mitigate(incident, "", fmt::format("run {} recovered", run.row.id), now()).ok())
      continue;
    writeIncident(incident);
    auditKeel("incident.mitigate", incident, fmt::format("run {} recovered", run.row.id));
    event(run, "incident_mitigated", {}, 0, fmt::format("{} mitigated: the run recovered", id));
  }
}

std::future<Result<Incident>> Engine::incidentAction(IncidentRequest request, RequestContext who) {
  return onLoopIfHealthy<Result<Incident>>(
      [this, request = std::move(request), who = std::move(who)](auto reply) mutable {
        onIncidentAction(std::move(request), std::move(who), reply);
      });
}

void Engine::onIncidentAction(IncidentRequest request, RequestContext who,
                              std::shared_ptr<std::promise<Result<Incident>>> reply) {
  auto it = incidents_.find(request.id);
  if (it == incidents_.end()) {
    reply->set_value(Error(ErrorCode::kNotFound, fmt::format("no incident {}", request.id)));
    return;
  }
  Incident& incident = it->second;
  const std::string actor = who.actor();
  const std::string& note = who.reason;
  Status done = okStatus();
  switch (request.action) {
    case IncidentAction::kAcknowledge:
      done = incidents::acknowledge(incident, actor, note, now());
      break;
    case IncidentAction::kMitigate:
      done = incidents::mitigate(incident, actor, note, now());
      break;
    case IncidentAction::kResolve:
      done = incidents::resolve(incident, request.resolve, actor, note, now());
      break;
    case IncidentAction::kWorkaround:
      if (!request.expires) {
        done = Error(ErrorCode::kInvalidArgument, "workaround: expires is required");
        break;
      }
      done = incidents::recordWorkaround(incident, request.workaround, *request.expires, actor,
                                         note, now());
      if (done.ok()) armWorkaround(incident);
      break;
    case IncidentAction::kActionDone:
      done = incidents::markActionDone(incident, request.actionItem, actor, note, now());
      break;
  }
  if (!done.ok()) {
    reply->set_value(done.error());
    return;
  }
  if (request.action == IncidentAction::kResolve) notifyResolved(incident);
  // The entry rides in the batch of the change: both are durable, or neither.
  nlohmann::json detail = {{"incident", incident.id},
                           {"workflow", incident.workflow},
                           {"state", incidents::toString(incident.state)}};
  if (request.action == IncidentAction::kActionDone) detail["action_item"] = request.actionItem;
  if (request.action == IncidentAction::kWorkaround && request.expires)
    detail["expires"] = formatRfc3339(*request.expires);
  audit(who, incidentAuditAction(request.action), incident.id, std::move(detail));
  writeIncident(incident);
  afterCommit([reply, copy = incident] { reply->set_value(copy); });
}

void Engine::armWorkaround(const Incident& incident) {
  if (!incident.workaroundExpires || !isUnresolved(incident)) return;
  auto wait = std::max(WallTime::duration(0), *incident.workaroundExpires - now());
  loop_.runAt(clock_.monoNow() + std::chrono::duration_cast<std::chrono::nanoseconds>(wait),
              [this, id = incident.id] { onWorkaroundDue(id); });
}

void Engine::onWorkaroundDue(const std::string& id) {
  auto it = incidents_.find(id);
  if (it == incidents_.end()) return;
  Incident& incident = it->second;
  if (!incidents::workaroundLapsed(incident, now())) {
    // A newer workaround moved the expiry later: its own timer handles it.
    return;
  }
  incidents::reopenForLapsedWorkaround(incident, now());
  writeIncident(incident);
  auditKeel("incident.reopen", incident, "its workaround expired without a structural fix");
  escalate(incident);
  observe::logFields(spdlog::level::warn,
                     "incident reopened: its workaround expired without a structural fix",
                     {{"incident", id}});
}

}  // namespace keel::engine
