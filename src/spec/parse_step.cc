// One step: its kind, needs, timeouts, retry policy, environment.
#include <algorithm>
#include <cctype>

#include "spec/shell.h"
#include "spec/template.h"

#include "spec/parse_state.h"
#include "spec/yaml_read.h"

namespace keel::spec::detail {
namespace {

const std::vector<std::string> kStepKeys = {
    "name",    "run",     "noop",       "sleep",     "http",     "task",
    "needs",   "timeout", "kill_grace", "heartbeat", "retry",    "env",
    "workdir", "uses",    "compensate", "emit",      "pass_env", "approval",
};
const std::vector<std::string> kKinds = {"run", "noop", "sleep", "http", "task", "approval"};

// `approval: {approvers: [...], timeout: 4h, on_timeout: fail|approve,
// message: "..."}`; the message is a template, rendered when the step
// starts waiting.
void readApproval(const YAML::Node& node, StepSpec& step, int index, const std::string& where,
                  ParseState& st) {
  if (!node.IsMap()) {
    st.diag.add(posOf(node), where +
                                 ": approval: expected a mapping {approvers, timeout, "
                                 "on_timeout, message}, got " +
                                 describe(node));
    return;
  }
  MapReader a(node, where, "approval.", st.diag);
  a.checkKeys({"approvers", "timeout", "on_timeout", "message"});
  if (const YAML::Node* who = a.find("approvers")) {
    auto list = readStringList(*who, a.subject("approvers"), st.diag, true,
                               "a list of team or person names");
    if (list) {
      if (list->empty())
        st.diag.add(posOf(*who), a.subject("approvers") + ": name at least one team or person");
      for (const auto& [name, pos] : *list) {
        if (std::find(step.approval.approvers.begin(), step.approval.approvers.end(), name) !=
            step.approval.approvers.end()) {
          st.diag.add(pos, a.subject("approvers") + ": '" + name + "' is listed twice");
          continue;
        }
        step.approval.approvers.push_back(name);
      }
    }
  } else {
    st.diag.add(posOf(node), where +
                                 ": approval: `approvers` is required (the teams or people "
                                 "who decide)");
  }
  if (!a.has("timeout"))
    st.diag.add(posOf(node), where +
                                 ": approval: `timeout` is required (how long to wait for a "
                                 "decision, e.g. 4h)");
  else if (auto t = a.duration("timeout", false))
    step.approval.timeout = *t;
  if (auto onTimeout = a.choice("on_timeout", {"fail", "approve"}))
    step.approval.approveOnTimeout = *onTimeout == "approve";
  if (auto message = a.string("message", true)) {
    step.approval.message = *message;
    st.addTemplate(index, where, "approval.message", *message, posOf(*a.find("message")));
  }
}

// `task: QUEUE` or `task: {queue: QUEUE, input: {...}}`; the input's string
// leaves are templates, rendered as JSON values for each attempt.
void readTask(const YAML::Node& node, StepSpec& step, int index, const std::string& where,
              ParseState& st) {
  auto checkQueue = [&](const std::string& queue, SourcePos pos, const std::string& subject) {
    if (!isValidName(queue))
      st.diag.add(pos,
                  subject + ": queue name \"" + queue + "\" is invalid: " + std::string(kNameRule));
    step.task.queue = queue;
  };
  if (node.IsScalar()) {
    checkQueue(node.Scalar(), posOf(node), where + ": task");
    return;
  }
  if (!node.IsMap()) {
    st.diag.add(posOf(node), where +
                                 ": task: expected a queue name or a mapping {queue, input}, "
                                 "got " +
                                 describe(node));
    return;
  }
  MapReader t(node, where, "task.", st.diag);
  t.checkKeys({"queue", "input"});
  if (!t.has("queue"))
    st.diag.add(posOf(node), where + ": task: `queue` is required (the queue workers poll)");
  else if (auto queue = t.string("queue"))
    checkQueue(*queue, posOf(*t.find("queue")), t.subject("queue"));
  if (const YAML::Node* input = t.find("input")) {
    if (auto j = readJson(*input, t.subject("input"), st.diag)) {
      addJsonTemplates(*j, "task.input", posOf(*input), index, where, st);
      step.task.input = std::move(*j);
    }
  }
}

bool isEnvName(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// Reads the kind keys present; more than one, or none, is a problem.
void readKind(const MapReader& r, StepSpec& step, int index, ParseState& st) {
  std::vector<std::string> present;
  for (const auto& k : kKinds)
    if (r.has(k)) present.push_back(k);
  if (present.empty()) {
    st.diag.add(r.pos(),
                r.where() + " has no kind: give one of run, noop, sleep, http, task, approval");
    return;
  }
  if (present.size() > 1)
    st.diag.add(r.keyPos(present[1]), r.where() + " has more than one kind (" + present[0] + ", " +
                                          present[1] + "): give exactly one");
  const std::string& kind = present[0];
  if (kind == "run") {
    step.kind = StepKind::kRun;
    if (auto run = r.string("run")) {
      step.run = *run;
      st.addTemplate(index, r.where(), "run", *run, posOf(*r.find("run")));
      checkShellQuoting(*r.find("run"), *run, r.subject("run"), st);
    }
  } else if (kind == "noop") {
    step.kind = StepKind::kNoop;
    auto v = r.boolean("noop");
    if (v && !*v) st.diag.add(posOf(*r.find("noop")), r.subject("noop") + ": must be true");
  } else if (kind == "sleep") {
    step.kind = StepKind::kSleep;
    step.sleep = r.duration("sleep", true).value_or(Millis(0));
  } else if (kind == "http") {
    step.kind = StepKind::kHttp;
    readHttp(*r.find("http"), step, index, r.where(), st);
  } else if (kind == "approval") {
    step.kind = StepKind::kApproval;
    readApproval(*r.find("approval"), step, index, r.where(), st);
  } else {
    step.kind = StepKind::kTask;
    readTask(*r.find("task"), step, index, r.where(), st);
  }
}

void readNeeds(const MapReader& r, StepSpec& step, StepMeta& meta, Diagnostics& diag) {
  const YAML::Node* n = r.find("needs");
  if (!n) return;
  auto list = readStringList(*n, r.subject("needs"), diag, true, "a list of step names");
  if (!list) return;
  for (const auto& [name, pos] : *list) {
    bool dup = false;
    for (const auto& seen : step.needs) dup = dup || seen == name;
    if (dup) {
      diag.add(pos, r.where() + " needs '" + name + "' twice");
      continue;
    }
    step.needs.push_back(name);
    meta.needsPos.push_back(pos);
  }
}

void readEnv(const MapReader& r, StepSpec& step, int index, ParseState& st) {
  auto env = r.mapping("env");
  if (!env) return;
  for (auto it = env->begin(); it != env->end(); ++it) {
    if (!it->first.IsScalar() || !isEnvName(it->first.Scalar())) {
      st.diag.add(posOf(it->first), r.subject("env") + ": " + describe(it->first) +
                                        " is not a valid variable name (letters, digits, '_')");
      continue;
    }
    const std::string& name = it->first.Scalar();
    if (name.starts_with("KEEL_")) {
      st.diag.add(posOf(it->first), r.subject("env") + ": " + name +
                                        ": names starting with KEEL_ are reserved for keel");
      continue;
    }
    auto value = readString(it->second, r.subject("env." + name), st.diag, true);
    if (!value) continue;
    step.env[name] = *value;
    st.addTemplate(index, r.where(), "env." + name, *value, posOf(it->second));
  }
}

// `pass_env: [AWS_PROFILE, ...]`: names only, each at most once, none set
// by `env:` as well and none reserved by keel.
void readPassEnv(const MapReader& r, StepSpec& step, Diagnostics& diag) {
  const YAML::Node* n = r.find("pass_env");
  if (!n) return;
  auto list = readStringList(*n, r.subject("pass_env"), diag, false, "a list of variable names");
  if (!list) return;
  for (const auto& [name, pos] : *list) {
    std::string subject = r.subject("pass_env") + ": " + name;
    if (!isEnvName(name))
      diag.add(pos, subject + " is not a valid variable name (letters, digits, '_')");
    else if (name.starts_with("KEEL_"))
      diag.add(pos, subject + ": names starting with KEEL_ are reserved for keel");
    else if (step.env.count(name))
      diag.add(pos, subject + " is also set under env: give it in one place");
    else if (std::find(step.passEnv.begin(), step.passEnv.end(), name) != step.passEnv.end())
      diag.add(pos, subject + " is listed twice");
    else
      step.passEnv.push_back(name);
  }
}

void readStepName(MapReader& r, StepSpec& step, StepMeta& meta, Diagnostics& diag) {
  if (!r.has("name")) {
    diag.add(r.pos(), r.where() + ": missing 'name'");
    return;
  }
  auto name = r.string("name");
  if (!name) return;
  meta.namePos = posOf(*r.find("name"));
  if (!isValidName(*name)) {
    diag.add(meta.namePos,
             r.where() + ": name \"" + *name + "\" is invalid: " + std::string(kNameRule));
    return;
  }
  if (name->ends_with(kCompensateSuffix)) {
    diag.add(meta.namePos, r.where() + ": name \"" + *name + "\" ends with \"" +
                               std::string(kCompensateSuffix) +
                               "\", which keel keeps for the compensations of steps");
    return;
  }
  step.name = *name;
  meta.named = true;
  r.setWhere("step '" + *name + "'");
}

// `compensate: COMMAND` (a `run:` with the step's timeout and the default
// retry policy) or `compensate: {run: | http:, timeout:, retry:}`. Its
// templates may use the step's own output.
void readCompensate(const YAML::Node& node, const MapReader& r, StepSpec& step, int index,
                    ParseState& st) {
  const std::string subject = r.subject("compensate");
  if (step.kind == StepKind::kNoop || step.kind == StepKind::kSleep) {
    st.diag.add(r.keyPos("compensate"), subject + ": a " + std::string(toString(step.kind)) +
                                            " step has nothing to undo; remove compensate");
    return;
  }
  auto comp = std::make_shared<StepSpec>();
  comp->name = step.name + std::string(kCompensateSuffix);
  comp->pos = posOf(node);
  comp->kind = StepKind::kRun;
  comp->env = step.env;
  comp->passEnv = step.passEnv;
  comp->workdir = step.workdir;
  comp->killGrace = step.killGrace;
  comp->killGraceDefaulted = step.killGraceDefaulted;
  const size_t first = st.templates.size();
  if (node.IsScalar()) {
    comp->run = node.Scalar();
    comp->timeout = step.timeout;
    st.addTemplate(index, r.where(), "compensate", comp->run, posOf(node));
    checkShellQuoting(node, comp->run, subject, st);
  } else if (!node.IsMap()) {
    st.diag.add(posOf(node), subject +
                                 ": expected a command or a mapping {run | http, timeout, "
                                 "retry}, got " +
                                 describe(node));
    return;
  } else {
    const std::string where = r.where() + " compensate";
    MapReader c(node, where, "compensate.", st.diag);
    c.checkKeys({"run", "http", "timeout", "retry"});
    if (c.has("run") == c.has("http")) {
      st.diag.add(posOf(node), subject + ": give exactly one of run or http");
      return;
    }
    if (c.has("run")) {
      if (auto run = c.string("run")) {
        comp->run = *run;
        st.addTemplate(index, r.where(), "compensate.run", *run, posOf(*c.find("run")));
        checkShellQuoting(*c.find("run"), *run, c.subject("run"), st);
      }
    } else {
      comp->kind = StepKind::kHttp;
      readHttp(*c.find("http"), *comp, index, where, st);
    }
    comp->timeout = c.duration("timeout", false);
    if (!c.has("timeout"))
      st.diag.add(posOf(node), subject + " has no timeout: every compensation needs one (G10)");
    if (auto retry = c.mapping("retry")) comp->retry = readRetry(*retry, where, st.diag);
  }
  for (size_t i = first; i < st.templates.size(); ++i) st.templates[i].allowSelf = true;
  step.compensation = std::move(comp);
}

void readOptional(const MapReader& r, StepSpec& step, StepMeta& meta, int index, ParseState& st) {
  step.timeout = r.duration("timeout", false);
  if (auto grace = r.duration("kill_grace", true)) {
    step.killGrace = *grace;
    step.killGraceDefaulted = false;
  }
  step.heartbeat = r.duration("heartbeat", false);
  if (step.heartbeat && step.kind != StepKind::kTask)
    st.diag.add(r.keyPos("heartbeat"),
                r.subject("heartbeat") + ": only task steps have heartbeats (a worker sends them)");
  if (step.kind == StepKind::kApproval) {
    // A decision is made once: there is nothing to retry, and its time
    // limit is the approval's own.
    if (r.has("retry"))
      st.diag.add(r.keyPos("retry"),
                  r.subject("retry") +
                      ": an approval step is decided once and never retried; remove `retry:`");
    if (r.has("timeout"))
      st.diag.add(r.keyPos("timeout"),
                  r.subject("timeout") +
                      ": an approval step's time limit is `approval.timeout`; remove this one");
  }
  if (auto retry = r.mapping("retry")) step.retry = readRetry(*retry, r.where(), st.diag);
  readEnv(r, step, index, st);
  readPassEnv(r, step, st.diag);
  if (auto wd = r.string("workdir")) {
    step.workdir = joinWorkdir(st.spec.workdir, *wd);
    st.addTemplate(index, r.where(), "workdir", *wd, posOf(*r.find("workdir")));
  }
  if (auto uses = r.string("uses")) {
    step.uses = *uses;
    meta.usesPos = posOf(*r.find("uses"));
  }
  if (const YAML::Node* comp = r.find("compensate")) readCompensate(*comp, r, step, index, st);
  if (const YAML::Node* emit = r.find("emit")) step.emit = readEmit(*emit, index, r.where(), st);
}

}  // namespace

// Where the k-th template of a scalar is in the file: the scalar's text in
// the file holds the same "{{" ... "}}" pairs as its value (YAML escapes,
// folding and indentation never make or remove braces), so the k-th pair
// after the node's start is it. The node's own position if that fails.
SourcePos templatePos(const YAML::Node& node, size_t k, std::string_view source) {
  SourcePos fallback = posOf(node);
  YAML::Mark m = node.Mark();
  if (m.is_null() || m.pos < 0 || static_cast<size_t>(m.pos) >= source.size()) return fallback;
  size_t at = static_cast<size_t>(m.pos), open = std::string_view::npos;
  for (size_t i = 0; i <= k; ++i) {
    open = source.find("{{", at);
    if (open == std::string_view::npos) return fallback;
    size_t close = source.find("}}", open + 2);
    if (close == std::string_view::npos) return fallback;
    at = close + 2;
  }
  size_t lineStart = source.rfind('\n', open);
  lineStart = lineStart == std::string_view::npos ? 0 : lineStart + 1;
  int line = 1 + static_cast<int>(std::count(source.begin(), source.begin() + open, '\n'));
  return SourcePos{line, static_cast<int>(open - lineStart) + 1};
}

void checkShellQuoting(const YAML::Node& node, const std::string& command,
                       const std::string& subject, ParseState& st) {
  auto refs = templateRefs(command);
  if (!refs.ok()) return;  // checkGraph() reports the syntax
  for (const MisquotedTemplate& m : misquotedTemplates(command)) {
    size_t k = 0;
    while (k < refs->size() && static_cast<size_t>((*refs)[k].column - 1) < m.offset) ++k;
    st.diag.add(templatePos(node, k, st.source),
                subject + ": {{ " + m.expr + " }} is " + m.where + "; " + m.fix);
  }
}

void readStep(const YAML::Node& node, int index, ParseState& st) {
  StepSpec step;
  StepMeta meta;
  step.pos = posOf(node);
  step.workdir = st.spec.workdir;
  std::string where = "step #" + std::to_string(index + 1);
  if (!node.IsMap()) {
    st.diag.add(step.pos, where +
                              ": expected a mapping with a name and one of run, noop, "
                              "sleep, http, task, approval, got " +
                              describe(node));
    st.spec.steps.push_back(std::move(step));
    st.steps.push_back(std::move(meta));
    return;
  }
  MapReader r(node, where, "", st.diag);
  readStepName(r, step, meta, st.diag);
  r.checkKeys(kStepKeys);
  readKind(r, step, index, st);
  readNeeds(r, step, meta, st.diag);
  readOptional(r, step, meta, index, st);
  bool doesWork =
      step.kind == StepKind::kRun || step.kind == StepKind::kHttp || step.kind == StepKind::kTask;
  bool hasKind = false;
  for (const auto& k : kKinds) hasKind = hasKind || r.has(k);
  if (doesWork && hasKind && !r.has("timeout"))
    st.diag.add(r.pos(), r.where() + " has no timeout: every step that does work needs one (G10)");
  st.spec.steps.push_back(std::move(step));
  st.steps.push_back(std::move(meta));
}

}  // namespace keel::spec::detail
