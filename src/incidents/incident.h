// Incident: what a person must look at, as keel records it.
//
// An incident groups the symptoms (a run that failed for good, a step that
// went dead, a failed compensation) that share a fingerprint while it is
// not resolved. It carries what the person on call needs without looking
// anything up: severity, owner, runbook, the first failing step with the
// tail of its logs, the affected runs, the workflows downstream, and for a
// recurrence the root causes and action items of the earlier incidents.
// Plain data; the rules that change it are in lifecycle.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace keel::incidents {

enum class IncidentState { kOpen, kAcknowledged, kMitigated, kResolved };
std::string_view toString(IncidentState s);
std::optional<IncidentState> parseIncidentState(std::string_view s);

// SEV1 is the highest; a workflow without `severity:` is SEV3.
inline constexpr int kDefaultSeverity = 3;
inline constexpr int kLowestSeverity = 4;
std::string severityName(int severity);                // "SEV3"
std::optional<int> parseSeverity(std::string_view s);  // "SEV1".."SEV4", case-insensitive

struct ActionItem {
  int n = 0;  // 1-based, in the order they were given
  std::string text;
  std::string owner;
  std::string due;  // YYYY-MM-DD
  std::optional<WallTime> doneAt;
  std::string doneBy;

  bool operator==(const ActionItem&) const = default;
};

// One line of an incident's timeline: a transition (from -> to), a join,
// a workaround, an action item done, or a note.
struct TimelineEntry {
  int n = 0;  // 1-based, per incident
  WallTime at;
  std::string kind;  // opened, joined, acknowledged, mitigated, resolved, reopened, ...
  std::string from;  // the state before, for a transition; else empty
  std::string to;
  std::string actor;  // empty: keel itself
  std::string note;

  bool operator==(const TimelineEntry&) const = default;
};

// What an earlier incident with the same fingerprint concluded, carried by
// a recurrence so that the second time never looks like the first.
struct PreviousIncident {
  std::string id;
  std::string rootCause;
  std::string noActionReason;
  std::vector<ActionItem> actionItems;
  std::optional<WallTime> resolvedAt;

  bool operator==(const PreviousIncident&) const = default;
};

struct Incident {
  std::string id;  // "inc-000001"
  std::string fingerprint;
  std::string normalized;
  IncidentState state = IncidentState::kOpen;
  int severity = kDefaultSeverity;
  bool recurring = false;
  bool fixIneffective = false;  // it came back after every action item was done
  std::vector<PreviousIncident> previous;
  std::string workflow;
  std::string step;  // the first failing step; empty for a run-level symptom
  std::string failureClass;
  std::string message;  // the first symptom's message, as it was
  std::string symptom;  // run_failed | step_dead | compensation_failed
  std::string ownerTeam;
  std::string ownerContact;
  std::string runbook;
  int64_t count = 0;  // symptoms joined (one per affected run)
  WallTime firstSeen;
  WallTime lastSeen;
  std::string firstRun;
  std::string logsTail;                 // the last kLogLines lines of the first failing step
  std::string attemptsJson = "[]";      // that step's attempts [{n, class, message, exit_code}]
  std::vector<std::string> downstream;  // workflows whose after: triggers name this one
  std::vector<std::string> runs;        // affected runs, in the order they joined
  std::string rootCause;
  std::string noActionReason;
  std::vector<ActionItem> actionItems;
  std::string workaround;
  std::optional<WallTime> workaroundExpires;
  std::optional<WallTime> resolvedAt;
  std::vector<TimelineEntry> timeline;

  bool operator==(const Incident&) const = default;
};

inline constexpr int kLogLines = 50;
// The last `lines` lines of `text`.
std::string lastLines(std::string_view text, int lines = kLogLines);

}  // namespace keel::incidents
