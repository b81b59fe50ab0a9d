// Escalation (incidents/escalation.h): a step that automatic recovery has
// not fixed `escalate_after` after its first failed attempt raises an
// incident while its retries go on; each open incident's levels fire on
// timers, each writing one notification per channel (notification
// delivery sends them) with the escalation recorded in the incident's
// timeline, in one batch. Everything is derived from what is stored: the
// step's first failed attempt from the run's events, the levels fired from
// the incident's timeline; so a restart re-arms every timer, fires at once
// what came due while keel was down, and never fires a level twice.
//
// The loop never reads the store: the channels are read by the StoreReader
// when a level comes due, and the level fires when they are back.
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/engine.h"
#include "incidents/escalation.h"
#include "incidents/incident_json.h"
#include "observe/json_log.h"
#include "spec/channel.h"

namespace keel::engine {
namespace {

using incidents::EscalationVerdict;
using incidents::Incident;

// When reading the channels failed, the level is tried again after this.
constexpr auto kChannelReadRetry = std::chrono::seconds(30);

std::chrono::nanoseconds waitUntil(WallTime due, WallTime now) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::max(WallTime::duration(0), due - now));
}

// A short line for a pager or an alert's summary.
std::string titleOf(const Incident& i) {
  std::string what = i.step.empty() ? i.workflow : i.workflow + " step " + i.step;
  std::string title = fmt::format("{} {}: {} ({})", incidents::severityName(i.severity), what,
                                  i.symptom, i.failureClass);
  if (!i.message.empty()) title += ": " + i.message;
  constexpr size_t kLongest = 200;
  if (title.size() > kLongest) title = title.substr(0, kLongest - 3) + "...";
  return title;
}

}  // namespace

incidents::EscalationPolicy Engine::escalationPolicy(const std::string& workflow) {
  incidents::EscalationPolicy policy;
  auto wf = workflows_.latest(workflow);
  if (wf.ok()) {
    const spec::WorkflowSpec& spec = *(*wf)->spec;
    policy.escalateAfter = spec.escalateAfter;
    for (const auto& level : spec.escalation) policy.levels.push_back({level.after, level.notify});
  }
  if (policy.levels.empty()) policy.levels.push_back({policy.escalateAfter, "owner"});
  return policy;
}

// --- a step still failing escalate_after after its first failed attempt ---

void Engine::stepRetrying(RunRt& run, int idx) {
  StepRt& s = run.steps[idx];
  if (!s.firstFailedAt && s.attempt && s.attempt->finishedAt)
    s.firstFailedAt = s.attempt->finishedAt;
  armStepEscalation(run, idx);
}

void Engine::armStepEscalation(RunRt& run, int idx) {
  StepRt& s = run.steps[idx];
  if (!s.firstFailedAt || s.escalationTimer || s.notRecoveredRaised) return;
  if (run.wf->isCompensation(idx) || !raisesIncident(run, idx)) return;
  const WallTime due = *s.firstFailedAt + run.wf->spec->escalateAfter;
  s.escalationTimer =
      loop_.runAt(clock_.monoNow() + waitUntil(due, now()),
                  [this, runId = run.row.id, idx] { onStepEscalationDue(runId, idx); });
}

void Engine::onStepEscalationDue(const std::string& runId, int idx) {
  RunRt* run = findRun(runId);
  if (!run) return;
  StepRt& s = run->steps[idx];
  s.escalationTimer.reset();
  // Recovered (or ended, which raised its own symptom): nothing to say.
  if (isTerminal(run->row.state) || isTerminal(s.row.state) || s.notRecoveredRaised) return;
  s.notRecoveredRaised = true;
  incidentSymptom(*run, idx, incidents::kStepNotRecovered);
}

void Engine::dropStepEscalation(StepRt& s) {
  if (!s.escalationTimer || !isTerminal(s.row.state)) return;
  loop_.cancel(*s.escalationTimer);
  s.escalationTimer.reset();
}

bool Engine::joinedStepIncident(const RunRt& run, const std::string& step) const {
  if (step.empty()) return false;
  for (const auto& [id, incident] : incidents_)
    if (incident.state != incidents::IncidentState::kResolved &&
        incident.symptom == incidents::kStepNotRecovered && incident.step == step &&
        std::find(incident.runs.begin(), incident.runs.end(), run.row.id) != incident.runs.end())
      return true;
  return false;
}

void Engine::collectFirstFailures(RunRt& run, const std::vector<store::EventRow>& events) {
  for (auto& s : run.steps) s.firstFailedAt.reset();
  for (const auto& e : events)
    for (auto& s : run.steps) {
      if (s.row.name != e.step) continue;
      // A manual re-run gives the step a fresh recovery window.
      if (e.kind == kStepRerunEvent) s.firstFailedAt.reset();
      if (e.kind == "attempt_failed" && !s.firstFailedAt) s.firstFailedAt = e.at;
    }
}

void Engine::armStepEscalations(RunRt& run) {
  for (size_t i = 0; i < run.steps.size(); ++i)
    if (!isTerminal(run.steps[i].row.state)) armStepEscalation(run, static_cast<int>(i));
}

// --- the levels of an incident ---

void Engine::escalate(const Incident& incident) {
  auto policy = escalationPolicy(incident.workflow);
  auto d = incidents::decideEscalation(incident, policy, now());
  if (d.verdict == EscalationVerdict::kFire) {
    readChannelsThenFire(incident.id, d.level);
  } else if (d.verdict == EscalationVerdict::kWait) {
    armEscalation(incident.id, d.due);
  }
}

void Engine::armEscalation(const std::string& id, WallTime due) {
  loop_.runAt(clock_.monoNow() + waitUntil(due, now()), [this, id] { onEscalationDue(id); });
}

void Engine::onEscalationDue(const std::string& id) {
  auto it = incidents_.find(id);
  if (it != incidents_.end()) escalate(it->second);
}

void Engine::readChannelsThenFire(const std::string& id, int level) {
  if (!escalationReads_.insert(id).second) return;  // a read for it is on its way
  ++readsInFlight_;
  reader_.post([this, id, level] {
    auto rows = store_.listChannels();
    loop_.post([this, id, level, rows = std::move(rows)]() mutable {
      --readsInFlight_;
      escalationReads_.erase(id);
      fireLevel(id, level, std::move(rows));
    });
  });
}

void Engine::fireLevel(const std::string& id, int level,
                       Result<std::vector<store::ChannelRow>> rows) {
  auto it = incidents_.find(id);
  if (it == incidents_.end()) return;
  Incident& incident = it->second;
  auto policy = escalationPolicy(incident.workflow);
  auto d = incidents::decideEscalation(incident, policy, now());
  if (d.verdict != EscalationVerdict::kFire || d.level != level) {
    // Acknowledged, or fired, meanwhile: decide afresh.
    escalate(incident);
    return;
  }
  std::vector<spec::ChannelSpec> channels;
  if (!rows.ok() && rows.error().code() != ErrorCode::kUnimplemented) {
    observe::logFields(
        spdlog::level::err,
        "incident not escalated yet: the channels cannot be read: " + rows.error().toString(),
        {{"incident", id}, {"level", level}});
    armEscalation(id, now() + kChannelReadRetry);
    return;
  }
  if (rows.ok())
    for (const auto& row : *rows) {
      spec::ParseOptions po;
      po.fileName = "channel " + row.name;
      auto parsed = spec::parseChannel(row.yaml, po);
      if (parsed.ok()) channels.push_back(std::move(*parsed));
    }
  const std::string& notify = policy.levels.at(static_cast<size_t>(level - 1)).notify;
  std::vector<std::string> names;
  std::string unrouted;
  if (notify == incidents::kNotifyOwner) {
    for (const auto& c : spec::channelsFor(channels, incident.ownerTeam)) names.push_back(c.name);
    unrouted = fmt::format("no channel serves team {} (and no default channel)",
                           incident.ownerTeam.empty() ? "(none)" : incident.ownerTeam);
  } else {
    if (spec::channelNamed(channels, notify)) names.push_back(notify);
    unrouted = fmt::format("no channel named {}", notify);
  }
  nlohmann::json payload = incidentPayload(incident, "escalated");
  payload["level"] = level;
  for (const auto& channel : names) {
    payload["channel"] = channel;
    queueNotification(fmt::format("{}.level.{}.{}", id, level, channel), channel, "escalated",
                      payload);
  }
  incidents::recordEscalation(incident, level, notify, names, unrouted, now());
  writeIncident(incident);
  afterCommit([this, workflow = incident.workflow, level] { countEscalation(workflow, level); });
  if (names.empty()) {
    observe::logFields(
        spdlog::level::err,
        fmt::format("incident {} escalation level {} reached nobody: {}", id, level, unrouted),
        {{"incident", id},
         {"level", level},
         {"workflow", incident.workflow},
         {"team", incident.ownerTeam}});
  } else {
    observe::logFields(
        spdlog::level::warn, fmt::format("incident {} escalated (level {})", id, level),
        {{"incident", id}, {"level", level}, {"workflow", incident.workflow}, {"channels", names}});
  }
  escalate(incident);  // the next level, if any
}

void Engine::notifyResolved(const Incident& incident) {
  nlohmann::json payload = incidentPayload(incident, "resolved");
  for (const auto& channel : incidents::escalatedChannels(incident)) {
    payload["channel"] = channel;
    queueNotification(fmt::format("{}.resolved.{}", incident.id, channel), channel, "resolved",
                      payload);
  }
}

nlohmann::json Engine::incidentPayload(const Incident& incident, const char* event) {
  nlohmann::json j = incidents::toJson(incident, true, now());
  j["event"] = event;
  j["title"] = titleOf(incident);
  j["summary"] = j["title"];
  j["opened_at"] = formatRfc3339(incident.firstSeen);
  j["labels"] = {{"incident", incident.id},
                 {"workflow", incident.workflow},
                 {"step", incident.step},
                 {"class", incident.failureClass},
                 {"severity", incidents::severityName(incident.severity)},
                 {"team", incident.ownerTeam}};
  return j;
}

void Engine::queueNotification(std::string id, const std::string& channel, const char* kind,
                               const nlohmann::json& payload) {
  store::NotificationRow row;
  row.id = std::move(id);
  row.channel = channel;
  row.kind = kind;
  row.payloadJson = payload.dump();
  row.nextAt = now();
  row.createdAt = now();
  row.updatedAt = now();
  pending_.mutations.emplace_back(store::PutNotification{std::move(row)});
  afterCommit([this] {
    if (options_.onNotificationsWritten) options_.onNotificationsWritten();
  });
}

}  // namespace keel::engine
