#include "incidents/incident_json.h"

#include "incidents/lifecycle.h"

namespace keel::incidents {
namespace {

nlohmann::json optionalTime(const std::optional<WallTime>& t) {
  return t ? nlohmann::json(formatRfc3339(*t)) : nlohmann::json(nullptr);
}

nlohmann::json itemsJson(const std::vector<ActionItem>& items, WallTime now) {
  auto out = nlohmann::json::array();
  for (const ActionItem& a : items)
    out.push_back({{"n", a.n},
                   {"text", a.text},
                   {"owner", a.owner},
                   {"due", a.due},
                   {"done", a.doneAt.has_value()},
                   {"done_at", optionalTime(a.doneAt)},
                   {"done_by", a.doneBy},
                   {"overdue", isOverdue(a, now)}});
  return out;
}

int overdueCount(const Incident& i, WallTime now) {
  int n = 0;
  for (const auto& a : i.actionItems) n += isOverdue(a, now) ? 1 : 0;
  return n;
}

}  // namespace

nlohmann::json toJson(const Incident& i, bool full, WallTime now) {
  auto previous = nlohmann::json::array();
  for (const auto& p : i.previous) previous.push_back(p.id);
  nlohmann::json j{{"id", i.id},
                   {"fingerprint", i.fingerprint},
                   {"state", toString(i.state)},
                   {"severity", severityName(i.severity)},
                   {"recurring", i.recurring},
                   {"fix_ineffective", i.fixIneffective},
                   {"previous", previous},
                   {"workflow", i.workflow},
                   {"step", i.step},
                   {"class", i.failureClass},
                   {"symptom", i.symptom},
                   {"owner", {{"team", i.ownerTeam}, {"contact", i.ownerContact}}},
                   {"runbook", i.runbook},
                   {"count", i.count},
                   {"first_seen", formatRfc3339(i.firstSeen)},
                   {"last_seen", formatRfc3339(i.lastSeen)},
                   {"resolved_at", optionalTime(i.resolvedAt)},
                   {"action_items", itemsJson(i.actionItems, now)},
                   {"overdue_action_items", overdueCount(i, now)}};
  if (!full) return j;
  j["normalized"] = i.normalized;
  j["message"] = i.message;
  j["first_run"] = i.firstRun;
  j["runs"] = i.runs;
  j["logs_tail"] = i.logsTail;
  auto attempts = nlohmann::json::parse(i.attemptsJson, nullptr, false);
  j["attempts"] = attempts.is_discarded() ? nlohmann::json::array() : attempts;
  j["downstream"] = i.downstream;
  j["root_cause"] = i.rootCause;
  j["no_action_reason"] = i.noActionReason;
  j["workaround"] =
      i.workaround.empty()
          ? nlohmann::json(nullptr)
          : nlohmann::json{{"text", i.workaround}, {"expires", optionalTime(i.workaroundExpires)}};
  auto history = nlohmann::json::array();
  for (const auto& p : i.previous)
    history.push_back({{"id", p.id},
                       {"root_cause", p.rootCause},
                       {"no_action_reason", p.noActionReason},
                       {"action_items", itemsJson(p.actionItems, now)},
                       {"resolved_at", optionalTime(p.resolvedAt)}});
  j["previous_incidents"] = history;
  auto timeline = nlohmann::json::array();
  for (const auto& e : i.timeline)
    timeline.push_back({{"n", e.n},
                        {"at", formatRfc3339(e.at)},
                        {"kind", e.kind},
                        {"from", e.from},
                        {"to", e.to},
                        {"actor", e.actor},
                        {"note", e.note}});
  j["timeline"] = timeline;
  return j;
}

}  // namespace keel::incidents
