#include "incidents/escalation.h"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "incidents/lifecycle.h"

namespace keel::incidents {
namespace {

// The level an "escalated" entry records ("level N: ..."); 0 if none.
int levelOf(const TimelineEntry& e) {
  int level = 0;
  if (e.kind != kEscalatedEntry || std::sscanf(e.note.c_str(), "level %d", &level) != 1) return 0;
  return level;
}

}  // namespace

WallTime escalationBase(const Incident& incident, const EscalationPolicy& policy) {
  // Opened escalate_after after the step's first failed attempt: the
  // levels count from that attempt, not from the opening.
  if (incident.symptom == kStepNotRecovered) return incident.firstSeen - policy.escalateAfter;
  return incident.firstSeen;
}

WallTime levelDue(const Incident& incident, const EscalationPolicy& policy, int level) {
  const WallTime base = escalationBase(incident, policy);
  WallTime due = base + policy.levels.at(static_cast<size_t>(level - 1)).after;
  // Recovery is over (a run failed for good, a step went dead): the first
  // level does not wait.
  if (level == 1 && incident.symptom != kStepNotRecovered) due = incident.firstSeen;
  return due;
}

EscalationDecision decideEscalation(const Incident& incident, const EscalationPolicy& policy,
                                    WallTime now) {
  EscalationDecision d;
  const std::set<int> fired = firedLevels(incident);
  const int levels = static_cast<int>(policy.levels.size());
  int next = 1;
  while (next <= levels && fired.count(next)) ++next;
  if (next > levels) return d;  // kDone
  if (incident.state != IncidentState::kOpen) {
    d.verdict = EscalationVerdict::kStopped;
    return d;
  }
  d.level = next;
  d.due = levelDue(incident, policy, next);
  d.verdict = d.due <= now ? EscalationVerdict::kFire : EscalationVerdict::kWait;
  return d;
}

std::set<int> firedLevels(const Incident& incident) {
  std::set<int> out;
  for (const auto& e : incident.timeline)
    if (int level = levelOf(e); level > 0) out.insert(level);
  return out;
}

std::vector<std::string> escalatedChannels(const Incident& incident) {
  std::vector<std::string> out;
  for (const auto& e : incident.timeline)
    if (levelOf(e) > 0 && !e.to.empty() && std::find(out.begin(), out.end(), e.to) == out.end())
      out.push_back(e.to);
  return out;
}

void recordEscalation(Incident& incident, int level, const std::string& notify,
                      const std::vector<std::string>& channels, const std::string& unrouted,
                      WallTime now) {
  const std::string who = notify == kNotifyOwner ? fmt::format("owner team {}", incident.ownerTeam)
                                                 : fmt::format("channel {}", notify);
  if (channels.empty()) {
    addEntry(incident, kEscalatedEntry, "", "", "",
             fmt::format("level {}: {}: NOT NOTIFIED, {}", level, who, unrouted), now);
    return;
  }
  for (const auto& channel : channels)
    addEntry(incident, kEscalatedEntry, "", channel, "",
             fmt::format("level {}: {} notified through channel {}", level, who, channel), now);
}

}  // namespace keel::incidents
