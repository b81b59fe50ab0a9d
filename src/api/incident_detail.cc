#include "api/incident_detail.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace keel::api {

namespace {

// The attempt number the engine recorded with the incident (its last), or 0.
int recordedAttempt(const incidents::Incident& incident) {
  auto recorded = nlohmann::json::parse(incident.attemptsJson, nullptr, false);
  if (!recorded.is_array() || recorded.empty() || !recorded.back().is_object()) return 0;
  const auto& n = recorded.back()["n"];
  return n.is_number_integer() ? n.get<int>() : 0;
}

}  // namespace

void completeIncident(store::Store& store, incidents::Incident& incident) {
  if (incident.step.empty() || incident.firstRun.empty()) return;
  const int wanted = recordedAttempt(incident);
  auto run = store.getRun(incident.firstRun);
  if (!run.ok() || !run->has_value()) return;
  const store::RunDetail& detail = **run;
  int started = 0;
  for (const auto& s : detail.steps)
    if (s.name == incident.step) started = s.attempts;
  nlohmann::json attempts = nlohmann::json::array();
  for (const auto& a : detail.attempts) {
    if (a.step != incident.step) continue;
    nlohmann::json j{{"n", a.n},
                     {"of", std::max(started, a.n)},
                     {"state", toString(a.state)},
                     {"class", toString(a.failureClass)},
                     {"message", a.message},
                     {"started_at", formatRfc3339(a.startedAt)}};
    if (a.finishedAt) j["finished_at"] = formatRfc3339(*a.finishedAt);
    if (a.exitCode) j["exit_code"] = *a.exitCode;
    attempts.push_back(std::move(j));
  }
  if (!attempts.empty()) incident.attemptsJson = attempts.dump();
  if (!incident.logsTail.empty()) return;
  auto logs = store.stepLogs(incident.firstRun, incident.step);
  if (!logs.ok() || logs->empty()) return;
  const store::LogRow* chosen = nullptr;
  for (const auto& log : *logs) {
    if (wanted != 0 && log.attempt == wanted) chosen = &log;
    if (wanted == 0 && (!chosen || log.attempt > chosen->attempt)) chosen = &log;
  }
  if (chosen) incident.logsTail = incidents::lastLines(chosen->joinedText());
}

}  // namespace keel::api
