// The rules of an incident's life, as pure functions of the incident, the
// caller and `now`: which symptom joins which incident, what a recurrence
// carries, which transitions are allowed and what resolving requires.
//
// States: open -> acknowledged -> mitigated -> resolved. Acknowledge from
// open; mitigate from open or acknowledged (keel does it by itself when an
// affected run recovers); resolve from any state but resolved, with a root
// cause and at least one action item or a reason why none is needed. An
// expired workaround without a structural fix (no action item done) puts a
// mitigated or acknowledged incident back to open. A resolved incident is
// never reopened: its fingerprint coming back opens a new, recurring one.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "incidents/incident.h"

namespace keel::incidents {

// A user-facing failure, as the engine saw it.
struct Symptom {
  std::string kind;  // run_failed | step_dead | compensation_failed
  std::string runId;
  std::string workflow;
  std::string step;
  std::string failureClass;
  std::string message;
  int severity = kDefaultSeverity;  // the workflow's
  std::string ownerTeam;
  std::string ownerContact;
  std::string runbook;
  std::string logsTail;
  std::string attemptsJson = "[]";
  std::vector<std::string> downstream;
};

// What to do with a symptom, given the incidents that share its
// fingerprint (any state, oldest first).
struct SymptomDecision {
  enum class Kind { kJoin, kAlreadyJoined, kOpen } kind = Kind::kOpen;
  const Incident* join = nullptr;  // kJoin, kAlreadyJoined: the open incident
};
SymptomDecision decideSymptom(const std::vector<const Incident*>& sameFingerprint,
                              const std::string& runId);

// A new incident for `symptom`; `earlier` are the resolved incidents with
// its fingerprint (oldest first): when there are some, it is recurring,
// carries their conclusions, and is one severity higher (fixIneffective)
// if every action item of the latest one was done. A symptom without a run
// (an SLO miss: runId empty) opens an incident with no runs.
Incident openIncident(const Symptom& symptom, const std::string& id, const std::string& hash,
                      const std::string& normalized, const std::vector<const Incident*>& earlier,
                      WallTime now);
// The symptom joins the open incident; its run, when it has one, is added
// to the incident's runs unless it is there already.
void joinIncident(Incident& incident, const Symptom& symptom, WallTime now);

// One severity higher (SEV1 stays SEV1).
int raiseSeverity(int severity);

struct ResolveRequest {
  std::string rootCause;
  std::vector<ActionItem> actionItems;  // text, owner, due
  std::string noActionReason;
};
// kInvalidArgument saying what is missing or wrong; ok when it may resolve.
Status checkResolve(const ResolveRequest& request);
// Whether `due` is a real date written YYYY-MM-DD.
bool isDate(const std::string& due);

// Lifecycle calls: kConflict (saying the current state) when not allowed
// from the current state. Each appends a timeline entry with actor and note.
Status acknowledge(Incident& incident, const std::string& actor, const std::string& note,
                   WallTime now);
Status mitigate(Incident& incident, const std::string& actor, const std::string& note,
                WallTime now);
Status resolve(Incident& incident, const ResolveRequest& request, const std::string& actor,
               const std::string& note, WallTime now);
Status recordWorkaround(Incident& incident, const std::string& text, WallTime expires,
                        const std::string& actor, const std::string& note, WallTime now);
// kNotFound when there is no item `n`; kConflict when it is done already.
Status markActionDone(Incident& incident, int n, const std::string& actor, const std::string& note,
                      WallTime now);

// An expired workaround with no action item done, on an incident that is
// acknowledged or mitigated: it must be reopened.
bool workaroundLapsed(const Incident& incident, WallTime now);
// Puts it back to open (call when workaroundLapsed).
void reopenForLapsedWorkaround(Incident& incident, WallTime now);

// Due date passed (the whole due day is allowed) and not done.
bool isOverdue(const ActionItem& item, WallTime now);
// When the item becomes overdue (the start of the day after its due date,
// UTC); nothing for an item done or without a valid due date.
std::optional<WallTime> overdueFrom(const ActionItem& item);
bool anyDone(const std::vector<ActionItem>& items);
bool allDone(const std::vector<ActionItem>& items);

void addEntry(Incident& incident, std::string kind, std::string from, std::string to,
              std::string actor, std::string note, WallTime now);

}  // namespace keel::incidents
