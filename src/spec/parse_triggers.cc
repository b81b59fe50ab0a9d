// `triggers:` and `dependencies:`. Event, cron, after and file triggers are
// fired by this keel; dependencies are stored without being acted on, so
// they are validated as strictly as the rest: a spec accepted now must not
// be refused by the keel that enforces them.
#include <map>

#include "spec/cron_schedule.h"
#include "spec/fire_times.h"
#include "spec/parse_state.h"
#include "spec/yaml_read.h"

namespace keel::spec::detail {
namespace {

const std::vector<std::string> kTriggerKinds = {"cron", "event", "after", "file"};
const std::vector<std::string> kCronKeys = {"cron",    "timezone",       "misfire",
                                            "overlap", "catch_up_limit", "params"};

// Which context a trigger's params are rendered with.
enum class ParamsOf { kEvent, kSchedule, kUpstream, kFile };

// A trigger's `params:` (param name -> template): a cron trigger's may use
// schedule.*, an event trigger's event.*, an after trigger's upstream.*.
void readTriggerParams(const MapReader& r, TriggerSpec& t, ParseState& st, ParamsOf of) {
  auto p = r.mapping("params");
  if (!p) return;
  for (auto it = p->begin(); it != p->end(); ++it) {
    if (!it->first.IsScalar() || it->first.Scalar().empty()) {
      st.diag.add(posOf(it->first),
                  "trigger: params: " + describe(it->first) + " is not a param name");
      continue;
    }
    const std::string& name = it->first.Scalar();
    auto value = readString(it->second, "trigger: params." + name, st.diag, true);
    if (!value) continue;
    t.params[name] = *value;
    st.addTemplate(-1, "trigger", "params." + name, *value, posOf(it->second), false);
    st.templates.back().eventOnly = of == ParamsOf::kEvent;
    st.templates.back().scheduleOnly = of == ParamsOf::kSchedule;
    st.templates.back().upstreamOnly = of == ParamsOf::kUpstream;
    st.templates.back().fileOnly = of == ParamsOf::kFile;
  }
}

void readCron(const MapReader& r, TriggerSpec& t, ParseState& st) {
  Diagnostics& diag = st.diag;
  t.kind = TriggerSpec::Kind::kCron;
  if (auto expr = r.string("cron")) {
    if (auto schedule = spec::parseCron(*expr); !schedule.ok())
      diag.add(posOf(*r.find("cron")),
               "trigger: cron \"" + *expr + "\": " + schedule.error().message());
    t.cron = *expr;
  }
  if (auto tz = r.string("timezone")) {
    if (!spec::checkTimeZone(*tz).ok())
      diag.add(posOf(*r.find("timezone")),
               "trigger: unknown timezone \"" + *tz + "\" (use an IANA name such as Europe/Paris)");
    t.timezone = *tz;
  }
  if (auto m = r.choice("misfire", {"skip", "run_once", "catch_up"})) t.misfire = *m;
  if (auto o = r.choice("overlap", {"allow", "skip", "queue"})) t.overlap = *o;
  if (auto n = r.integer("catch_up_limit", 1, 1000)) t.catchUpLimit = static_cast<int>(*n);
  readTriggerParams(r, t, st, ParamsOf::kSchedule);
}

void readAfter(const MapReader& r, TriggerSpec& t, Diagnostics& diag) {
  t.kind = TriggerSpec::Kind::kAfter;
  auto m = r.mapping("after");
  if (!m) return;
  MapReader a(*m, "trigger", "after.", diag);
  a.checkKeys({"workflow", "state"});
  if (!a.has("workflow")) diag.add(a.pos(), "trigger: after: missing 'workflow'");
  if (auto wf = a.string("workflow")) {
    if (!isValidName(*wf))
      diag.add(posOf(*a.find("workflow")),
               a.subject("workflow") + ": \"" + *wf + "\" is invalid: " + std::string(kNameRule));
    t.afterWorkflow = *wf;
  }
  if (auto s = a.choice("state", {"succeeded", "failed", "finished"})) t.afterState = *s;
}

// `file: {path, pattern, stable_for}`: a directory watched for new files.
void readFile(const MapReader& r, TriggerSpec& t, Diagnostics& diag) {
  t.kind = TriggerSpec::Kind::kFile;
  auto m = r.mapping("file");
  if (!m) return;
  MapReader f(*m, "trigger", "file.", diag);
  f.checkKeys({"path", "pattern", "stable_for"});
  if (!f.has("path")) diag.add(f.pos(), "trigger: file: missing 'path' (the directory to watch)");
  if (auto path = f.string("path")) {
    if (path->empty() || path->front() != '/')
      diag.add(posOf(*f.find("path")),
               "trigger: file.path: \"" + *path +
                   "\" is not an absolute path (write the directory to watch, e.g. /data/in)");
    else if (path->find('\0') != std::string::npos || path->find('\n') != std::string::npos)
      diag.add(posOf(*f.find("path")), "trigger: file.path: contains a NUL or newline");
    t.filePath = *path;
    // One spelling per directory: "/data/in/" and "/data/in" are the same.
    while (t.filePath.size() > 1 && t.filePath.back() == '/') t.filePath.pop_back();
  }
  if (auto pattern = f.string("pattern")) {
    if (pattern->empty() || pattern->find('/') != std::string::npos)
      diag.add(posOf(*f.find("pattern")),
               "trigger: file.pattern: \"" + *pattern +
                   "\" must be a non-empty glob on the file name (no '/'), e.g. \"*.csv\"");
    t.filePattern = *pattern;
  }
  t.fileStableFor = f.duration("stable_for", false);
}

// `event: TOPIC` with its optional `match:` (payload path -> scalar) and
// `params:` (param name -> template of event.*).
void readEvent(const MapReader& r, TriggerSpec& t, ParseState& st) {
  t.kind = TriggerSpec::Kind::kEvent;
  if (auto e = r.string("event")) {
    if (!isValidTopic(*e))
      st.diag.add(posOf(*r.find("event")), "trigger: event: \"" + *e + "\" is not a valid topic: " +
                                               std::string(kTopicRule));
    t.event = *e;
  }
  if (auto m = r.mapping("match")) {
    for (auto it = m->begin(); it != m->end(); ++it) {
      std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
      bool ok = !key.empty() && key.front() != '.' && key.back() != '.' &&
                key.find("..") == std::string::npos;
      if (!ok) {
        st.diag.add(posOf(it->first), "trigger: match: " + describe(it->first) +
                                          " is not a payload field (write a key, or a dotted "
                                          "path such as file.kind)");
        continue;
      }
      if (!it->second.IsScalar()) {
        st.diag.add(posOf(it->second), "trigger: match." + key +
                                           ": expected a value (text, a number, true, false or "
                                           "null), got " +
                                           describe(it->second));
        continue;
      }
      t.match[key] = it->second.Scalar();
    }
  }
  readTriggerParams(r, t, st, ParamsOf::kEvent);
}

void readTrigger(const YAML::Node& node, ParseState& st) {
  if (!node.IsMap()) {
    st.diag.add(posOf(node),
                "trigger: expected a mapping with one of cron, event, after, file, "
                "got " +
                    describe(node));
    return;
  }
  MapReader r(node, "trigger", "", st.diag);
  std::vector<std::string> kinds;
  for (const auto& k : kTriggerKinds)
    if (r.has(k)) kinds.push_back(k);
  TriggerSpec t;
  t.pos = r.pos();
  if (kinds.size() != 1) {
    r.checkKeys(
        {"cron", "timezone", "misfire", "overlap", "catch_up_limit", "event", "after", "file"});
    st.diag.add(r.pos(), kinds.empty()
                             ? "trigger: give one of cron, event, after, file"
                             : "trigger: give exactly one of cron, event, after, file (found " +
                                   kinds[0] + " and " + kinds[1] + ")");
    return;
  }
  if (kinds[0] == "cron") {
    r.checkKeys(kCronKeys);
    readCron(r, t, st);
  } else if (kinds[0] == "event") {
    r.checkKeys({"event", "match", "params"});
    readEvent(r, t, st);
  } else if (kinds[0] == "after") {
    r.checkKeys({"after", "params"});
    readAfter(r, t, st.diag);
    readTriggerParams(r, t, st, ParamsOf::kUpstream);
  } else {
    r.checkKeys({"file", "params"});
    readFile(r, t, st.diag);
    readTriggerParams(r, t, st, ParamsOf::kFile);
  }
  st.spec.triggers.push_back(std::move(t));
}

// "N/s" or "N/m" with N a positive integer.
bool validRate(const std::string& s) {
  size_t slash = s.find('/');
  if (slash == std::string::npos || slash == 0 || slash > 9) return false;
  std::string unit = s.substr(slash + 1);
  if (unit != "s" && unit != "m") return false;
  for (size_t i = 0; i < slash; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return std::stol(s.substr(0, slash)) > 0;
}

void readBreaker(const YAML::Node& node, const std::string& where, BreakerSpec& b,
                 Diagnostics& diag) {
  MapReader r(node, where, "breaker.", diag);
  r.checkKeys({"failure_rate", "window", "min_calls", "open_for"});
  if (auto rate = r.number("failure_rate")) {
    if (*rate <= 0 || *rate > 1)
      diag.add(posOf(*r.find("failure_rate")),
               r.subject("failure_rate") + ": must be above 0 and at most 1 (a fraction of calls)");
    else
      b.failureRate = *rate;
  }
  if (auto w = r.integer("window", 1, 1'000'000)) b.window = static_cast<int>(*w);
  if (auto m = r.integer("min_calls", 1, 1'000'000)) b.minCalls = static_cast<int>(*m);
  b.openFor = r.duration("open_for", false);
}

void readDependency(const YAML::Node& key, const YAML::Node& value, ParseState& st,
                    std::map<std::string, int>& seen) {
  DependencySpec d;
  d.pos = posOf(key);
  if (!key.IsScalar() || !isValidName(key.Scalar())) {
    st.diag.add(d.pos, "dependencies: " + describe(key) +
                           " is not a valid dependency name: " + std::string(kNameRule));
    return;
  }
  d.name = key.Scalar();
  // yaml-cpp keeps duplicate keys; the first one wins, like everywhere else.
  auto [first, fresh] = seen.emplace(d.name, d.pos.line);
  if (!fresh) {
    st.diag.add(d.pos, "duplicate dependency '" + d.name + "' (first at line " +
                           std::to_string(first->second) + ")");
    return;
  }
  std::string where = "dependency '" + d.name + "'";
  if (value.IsMap()) {
    MapReader r(value, where, "", st.diag);
    r.checkKeys({"breaker", "max_concurrent", "rate"});
    if (auto b = r.mapping("breaker")) readBreaker(*b, where, d.breaker, st.diag);
    if (auto m = r.integer("max_concurrent", 1, 1'000'000)) d.maxConcurrent = static_cast<int>(*m);
    if (auto rate = r.string("rate")) {
      if (!validRate(*rate))
        st.diag.add(posOf(*r.find("rate")), r.subject("rate") + ": \"" + *rate +
                                                "\" is invalid: write N/s or N/m, e.g. 20/s");
      else
        d.rate = *rate;
    }
  } else if (!value.IsNull()) {
    st.diag.add(posOf(value), where + ": expected a mapping {breaker, max_concurrent, rate}, got " +
                                  describe(value));
  }
  st.spec.dependencies.push_back(std::move(d));
}

}  // namespace

void readTriggers(const YAML::Node& node, ParseState& st) {
  if (node.IsNull()) return;
  if (!node.IsSequence()) {
    st.diag.add(posOf(node), "triggers: expected a list of triggers, got " + describe(node));
    return;
  }
  for (auto it = node.begin(); it != node.end(); ++it) readTrigger(*it, st);
}

void readDependencies(const YAML::Node& node, ParseState& st) {
  if (node.IsNull()) return;
  if (!node.IsMap()) {
    st.diag.add(posOf(node),
                "dependencies: expected a mapping of dependency names, got " + describe(node));
    return;
  }
  std::map<std::string, int> seen;  // name -> line
  for (auto it = node.begin(); it != node.end(); ++it)
    readDependency(it->first, it->second, st, seen);
}

}  // namespace keel::spec::detail
