// incidentStats: how often things break and how long they take to fix, over
// a window: the count of incidents and the mean time to resolve (MTTR: from
// first seen to resolved, over the resolved ones) by workflow and by failure
// class, and the fingerprints that came back most often. Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "incidents/incident.h"

namespace keel::incidents {

struct StatsRow {
  std::string key;  // a workflow, or a failure class
  int64_t count = 0;
  int64_t resolved = 0;
  // Mean of resolvedAt - firstSeen over the resolved ones; none when none is.
  std::optional<WallTime::duration> mttr;
};

struct RecurringFingerprint {
  std::string fingerprint;
  std::string normalized;  // the text the fingerprint hashes
  std::string workflow;
  std::string step;
  int64_t incidents = 0;  // incidents with this fingerprint in the window
};

struct IncidentStats {
  int64_t total = 0;
  std::vector<StatsRow> byWorkflow;  // most incidents first, then by name
  std::vector<StatsRow> byClass;
  // Fingerprints with two incidents or more in the window, most first; at
  // most `topN`.
  std::vector<RecurringFingerprint> recurring;
};

// The incidents first seen at or after `since`.
IncidentStats incidentStats(const std::vector<Incident>& all, WallTime since, int topN = 10);

}  // namespace keel::incidents
