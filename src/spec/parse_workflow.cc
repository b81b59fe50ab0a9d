// The top level of a workflow: identity, ownership, params, concurrency, slo,
// retention.
#include <cctype>
#include <map>
#include <set>

#include "spec/fire_times.h"
#include "spec/parse_state.h"
#include "spec/slo.h"
#include "spec/template.h"
#include "spec/yaml_read.h"

namespace keel::spec::detail {
namespace {

const std::vector<std::string> kTopKeys = {
    "name",     "namespace",    "description",    "owner",      "runbook",   "workdir", "params",
    "triggers", "dependencies", "concurrency",    "slo",        "retention", "steps",   "on_end",
    "kind",     "severity",     "escalate_after", "escalation",
};

bool isParamName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  };
  for (char c : s)
    if (!ok(c)) return false;
  return !(s[0] >= '0' && s[0] <= '9') && s[0] != '-';
}

// A runbook is followed by a person at 2 AM: it must at least look like
// something they can open.
bool looksLikeUrlOrPath(const std::string& s) {
  if (s.find_first_of(" \t\n") != std::string::npos) return false;
  return s.find("://") != std::string::npos || s.find('/') != std::string::npos ||
         s.ends_with(".md") || s.ends_with(".txt") || s.ends_with(".html");
}

void readName(const MapReader& r, const std::string& key, std::string& out, Diagnostics& diag) {
  auto v = r.string(key);
  if (!v) return;
  if (!isValidName(*v)) {
    diag.add(posOf(*r.find(key)), key + " \"" + *v + "\" is invalid: " + std::string(kNameRule));
    return;
  }
  out = *v;
}

void readOwner(const MapReader& r, ParseState& st) {
  if (!r.has("owner")) {
    st.diag.add(r.pos(), "missing 'owner': every workflow needs an owner {team, contact} (G10)");
    return;
  }
  const YAML::Node& node = *r.find("owner");
  if (!node.IsMap()) {
    st.diag.add(posOf(node), "owner: expected a mapping {team, contact}, got " + describe(node));
    return;
  }
  MapReader o(node, "", "owner.", st.diag);
  o.checkKeys({"team", "contact"});
  if (!o.has("team"))
    st.diag.add(o.pos(), "owner: missing 'team': the owner must name a team (G10)");
  if (auto team = o.string("team")) st.spec.owner.team = *team;
  if (auto contact = o.string("contact")) st.spec.owner.contact = *contact;
}

void readRunbook(const MapReader& r, ParseState& st) {
  if (!r.has("runbook")) {
    st.diag.add(r.pos(), "missing 'runbook': every workflow needs a runbook URL or path (G10)");
    return;
  }
  auto v = r.string("runbook");
  if (!v) return;
  if (!looksLikeUrlOrPath(*v)) {
    st.diag.add(posOf(*r.find("runbook")),
                "runbook \"" + *v + "\" does not look like a URL or a path (G10)");
    return;
  }
  st.spec.runbook = *v;
}

// `severity:` SEV1 (highest) .. SEV4, case-insensitive; the severity of the
// incidents this workflow opens (SEV3 when absent).
void readSeverity(const MapReader& r, ParseState& st) {
  auto v = r.string("severity");
  if (!v) return;
  std::string up;
  for (char c : *v) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (up.size() != 4 || !up.starts_with("SEV") || up[3] < '1' || up[3] > '4') {
    st.diag.add(posOf(*r.find("severity")),
                "severity \"" + *v + "\" is invalid: use SEV1 (highest), SEV2, SEV3 or SEV4");
    return;
  }
  st.spec.severity = up[3] - '0';
}

void readParams(const YAML::Node& node, ParseState& st) {
  st.paramsDeclared = true;
  if (node.IsNull()) return;
  if (!node.IsMap()) {
    st.diag.add(posOf(node), "params: expected a mapping of param names, got " + describe(node));
    return;
  }
  std::set<std::string> seen;
  std::map<std::string, std::string> byEnvName;  // each param is passed as KEEL_PARAM_<NAME>
  for (auto it = node.begin(); it != node.end(); ++it) {
    ParamSpec p;
    if (!it->first.IsScalar() || !isParamName(it->first.Scalar())) {
      st.diag.add(posOf(it->first), "params: " + describe(it->first) +
                                        " is not a valid param name (use letters, digits, '_' "
                                        "and '-', starting with a letter or '_')");
      continue;
    }
    p.name = it->first.Scalar();
    if (!seen.insert(p.name).second) {
      st.diag.add(posOf(it->first), "duplicate param '" + p.name + "'");
    } else {
      auto [other, fresh] = byEnvName.emplace(paramEnvName(p.name), p.name);
      if (!fresh)
        st.diag.add(posOf(it->first), "params '" + other->second + "' and '" + p.name +
                                          "' would both be passed as " + other->first);
    }
    const YAML::Node v = it->second;
    std::string subject = "params." + p.name;
    if (v.IsScalar()) {
      p.defaultValue = v.Scalar();
    } else if (v.IsMap()) {
      MapReader pr(v, "", subject + ".", st.diag);
      pr.checkKeys({"default", "description"});
      if (pr.has("default")) p.defaultValue = pr.string("default", true);
      p.description = pr.string("description", true).value_or("");
    } else if (!v.IsNull()) {
      st.diag.add(posOf(v), subject +
                                ": expected nothing (required), a default value or "
                                "{default, description}, got " +
                                describe(v));
    }
    st.spec.params.push_back(std::move(p));
  }
}

void readConcurrency(const MapReader& r, ParseState& st) {
  auto m = r.mapping("concurrency");
  if (!m) return;
  MapReader c(*m, "", "concurrency.", st.diag);
  c.checkKeys({"key", "limit"});
  ConcurrencySpec spec;
  if (!c.has("key"))
    st.diag.add(c.pos(), "concurrency: missing 'key' (a template such as \"{{ params.region }}\")");
  if (auto key = c.string("key")) {
    spec.key = *key;
    st.addTemplate(-1, "", "concurrency.key", *key, posOf(*c.find("key")), false);
  }
  if (auto limit = c.integer("limit", 1, 1'000'000)) spec.limit = static_cast<int>(*limit);
  st.spec.concurrency = spec;
}

// A deadline: a duration ("45m") or, when it holds a ':', a time of day
// ("06:00").
std::optional<SloDeadline> readDeadline(const MapReader& s, std::string_view key,
                                        Diagnostics& diag) {
  const YAML::Node* n = s.find(key);
  if (!n) return std::nullopt;
  if (!n->IsScalar() || n->Scalar().find(':') == std::string::npos) {
    auto d = s.duration(key, false);
    if (!d) return std::nullopt;
    return SloDeadline{d, std::nullopt, n->Scalar()};
  }
  std::string why;
  auto minute = parseTimeOfDay(n->Scalar(), why);
  if (!minute) {
    diag.add(posOf(*n), s.subject(key) + ": bad time of day \"" + n->Scalar() + "\": " + why);
    return std::nullopt;
  }
  return SloDeadline{std::nullopt, minute, n->Scalar()};
}

void readSlo(const MapReader& r, ParseState& st) {
  auto m = r.mapping("slo");
  if (!m) return;
  MapReader s(*m, "", "slo.", st.diag);
  s.checkKeys({"max_duration", "finish_by", "start_by", "days", "freshness", "timezone"});
  SloSpec& slo = st.spec.slo;
  slo.maxDuration = s.duration("max_duration", false);
  slo.finishBy = readDeadline(s, "finish_by", st.diag);
  slo.startBy = readDeadline(s, "start_by", st.diag);
  slo.freshness = s.duration("freshness", false);
  if (s.has("max_duration") && s.has("finish_by"))
    st.diag.add(s.keyPos("finish_by"),
                "slo: give finish_by or max_duration, not both (max_duration is finish_by as a "
                "duration from the run's creation)");
  for (const auto& t : st.spec.triggers)
    if (t.kind == TriggerSpec::Kind::kCron) {
      slo.timezone = t.timezone;
      break;
    }
  if (auto tz = s.string("timezone")) {
    if (!checkTimeZone(*tz).ok())
      st.diag.add(posOf(*s.find("timezone")), "slo.timezone: unknown time zone \"" + *tz +
                                                  "\" (use an IANA name such as Europe/Paris)");
    slo.timezone = *tz;
  }
  if (const YAML::Node* days = s.find("days")) {
    if (!slo.startBy || !slo.startBy->minuteOfDay)
      st.diag.add(s.keyPos("days"),
                  "slo.days: only for a start_by given as a time of day (start_by: \"07:00\")");
    auto list = readStringList(*days, "slo.days", st.diag, false,
                               "a list of days such as [mon, tue, wed, thu, fri]");
    if (list) {
      std::bitset<7> set;
      for (const auto& [text, pos] : *list) {
        auto day = parseWeekday(text);
        if (!day) {
          st.diag.add(pos, "slo.days: unknown day \"" + text +
                               "\" (use mon, tue, wed, thu, fri, sat, sun)");
          continue;
        }
        set.set(static_cast<size_t>(*day));
      }
      if (set.any()) slo.days = set;
    }
  }
  if (slo.startBy && slo.startBy->after) {
    bool scheduled = false;
    for (const auto& t : st.spec.triggers) scheduled |= t.kind == TriggerSpec::Kind::kCron;
    if (!scheduled)
      st.diag.add(posOf(*s.find("start_by")),
                  "slo.start_by: a duration counts from each fire of a cron trigger, and this "
                  "workflow has none; give a time of day (start_by: \"07:00\") or add a cron "
                  "trigger");
  }
}

void readStepList(const MapReader& r, ParseState& st) {
  const YAML::Node* steps = r.find("steps");
  if (!steps) {
    st.diag.add(r.pos(), "missing 'steps': a workflow needs at least one step");
    return;
  }
  if (!steps->IsSequence()) {
    st.diag.add(posOf(*steps), "steps: expected a list of steps, got " + describe(*steps));
    return;
  }
  if (steps->size() == 0) {
    st.diag.add(posOf(*steps), "steps: the list is empty; a workflow needs at least one step");
    return;
  }
  int index = 0;
  for (auto it = steps->begin(); it != steps->end(); ++it) readStep(*it, index++, st);
}

}  // namespace

std::string joinWorkdir(const std::string& base, const std::string& rel) {
  if (rel.empty()) return base;
  if (base.empty() || rel[0] == '/') return rel;
  return base.back() == '/' ? base + rel : base + "/" + rel;
}

void readWorkflow(const YAML::Node& root, ParseState& st) {
  MapReader r(root, "", "", st.diag);
  r.checkKeys(kTopKeys);
  if (auto kind = r.string("kind"); kind && *kind != "workflow")
    st.diag.add(r.keyPos("kind"),
                "kind: expected workflow (or no kind) in a workflow, got \"" + *kind + "\"");
  WorkflowSpec& spec = st.spec;
  if (!r.has("name")) st.diag.add(r.pos(), "missing 'name': every workflow needs one");
  readName(r, "name", spec.name, st.diag);
  readName(r, "namespace", spec.ns, st.diag);
  spec.description = r.string("description", true).value_or("");
  readOwner(r, st);
  readRunbook(r, st);
  readSeverity(r, st);
  spec.workdir = st.options.defaultWorkdir;
  if (auto wd = r.string("workdir")) {
    spec.workdir = joinWorkdir(st.options.defaultWorkdir, *wd);
    st.addTemplate(-1, "", "workdir", *wd, posOf(*r.find("workdir")), false);
  }
  if (const YAML::Node* p = r.find("params")) readParams(*p, st);
  if (const YAML::Node* d = r.find("dependencies")) readDependencies(*d, st);
  if (const YAML::Node* t = r.find("triggers")) readTriggers(*t, st);
  readConcurrency(r, st);
  readSlo(r, st);
  readEscalation(r, st);
  spec.retention = r.duration("retention", false);
  readStepList(r, st);
  if (const YAML::Node* e = r.find("on_end")) readOnEnd(*e, st);
}

}  // namespace keel::spec::detail
