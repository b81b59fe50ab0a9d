#include "incidents/stats.h"

#include <algorithm>
#include <map>

namespace keel::incidents {
namespace {

struct Sums {
  int64_t count = 0;
  int64_t resolved = 0;
  WallTime::duration total{0};
};

void add(Sums& s, const Incident& i) {
  ++s.count;
  if (i.state == IncidentState::kResolved && i.resolvedAt) {
    ++s.resolved;
    s.total += std::max(WallTime::duration::zero(), *i.resolvedAt - i.firstSeen);
  }
}

std::vector<StatsRow> rows(const std::map<std::string, Sums>& sums) {
  std::vector<StatsRow> out;
  for (const auto& [key, s] : sums) {
    StatsRow r{key, s.count, s.resolved, std::nullopt};
    if (s.resolved > 0) r.mttr = s.total / s.resolved;
    out.push_back(std::move(r));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const StatsRow& a, const StatsRow& b) { return a.count > b.count; });
  return out;
}

}  // namespace

IncidentStats incidentStats(const std::vector<Incident>& all, WallTime since, int topN) {
  IncidentStats out;
  std::map<std::string, Sums> byWorkflow, byClass;
  std::map<std::string, RecurringFingerprint> byFingerprint;
  for (const auto& i : all) {
    if (i.firstSeen < since) continue;
    ++out.total;
    add(byWorkflow[i.workflow], i);
    add(byClass[i.failureClass], i);
    auto& f = byFingerprint[i.fingerprint];
    if (f.incidents == 0) f = {i.fingerprint, i.normalized, i.workflow, i.step, 0};
    ++f.incidents;
  }
  out.byWorkflow = rows(byWorkflow);
  out.byClass = rows(byClass);
  for (auto& [fp, f] : byFingerprint)
    if (f.incidents >= 2) out.recurring.push_back(std::move(f));
  std::stable_sort(out.recurring.begin(), out.recurring.end(),
                   [](const RecurringFingerprint& a, const RecurringFingerprint& b) {
                     return a.incidents > b.incidents;
                   });
  if (topN >= 0 && out.recurring.size() > static_cast<size_t>(topN)) out.recurring.resize(topN);
  return out;
}

}  // namespace keel::incidents
