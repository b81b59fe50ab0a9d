// Escalation: when an incident calls a person, and who next.
//
// A policy is the workflow's `escalate_after:` and `escalation:` levels.
// Each level fires once, in order, at the incident's escalation base plus
// its `after`, and only while the incident is still open (not yet
// acknowledged, mitigated or resolved). The base is the step's first failed
// attempt for a step that automatic recovery has not fixed (symptom
// step_not_recovered, opened escalate_after after that attempt); for every
// other symptom recovery is over already (the run failed for good, a step
// went dead): level 1 is due at once and the base is the incident's opening.
//
// Which levels fired is kept in the incident's own timeline (an entry
// "escalated" per channel notified, or one saying why nobody could be),
// so it survives restarts with the incident and a level never fires twice.
// Pure decision code: no clock, no I/O; the engine arms the timers.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "incidents/incident.h"

namespace keel::incidents {

// The symptom of a step still failing escalate_after after its first
// failed attempt, while its retries go on.
inline constexpr const char* kStepNotRecovered = "step_not_recovered";
// The timeline entry of a level that fired.
inline constexpr const char* kEscalatedEntry = "escalated";
// A level's `notify` meaning the channels serving the owner team.
inline constexpr const char* kNotifyOwner = "owner";

struct EscalationLevel {
  Millis after{0};
  std::string notify = kNotifyOwner;
};

struct EscalationPolicy {
  Millis escalateAfter{3 * 60 * 1000};
  std::vector<EscalationLevel> levels;  // by increasing `after`; never empty
};

enum class EscalationVerdict {
  kFire,     // `level` is due now
  kWait,     // `level` is due at `due`
  kStopped,  // the incident is no longer open: no level fires any more
  kDone,     // every level fired
};

struct EscalationDecision {
  EscalationVerdict verdict = EscalationVerdict::kDone;
  int level = 0;  // 1-based
  WallTime due{};
};

// When the incident's escalation clock started (see above).
WallTime escalationBase(const Incident& incident, const EscalationPolicy& policy);
// When level `level` (1-based) is due.
WallTime levelDue(const Incident& incident, const EscalationPolicy& policy, int level);
// The next level of `incident` to fire, and when.
EscalationDecision decideEscalation(const Incident& incident, const EscalationPolicy& policy,
                                    WallTime now);
// The levels that fired, from the timeline.
std::set<int> firedLevels(const Incident& incident);
// The channels an escalation reached (in the order first reached): those
// that get the resolution too.
std::vector<std::string> escalatedChannels(const Incident& incident);
// Records that `level` fired: one entry per channel notified, or, with no
// channel, one entry saying `unrouted` (why nobody could be notified).
void recordEscalation(Incident& incident, int level, const std::string& notify,
                      const std::vector<std::string>& channels, const std::string& unrouted,
                      WallTime now);

}  // namespace keel::incidents
