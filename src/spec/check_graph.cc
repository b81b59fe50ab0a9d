// Checks that need every step at once: unique names, `needs` and `uses`
// that resolve, no cycles, and templates that refer only to what a step can
// see when it runs.
#include <algorithm>
#include <map>
#include <set>

#include "spec/parse_state.h"
#include "spec/template.h"

namespace keel::spec::detail {
namespace {

using Graph = std::vector<std::vector<int>>;  // step -> the steps it needs

std::vector<std::string> keysOf(const std::map<std::string, int>& m) {
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(k);
  return out;
}

// Resolves names and needs; reports duplicates, unknown and self needs.
Graph resolveNeeds(ParseState& st, std::map<std::string, int>& byName) {
  const auto& steps = st.spec.steps;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (!st.steps[i].named) continue;
    auto [it, fresh] = byName.emplace(steps[i].name, static_cast<int>(i));
    if (!fresh)
      st.diag.add(st.steps[i].namePos, "duplicate step name '" + steps[i].name +
                                           "' (first defined at line " +
                                           std::to_string(st.steps[it->second].namePos.line) + ")");
  }
  std::vector<std::string> names = keysOf(byName);
  Graph g(steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    std::string who =
        st.steps[i].named ? "step '" + steps[i].name + "'" : "step #" + std::to_string(i + 1);
    for (size_t k = 0; k < steps[i].needs.size(); ++k) {
      const std::string& need = steps[i].needs[k];
      SourcePos pos = st.steps[i].needsPos[k];
      auto it = byName.find(need);
      if (st.steps[i].named && need == steps[i].name)
        st.diag.add(pos, who + " needs itself");
      else if (it == byName.end())
        st.diag.add(pos,
                    who + " needs unknown step '" + need + "'" + st.diag.didYouMean(need, names));
      else
        g[i].push_back(it->second);
    }
  }
  return g;
}

// Each step's output is passed to the steps after it as KEEL_OUTPUT_<NAME>:
// two names that mangle alike ("load-db", "load_db") would share one.
void checkOutputEnvNames(ParseState& st) {
  std::map<std::string, int> byEnvName;
  for (size_t i = 0; i < st.spec.steps.size(); ++i) {
    if (!st.steps[i].named) continue;
    const std::string& name = st.spec.steps[i].name;
    auto [it, fresh] = byEnvName.emplace(stepOutputEnvName(name), static_cast<int>(i));
    const std::string& other = st.spec.steps[it->second].name;
    if (!fresh && other != name)
      st.diag.add(st.steps[i].namePos, "steps '" + other + "' and '" + name +
                                           "' would both pass their output as " + it->first +
                                           ": rename one");
  }
}

void checkUses(ParseState& st) {
  std::vector<std::string> deps;
  for (const auto& d : st.spec.dependencies) deps.push_back(d.name);
  std::set<std::string> known(deps.begin(), deps.end());
  for (size_t i = 0; i < st.spec.steps.size(); ++i) {
    const StepSpec& s = st.spec.steps[i];
    if (s.uses.empty() || known.count(s.uses)) continue;
    std::string hint = st.diag.didYouMean(s.uses, deps);
    if (hint.empty()) hint = " (declare it under dependencies:)";
    st.diag.add(st.steps[i].usesPos,
                "step '" + s.name + "' uses unknown dependency '" + s.uses + "'" + hint);
  }
}

// Strongly connected components (Tarjan's, iterative: a generated workflow
// may have thousands of steps in a chain). Returns a component id per step.
std::vector<int> components(const Graph& g) {
  int n = static_cast<int>(g.size()), counter = 0, comps = 0;
  std::vector<int> index(n, -1), low(n, 0), comp(n, -1), stack;
  std::vector<bool> onStack(n, false);
  std::vector<std::pair<int, size_t>> call;  // (node, next edge)
  for (int root = 0; root < n; ++root) {
    if (index[root] >= 0) continue;
    call.push_back({root, 0});
    while (!call.empty()) {
      auto& [v, e] = call.back();
      if (e == 0 && index[v] < 0) {
        index[v] = low[v] = counter++;
        stack.push_back(v);
        onStack[v] = true;
      }
      if (e < g[v].size()) {
        int w = g[v][e++];
        if (index[w] < 0)
          call.push_back({w, 0});
        else if (onStack[w])
          low[v] = std::min(low[v], index[w]);
        continue;
      }
      if (low[v] == index[v]) {
        int w;
        do {
          w = stack.back();
          stack.pop_back();
          onStack[w] = false;
          comp[w] = comps;
        } while (w != v);
        ++comps;
      }
      int done = v;
      call.pop_back();
      if (!call.empty()) low[call.back().first] = std::min(low[call.back().first], low[done]);
    }
  }
  return comp;
}

// The shortest cycle through `start` inside its component, as step indexes.
std::vector<int> cycleThrough(const Graph& g, const std::vector<int>& comp, int start) {
  std::map<int, int> parent{{start, -1}};
  std::vector<int> queue{start};
  for (size_t qi = 0; qi < queue.size(); ++qi) {
    int v = queue[qi];
    for (int w : g[v]) {
      if (w == start) {
        std::vector<int> path;
        for (int x = v; x != -1; x = parent[x]) path.push_back(x);
        std::reverse(path.begin(), path.end());
        return path;
      }
      if (comp[w] == comp[start] && !parent.count(w)) {
        parent[w] = v;
        queue.push_back(w);
      }
    }
  }
  return {start};
}

void checkCycles(ParseState& st, const Graph& g) {
  std::vector<int> comp = components(g);
  std::map<int, int> size, first;
  for (int i = 0; i < static_cast<int>(comp.size()); ++i) {
    if (!size[comp[i]]++) first[comp[i]] = i;
  }
  for (const auto& [c, start] : first) {
    if (size[c] < 2) continue;  // self needs are reported apart
    std::string text;
    for (int i : cycleThrough(g, comp, start)) text += st.spec.steps[i].name + " -> ";
    st.diag.add(st.steps[start].namePos, "cycle in needs: " + text + st.spec.steps[start].name);
  }
}

// Whether `step` needs `target`, directly or through its needs. Linear in
// the steps; a flat visited array keeps a long chain of templated steps fast.
bool isUpstream(const Graph& g, int step, int target) {
  std::vector<char> seen(g.size(), 0);
  std::vector<int> todo = g[step];
  while (!todo.empty()) {
    int v = todo.back();
    todo.pop_back();
    if (v == target) return true;
    if (seen[v]) continue;
    seen[v] = 1;
    todo.insert(todo.end(), g[v].begin(), g[v].end());
  }
  return false;
}

// What every template check needs, computed once.
struct Names {
  const std::map<std::string, int>& byName;
  std::vector<std::string> steps;
  std::set<std::string> paramSet;
  std::vector<std::string> params;
};

// Why a reference is not allowed at this site, or "" if it is.
std::string refProblem(const TemplateRef& ref, const TemplateSite& site, ParseState& st,
                       const Names& names, const Graph& g) {
  const auto& byName = names.byName;
  std::string expr = "{{ " + ref.text + " }}";
  if (site.eventOnly) {
    if (ref.root != "event")
      return expr +
             ": a trigger's params can use only event.id, event.topic and "
             "event.payload.X (the event that starts the run)";
    if (ref.path.size() == 1 && (ref.path[0] == "id" || ref.path[0] == "topic")) return "";
    if (!ref.path.empty() && ref.path[0] == "payload") return "";
    return expr + ": use event.id, event.topic, event.payload or event.payload.X";
  }
  if (site.scheduleOnly) {
    if (ref.root == "schedule" && ref.path.size() == 1 &&
        (ref.path[0] == "time" || ref.path[0] == "date"))
      return "";
    return expr +
           ": a cron trigger's params can use only schedule.time and schedule.date (the "
           "instant the schedule fires for)";
  }
  if (site.fileOnly) {
    if (ref.root == "file" && ref.path.size() == 1 &&
        (ref.path[0] == "path" || ref.path[0] == "name" || ref.path[0] == "size" ||
         ref.path[0] == "mtime"))
      return "";
    return expr +
           ": a file trigger's params can use only file.path, file.name, file.size and "
           "file.mtime (the file that arrived)";
  }
  if (ref.root == "event")
    return expr + ": event.* can be used only in the params: of an event trigger";
  if (ref.root == "file")
    return expr + ": file.* can be used only in the params: of a file trigger";
  if (site.upstreamOnly) {
    if (ref.root != "upstream")
      return expr +
             ": an after trigger's params can use only upstream.run_id, upstream.workflow, "
             "upstream.state and upstream.steps.NAME.output (the run whose end starts this one)";
    if (ref.path.size() == 1 &&
        (ref.path[0] == "run_id" || ref.path[0] == "workflow" || ref.path[0] == "state"))
      return "";
    if (ref.path.size() >= 3 && ref.path[0] == "steps" && ref.path[2] == "output") return "";
    return expr +
           ": use upstream.run_id, upstream.workflow, upstream.state or "
           "upstream.steps.NAME.output[.KEY]";
  }
  if (ref.root == "upstream")
    return expr + ": upstream.* can be used only in the params: of an after trigger";
  if (ref.root == "schedule")
    return expr + ": schedule.* can be used only in the params: of a cron trigger";
  if (ref.root == "params") {
    if (ref.path.size() != 1) return expr + ": write params.NAME";
    if (!st.paramsDeclared) return "";
    if (names.paramSet.count(ref.path[0])) return "";
    return expr + ": no param '" + ref.path[0] +
           "' is declared under params:" + st.diag.didYouMean(ref.path[0], names.params);
  }
  if (ref.root == "run") {
    if (ref.path.size() == 1 && (ref.path[0] == "id" || ref.path[0] == "workflow")) return "";
    return expr + ": use run.id or run.workflow";
  }
  if (ref.root != "steps")
    return expr + ": unknown root '" + ref.root + "' (use params, steps or run)";
  if (!site.allowSteps) return expr + ": only params and run can be used here";
  if (ref.path.size() < 2 || ref.path[1] != "output")
    return expr + ": write steps.NAME.output or steps.NAME.output.KEY";
  const std::string& name = ref.path[0];
  auto it = byName.find(name);
  if (it == byName.end())
    return expr + ": no step named '" + name + "'" + st.diag.didYouMean(name, names.steps);
  if (site.step < 0 || !st.steps[site.step].named) return "";
  const std::string& self = st.spec.steps[site.step].name;
  if (it->second == site.step) {
    if (site.allowSelf) return "";
    return "step '" + self + "' uses its own output (" + expr + ")";
  }
  if (!isUpstream(g, site.step, it->second))
    return "step '" + self + "' uses steps." + name + ".output but does not need '" + name + "'";
  return "";
}

// An event trigger's params must be params the workflow declares, when it
// declares any.
void checkTriggerParams(ParseState& st) {
  if (!st.paramsDeclared) return;
  std::vector<std::string> declared;
  for (const auto& p : st.spec.params) declared.push_back(p.name);
  for (const auto& t : st.spec.triggers)
    for (const auto& [name, text] : t.params)
      if (std::find(declared.begin(), declared.end(), name) == declared.end())
        st.diag.add(t.pos, "trigger: params." + name + ": no param '" + name +
                               "' is declared under params:" + st.diag.didYouMean(name, declared));
}

void checkTemplates(ParseState& st, const std::map<std::string, int>& byName, const Graph& g) {
  Names names{byName, keysOf(byName), {}, {}};
  for (const auto& p : st.spec.params) {
    names.params.push_back(p.name);
    names.paramSet.insert(p.name);
  }
  for (const TemplateSite& site : st.templates) {
    std::string subject = site.where.empty() ? site.field : site.where + ": " + site.field;
    auto refs = templateRefs(site.text);
    if (!refs.ok()) {
      st.diag.add(site.pos, subject + ": " + refs.error().message());
      continue;
    }
    for (const TemplateRef& ref : *refs) {
      std::string why = refProblem(ref, site, st, names, g);
      if (why.empty()) continue;
      // Messages that already name the step read better without the prefix.
      bool namesStep = why.starts_with("step '");
      st.diag.add(site.pos, namesStep ? why + " (in " + site.field + ")" : subject + ": " + why);
    }
  }
}

}  // namespace

void checkGraph(ParseState& st) {
  std::map<std::string, int> byName;
  Graph g = resolveNeeds(st, byName);
  checkOutputEnvNames(st);
  checkUses(st);
  checkCycles(st, g);
  checkTemplates(st, byName, g);
  checkTriggerParams(st);
}

}  // namespace keel::spec::detail
