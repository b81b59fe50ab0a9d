#include "store/sqlite/incidents.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "store/sqlite/row_codec.h"

namespace keel::store::sqlite {
namespace {

using incidents::ActionItem;
using incidents::Incident;
using incidents::PreviousIncident;
using incidents::TimelineEntry;

constexpr const char* kUpsertIncident = R"sql(
INSERT INTO incidents (id, fingerprint, normalized, state, severity, recurring, fix_ineffective,
  previous_json, workflow, step, failure_class, message, symptom, owner_team, owner_contact,
  runbook, count, first_seen, last_seen, first_run, logs_tail, attempts_json, downstream_json,
  root_cause, no_action_reason, workaround, workaround_expires, resolved_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
        ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)
ON CONFLICT (id) DO UPDATE SET
  state = excluded.state, severity = excluded.severity, count = excluded.count,
  last_seen = excluded.last_seen, root_cause = excluded.root_cause,
  no_action_reason = excluded.no_action_reason, workaround = excluded.workaround,
  workaround_expires = excluded.workaround_expires, resolved_at = excluded.resolved_at)sql";

constexpr const char* kIncidentColumns =
    "id, fingerprint, normalized, state, severity, recurring, fix_ineffective, previous_json, "
    "workflow, step, failure_class, message, symptom, owner_team, owner_contact, runbook, count, "
    "first_seen, last_seen, first_run, logs_tail, attempts_json, downstream_json, root_cause, "
    "no_action_reason, workaround, workaround_expires, resolved_at";

nlohmann::json itemsJson(const std::vector<ActionItem>& items) {
  auto out = nlohmann::json::array();
  for (const auto& a : items) {
    nlohmann::json j{{"n", a.n}, {"text", a.text}, {"owner", a.owner}, {"due", a.due}};
    if (a.doneAt) j["done_at"] = toUnixMillis(*a.doneAt);
    j["done_by"] = a.doneBy;
    out.push_back(std::move(j));
  }
  return out;
}

std::vector<ActionItem> itemsFrom(const nlohmann::json& j) {
  std::vector<ActionItem> out;
  for (const auto& x : j) {
    ActionItem a;
    a.n = x.value("n", 0);
    a.text = x.value("text", "");
    a.owner = x.value("owner", "");
    a.due = x.value("due", "");
    if (x.contains("done_at")) a.doneAt = fromUnixMillis(x["done_at"].get<int64_t>());
    a.doneBy = x.value("done_by", "");
    out.push_back(std::move(a));
  }
  return out;
}

std::string previousJson(const std::vector<PreviousIncident>& previous) {
  auto out = nlohmann::json::array();
  for (const auto& p : previous) {
    nlohmann::json j{{"id", p.id},
                     {"root_cause", p.rootCause},
                     {"no_action_reason", p.noActionReason},
                     {"action_items", itemsJson(p.actionItems)}};
    if (p.resolvedAt) j["resolved_at"] = toUnixMillis(*p.resolvedAt);
    out.push_back(std::move(j));
  }
  return out.dump();
}

// JSON the store wrote itself; a hand-edited value reads as empty rather
// than failing every listing.
nlohmann::json parsed(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_discarded() || !j.is_array() ? nlohmann::json::array() : j;
}

Incident readIncident(const Statement& s) {
  Incident i;
  i.id = s.textAt(0);
  i.fingerprint = s.textAt(1);
  i.normalized = s.textAt(2);
  i.state = incidents::parseIncidentState(s.textAt(3)).value_or(incidents::IncidentState::kOpen);
  i.severity = s.intAt(4);
  i.recurring = s.intAt(5) != 0;
  i.fixIneffective = s.intAt(6) != 0;
  for (const auto& p : parsed(s.textAt(7))) {
    PreviousIncident prev;
    prev.id = p.value("id", "");
    prev.rootCause = p.value("root_cause", "");
    prev.noActionReason = p.value("no_action_reason", "");
    prev.actionItems = itemsFrom(p.value("action_items", nlohmann::json::array()));
    if (p.contains("resolved_at"))
      prev.resolvedAt = fromUnixMillis(p["resolved_at"].get<int64_t>());
    i.previous.push_back(std::move(prev));
  }
  i.workflow = s.textAt(8);
  i.step = s.textAt(9);
  i.failureClass = s.textAt(10);
  i.message = s.textAt(11);
  i.symptom = s.textAt(12);
  i.ownerTeam = s.textAt(13);
  i.ownerContact = s.textAt(14);
  i.runbook = s.textAt(15);
  i.count = s.int64At(16);
  i.firstSeen = s.timeAt(17);
  i.lastSeen = s.timeAt(18);
  i.firstRun = s.textAt(19);
  i.logsTail = s.textAt(20);
  i.attemptsJson = s.textAt(21);
  for (const auto& d : parsed(s.textAt(22)))
    if (d.is_string()) i.downstream.push_back(d.get<std::string>());
  i.rootCause = s.textAt(23);
  i.noActionReason = s.textAt(24);
  i.workaround = s.textAt(25);
  i.workaroundExpires = s.optionalTimeAt(26);
  i.resolvedAt = s.optionalTimeAt(27);
  return i;
}

Status failed(const Incident& i, const char* what, const Error& e) {
  return Error(e.code(),
               fmt::format("cannot store {} of incident {}: {}", what, i.id, e.message()));
}

Status step(Result<ScopedStatement>& s, const Incident& i, const char* what) {
  if (!s.ok()) return failed(i, what, s.error());
  auto more = (*s)->next();
  if (!more.ok()) return failed(i, what, more.error());
  return okStatus();
}

Status loadChildren(Connection& conn, Incident& i) {
  auto bindId = [&](Statement& s) { s.bind(1, i.id); };
  KEEL_TRY(selectAll(
      conn, "SELECT run_id FROM incident_runs WHERE incident_id = ?1 ORDER BY pos",
      [](const Statement& s) { return s.textAt(0); }, i.runs, bindId));
  KEEL_TRY(selectAll(
      conn,
      "SELECT n, at, kind, from_state, to_state, actor, note FROM incident_timeline "
      "WHERE incident_id = ?1 ORDER BY n",
      [](const Statement& s) {
        TimelineEntry e;
        e.n = s.intAt(0);
        e.at = s.timeAt(1);
        e.kind = s.textAt(2);
        e.from = s.textAt(3);
        e.to = s.textAt(4);
        e.actor = s.textAt(5);
        e.note = s.textAt(6);
        return e;
      },
      i.timeline, bindId));
  KEEL_TRY(selectAll(
      conn,
      "SELECT n, text, owner, due, done_at, done_by FROM incident_action_items "
      "WHERE incident_id = ?1 ORDER BY n",
      [](const Statement& s) {
        ActionItem a;
        a.n = s.intAt(0);
        a.text = s.textAt(1);
        a.owner = s.textAt(2);
        a.due = s.textAt(3);
        a.doneAt = s.optionalTimeAt(4);
        a.doneBy = s.textAt(5);
        return a;
      },
      i.actionItems, bindId));
  return okStatus();
}

}  // namespace

Status upsertIncident(Connection& conn, const Incident& i) {
  // Bound text is not copied (SQLITE_STATIC): it must live until the step.
  const std::string previous = previousJson(i.previous);
  const std::string downstream = nlohmann::json(i.downstream).dump();
  auto s = conn.cached(kUpsertIncident);
  if (s.ok()) {
    Statement& st = **s;
    st.bind(1, i.id);
    st.bind(2, i.fingerprint);
    st.bind(3, i.normalized);
    st.bind(4, incidents::toString(i.state));
    st.bind(5, i.severity);
    st.bind(6, i.recurring ? 1 : 0);
    st.bind(7, i.fixIneffective ? 1 : 0);
    st.bind(8, previous);
    st.bind(9, i.workflow);
    st.bind(10, i.step);
    st.bind(11, i.failureClass);
    st.bind(12, i.message);
    st.bind(13, i.symptom);
    st.bind(14, i.ownerTeam);
    st.bind(15, i.ownerContact);
    st.bind(16, i.runbook);
    st.bind(17, i.count);
    st.bind(18, i.firstSeen);
    st.bind(19, i.lastSeen);
    st.bind(20, i.firstRun);
    st.bind(21, i.logsTail);
    st.bind(22, i.attemptsJson);
    st.bind(23, downstream);
    st.bind(24, i.rootCause);
    st.bind(25, i.noActionReason);
    st.bind(26, i.workaround);
    st.bind(27, i.workaroundExpires);
    st.bind(28, i.resolvedAt);
  }
  KEEL_TRY(step(s, i, "the row"));
  for (size_t k = 0; k < i.runs.size(); ++k) {
    auto r = conn.cached(
        "INSERT OR IGNORE INTO incident_runs (incident_id, pos, run_id) VALUES (?1, ?2, ?3)");
    if (r.ok()) {
      (*r)->bind(1, i.id);
      (*r)->bind(2, static_cast<int64_t>(k));
      (*r)->bind(3, i.runs[k]);
    }
    KEEL_TRY(step(r, i, "a run"));
  }
  for (const TimelineEntry& e : i.timeline) {
    auto t = conn.cached(
        "INSERT OR IGNORE INTO incident_timeline (incident_id, n, at, kind, from_state, to_state, "
        "actor, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (t.ok()) {
      (*t)->bind(1, i.id);
      (*t)->bind(2, e.n);
      (*t)->bind(3, e.at);
      (*t)->bind(4, e.kind);
      (*t)->bind(5, e.from);
      (*t)->bind(6, e.to);
      (*t)->bind(7, e.actor);
      (*t)->bind(8, e.note);
    }
    KEEL_TRY(step(t, i, "a timeline entry"));
  }
  for (const ActionItem& a : i.actionItems) {
    auto t = conn.cached(
        "INSERT INTO incident_action_items (incident_id, n, text, owner, due, done_at, done_by) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (incident_id, n) DO UPDATE SET "
        "done_at = excluded.done_at, done_by = excluded.done_by");
    if (t.ok()) {
      (*t)->bind(1, i.id);
      (*t)->bind(2, a.n);
      (*t)->bind(3, a.text);
      (*t)->bind(4, a.owner);
      (*t)->bind(5, a.due);
      (*t)->bind(6, a.doneAt);
      (*t)->bind(7, a.doneBy);
    }
    KEEL_TRY(step(t, i, "an action item"));
  }
  return okStatus();
}

Result<std::vector<Incident>> selectIncidents(Connection& conn, const IncidentFilter& f) {
  std::string sql = fmt::format(
      "SELECT {} FROM incidents WHERE (?1 IS NULL OR ?1 = '' OR state = ?1) AND (?2 = 0 OR state "
      "<> "
      "'resolved') AND (?3 = 0 OR recurring = 1) AND (?4 IS NULL OR last_seen >= ?4) "
      "ORDER BY first_seen DESC, id DESC LIMIT ?5",
      kIncidentColumns);
  std::vector<Incident> out;
  KEEL_TRY(selectAll(conn, sql, readIncident, out, [&](Statement& s) {
    s.bind(1, f.state ? incidents::toString(*f.state) : std::string_view(""));
    s.bind(2, f.unresolvedOnly ? 1 : 0);
    s.bind(3, f.recurringOnly ? 1 : 0);
    s.bind(4, f.since);
    s.bind(5, f.limit);
  }));
  for (Incident& i : out) KEEL_TRY(loadChildren(conn, i));
  return out;
}

Result<std::optional<Incident>> selectIncident(Connection& conn, const std::string& id) {
  std::vector<Incident> out;
  KEEL_TRY(selectAll(conn, fmt::format("SELECT {} FROM incidents WHERE id = ?1", kIncidentColumns),
                     readIncident, out, [&](Statement& s) { s.bind(1, id); }));
  if (out.empty()) return std::optional<Incident>();
  KEEL_TRY(loadChildren(conn, out[0]));
  return std::optional<Incident>(std::move(out[0]));
}

}  // namespace keel::store::sqlite
