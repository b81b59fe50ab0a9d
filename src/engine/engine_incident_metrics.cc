// The incident gauges: how many incidents still need a person, by severity,
// and how many action items are overdue. Both are read from incidents_ on
// the loop: at start, after a durable batch that wrote an incident (so a
// gauge never shows a change a crash could undo), and when the earliest
// pending due date passes, which changes the overdue count with no write.
// The escalation counter counts a level once the batch that fired it is
// durable; a level fires once (kept in the timeline), so a restart does not
// count it again.
#include <chrono>
#include <string>

#include "engine/engine.h"
#include "incidents/lifecycle.h"

namespace keel::engine {

void Engine::registerIncidentMetrics(observe::MetricsRegistry& metrics) {
  incidentMetrics_ = &metrics;
  for (int sev = 1; sev <= incidents::kLowestSeverity; ++sev)
    incidentsOpenGauges_[sev - 1] = &metrics.gauge(
        "keel_incidents_open",
        "Incidents open, acknowledged or mitigated (not yet resolved), by severity (SEV1..SEV4).",
        {{"severity", incidents::severityName(sev)}});
  overdueGauge_ = &metrics.gauge(
      "keel_action_items_overdue",
      "Action items of incidents not done and past their due date (from the day after it, UTC).");
}

void Engine::countEscalation(const std::string& workflow, int level) {
  if (!incidentMetrics_) return;
  incidentMetrics_
      ->counter("keel_incident_escalations_total",
                "Escalation levels fired (the notifications written), by workflow and level "
                "(1 is the first).",
                {{"workflow", workflow}, {"level", std::to_string(level)}})
      .inc();
}

void Engine::refreshIncidentMetrics() {
  if (!overdueGauge_) return;
  std::array<int, 4> open{};
  int overdue = 0;
  std::optional<WallTime> nextDue;
  const WallTime at = now();
  for (const auto& [id, incident] : incidents_) {
    if (incident.state != incidents::IncidentState::kResolved) {
      int sev = std::clamp(incident.severity, 1, incidents::kLowestSeverity);
      ++open[sev - 1];
    }
    for (const auto& item : incident.actionItems) {
      auto from = incidents::overdueFrom(item);
      if (!from) continue;
      if (at >= *from)
        ++overdue;
      else if (!nextDue || *from < *nextDue)
        nextDue = from;
    }
  }
  for (int i = 0; i < 4; ++i) incidentsOpenGauges_[i]->set(open[i]);
  overdueGauge_->set(overdue);
  // One timer at a time, for the earliest due date still ahead; a refresh
  // that finds an earlier one arms another (the later one then only
  // refreshes again, which is harmless).
  if (!nextDue || (overdueTimerAt_ && *overdueTimerAt_ <= *nextDue)) return;
  overdueTimerAt_ = nextDue;
  auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(*nextDue - at);
  loop_.runAt(clock_.monoNow() + wait, [this, due = *nextDue] {
    if (overdueTimerAt_ == due) overdueTimerAt_.reset();
    refreshIncidentMetrics();
  });
}

}  // namespace keel::engine
