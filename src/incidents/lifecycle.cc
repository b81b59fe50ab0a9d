#include "incidents/lifecycle.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

namespace keel::incidents {
namespace {

Status notFrom(const Incident& incident, std::string_view action) {
  return Error(ErrorCode::kConflict, fmt::format("incident {} is {}: it cannot be {}", incident.id,
                                                 toString(incident.state), action));
}

void transition(Incident& incident, IncidentState to, std::string kind, const std::string& actor,
                const std::string& note, WallTime now) {
  std::string from(toString(incident.state));
  incident.state = to;
  addEntry(incident, std::move(kind), std::move(from), std::string(toString(to)), actor, note, now);
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
int64_t daysFromCivil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

void addEntry(Incident& incident, std::string kind, std::string from, std::string to,
              std::string actor, std::string note, WallTime now) {
  TimelineEntry e;
  e.n = static_cast<int>(incident.timeline.size()) + 1;
  e.at = now;
  e.kind = std::move(kind);
  e.from = std::move(from);
  e.to = std::move(to);
  e.actor = std::move(actor);
  e.note = std::move(note);
  incident.timeline.push_back(std::move(e));
}

SymptomDecision decideSymptom(const std::vector<const Incident*>& sameFingerprint,
                              const std::string& runId) {
  for (const Incident* i : sameFingerprint) {
    if (i->state == IncidentState::kResolved) continue;
    bool joined = std::find(i->runs.begin(), i->runs.end(), runId) != i->runs.end();
    return {joined ? SymptomDecision::Kind::kAlreadyJoined : SymptomDecision::Kind::kJoin, i};
  }
  return {};
}

int raiseSeverity(int severity) { return std::max(1, severity - 1); }

bool anyDone(const std::vector<ActionItem>& items) {
  return std::any_of(items.begin(), items.end(),
                     [](const auto& a) { return a.doneAt.has_value(); });
}

bool allDone(const std::vector<ActionItem>& items) {
  return !items.empty() && std::all_of(items.begin(), items.end(),
                                       [](const auto& a) { return a.doneAt.has_value(); });
}

namespace {
// "KIND in run RUN", or "KIND" for a symptom without a run.
std::string symptomNote(const Symptom& symptom) {
  if (symptom.runId.empty()) return symptom.kind;
  return fmt::format("{} in run {}", symptom.kind, symptom.runId);
}
}  // namespace

Incident openIncident(const Symptom& symptom, const std::string& id, const std::string& hash,
                      const std::string& normalized, const std::vector<const Incident*>& earlier,
                      WallTime now) {
  Incident i;
  i.id = id;
  i.fingerprint = hash;
  i.normalized = normalized;
  i.severity = symptom.severity;
  i.workflow = symptom.workflow;
  i.step = symptom.step;
  i.failureClass = symptom.failureClass;
  i.message = symptom.message;
  i.symptom = symptom.kind;
  i.ownerTeam = symptom.ownerTeam;
  i.ownerContact = symptom.ownerContact;
  i.runbook = symptom.runbook;
  i.count = 1;
  i.firstSeen = i.lastSeen = now;
  i.firstRun = symptom.runId;
  if (!symptom.runId.empty()) i.runs = {symptom.runId};
  i.logsTail = symptom.logsTail;
  i.attemptsJson = symptom.attemptsJson;
  i.downstream = symptom.downstream;
  std::string note = symptomNote(symptom);
  for (const Incident* e : earlier) {
    if (e->state != IncidentState::kResolved) continue;
    i.recurring = true;
    i.previous.push_back({e->id, e->rootCause, e->noActionReason, e->actionItems, e->resolvedAt});
  }
  if (i.recurring) {
    const PreviousIncident& last = i.previous.back();
    note += fmt::format("; recurring: {} was resolved before", last.id);
    if (allDone(last.actionItems)) {
      i.fixIneffective = true;
      i.severity = raiseSeverity(i.severity);
      note += fmt::format(" and every action item of it is done: fix ineffective, raised to {}",
                          severityName(i.severity));
    }
  }
  addEntry(i, "opened", "", "open", "", note, now);
  return i;
}

void joinIncident(Incident& incident, const Symptom& symptom, WallTime now) {
  ++incident.count;
  incident.lastSeen = now;
  if (!symptom.runId.empty() &&
      std::find(incident.runs.begin(), incident.runs.end(), symptom.runId) == incident.runs.end())
    incident.runs.push_back(symptom.runId);
  addEntry(incident, "joined", "", "", "", symptomNote(symptom), now);
}

bool isDate(const std::string& due) {
  if (due.size() != 10 || due[4] != '-' || due[7] != '-') return false;
  for (size_t k : {0, 1, 2, 3, 5, 6, 8, 9})
    if (due[k] < '0' || due[k] > '9') return false;
  int y = std::stoi(due.substr(0, 4));
  unsigned m = static_cast<unsigned>(std::stoi(due.substr(5, 2)));
  unsigned d = static_cast<unsigned>(std::stoi(due.substr(8, 2)));
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
  return ymd.ok();
}

Status checkResolve(const ResolveRequest& r) {
  if (r.rootCause.empty())
    return Error(ErrorCode::kInvalidArgument,
                 "root_cause is required: say what caused the failure before resolving");
  if (r.actionItems.empty() && r.noActionReason.empty())
    return Error(ErrorCode::kInvalidArgument,
                 "at least one action item {text, owner, due} or a no_action_reason is required: "
                 "every incident ends in a change, or a written reason why none is needed");
  if (!r.actionItems.empty() && !r.noActionReason.empty())
    return Error(ErrorCode::kInvalidArgument,
                 "give either action items or a no_action_reason, not both");
  for (size_t k = 0; k < r.actionItems.size(); ++k) {
    const ActionItem& a = r.actionItems[k];
    std::string where = fmt::format("action item {}", k + 1);
    if (a.text.empty()) return Error(ErrorCode::kInvalidArgument, where + ": text is required");
    if (a.owner.empty()) return Error(ErrorCode::kInvalidArgument, where + ": owner is required");
    if (!isDate(a.due))
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("{}: due \"{}\" is not a date YYYY-MM-DD", where, a.due));
  }
  return okStatus();
}

Status acknowledge(Incident& incident, const std::string& actor, const std::string& note,
                   WallTime now) {
  if (incident.state != IncidentState::kOpen) return notFrom(incident, "acknowledged");
  transition(incident, IncidentState::kAcknowledged, "acknowledged", actor, note, now);
  return okStatus();
}

Status mitigate(Incident& incident, const std::string& actor, const std::string& note,
                WallTime now) {
  if (incident.state != IncidentState::kOpen && incident.state != IncidentState::kAcknowledged)
    return notFrom(incident, "mitigated");
  transition(incident, IncidentState::kMitigated, "mitigated", actor, note, now);
  return okStatus();
}

Status resolve(Incident& incident, const ResolveRequest& request, const std::string& actor,
               const std::string& note, WallTime now) {
  if (incident.state == IncidentState::kResolved) return notFrom(incident, "resolved");
  KEEL_TRY(checkResolve(request));
  incident.rootCause = request.rootCause;
  incident.noActionReason = request.noActionReason;
  for (const ActionItem& a : request.actionItems) {
    ActionItem item = a;
    item.n = static_cast<int>(incident.actionItems.size()) + 1;
    incident.actionItems.push_back(std::move(item));
  }
  incident.resolvedAt = now;
  std::string text = "root cause: " + request.rootCause;
  if (!note.empty()) text += "; " + note;
  transition(incident, IncidentState::kResolved, "resolved", actor, text, now);
  return okStatus();
}

Status recordWorkaround(Incident& incident, const std::string& text, WallTime expires,
                        const std::string& actor, const std::string& note, WallTime now) {
  if (incident.state == IncidentState::kResolved) return notFrom(incident, "given a workaround");
  if (text.empty()) return Error(ErrorCode::kInvalidArgument, "workaround: text is required");
  if (expires <= now)
    return Error(ErrorCode::kInvalidArgument, "workaround: expires must be in the future");
  incident.workaround = text;
  incident.workaroundExpires = expires;
  std::string line = fmt::format("workaround until {}: {}", formatRfc3339(expires), text);
  if (!note.empty()) line += "; " + note;
  addEntry(incident, "workaround", "", "", actor, line, now);
  return okStatus();
}

Status markActionDone(Incident& incident, int n, const std::string& actor, const std::string& note,
                      WallTime now) {
  auto it = std::find_if(incident.actionItems.begin(), incident.actionItems.end(),
                         [n](const ActionItem& a) { return a.n == n; });
  if (it == incident.actionItems.end())
    return Error(ErrorCode::kNotFound,
                 fmt::format("incident {} has no action item {}", incident.id, n));
  if (it->doneAt)
    return Error(ErrorCode::kConflict,
                 fmt::format("action item {} of {} is done already (by {})", n, incident.id,
                             it->doneBy.empty() ? "keel" : it->doneBy));
  it->doneAt = now;
  it->doneBy = actor;
  std::string line = fmt::format("action item {} done: {}", n, it->text);
  if (!note.empty()) line += "; " + note;
  addEntry(incident, "action_done", "", "", actor, line, now);
  return okStatus();
}

bool workaroundLapsed(const Incident& incident, WallTime now) {
  return incident.workaroundExpires && *incident.workaroundExpires <= now &&
         !anyDone(incident.actionItems) &&
         (incident.state == IncidentState::kAcknowledged ||
          incident.state == IncidentState::kMitigated);
}

void reopenForLapsedWorkaround(Incident& incident, WallTime now) {
  std::string note = fmt::format("workaround expired at {} without a structural fix: {}",
                                 formatRfc3339(*incident.workaroundExpires), incident.workaround);
  incident.workaroundExpires.reset();
  transition(incident, IncidentState::kOpen, "reopened", "", note, now);
}

std::optional<WallTime> overdueFrom(const ActionItem& item) {
  if (item.doneAt || !isDate(item.due)) return std::nullopt;
  int y = std::stoi(item.due.substr(0, 4));
  unsigned m = static_cast<unsigned>(std::stoi(item.due.substr(5, 2)));
  unsigned d = static_cast<unsigned>(std::stoi(item.due.substr(8, 2)));
  // Overdue from the start of the day after the due date (UTC).
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::hours(24) *
                                                                 (daysFromCivil(y, m, d) + 1)));
}

bool isOverdue(const ActionItem& item, WallTime now) {
  auto from = overdueFrom(item);
  return from && now >= *from;
}

}  // namespace keel::incidents
