#include "engine/workflow_cache.h"

#include <spdlog/spdlog.h>

#include "spec/parser.h"
#include "spec/template.h"

namespace keel::engine {
namespace {

void collectParamRefs(const std::string& tmpl, std::set<std::string>& out) {
  auto refs = spec::templateRefs(tmpl);
  if (!refs.ok()) return;
  for (const auto& r : *refs)
    if (r.root == "params" && !r.path.empty()) out.insert(r.path[0]);
}

}  // namespace

Result<std::shared_ptr<const LoadedWorkflow>> loadWorkflow(store::WorkflowVersionRow row) {
  spec::ParseOptions opts;
  opts.fileName = row.name + "@v" + std::to_string(row.version);
  opts.defaultWorkdir = row.workdir;
  auto parsed = spec::parseWorkflow(row.yaml, opts);
  if (!parsed.ok())
    return Error(
        ErrorCode::kCorrupt,
        "stored workflow " + opts.fileName + " no longer parses: " + parsed.error().message(),
        parsed.error().details());
  auto wf = std::make_shared<LoadedWorkflow>();
  wf->row = std::move(row);
  wf->spec = *parsed;
  const auto& steps = wf->spec->steps;
  wf->stepCount = static_cast<int>(steps.size());
  for (const auto& s : steps) wf->specs.push_back(&s);
  wf->compensationOf.assign(steps.size(), -1);
  wf->compensates.assign(steps.size(), -1);
  for (size_t i = 0; i < steps.size(); ++i) {
    if (!steps[i].compensation) continue;
    wf->compensationOf[i] = static_cast<int>(wf->specs.size());
    wf->compensates.push_back(static_cast<int>(i));
    wf->specs.push_back(steps[i].compensation.get());
  }
  for (size_t i = 0; i < wf->specs.size(); ++i)
    wf->stepIndex[wf->specs[i]->name] = static_cast<int>(i);
  wf->needs.resize(wf->specs.size());
  wf->dependants.resize(wf->specs.size());
  for (size_t i = steps.size(); i < wf->specs.size(); ++i) {
    wf->needs[i].push_back(wf->compensates[i]);
    collectParamRefs(wf->specs[i]->run, wf->paramRefs);
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    for (const auto& n : steps[i].needs) {
      int j = wf->stepIndex.at(n);  // the parser guarantees every need exists
      wf->needs[i].push_back(j);
      wf->dependants[j].push_back(static_cast<int>(i));
    }
    collectParamRefs(steps[i].run, wf->paramRefs);
    collectParamRefs(steps[i].workdir, wf->paramRefs);
    for (const auto& [k, v] : steps[i].env) collectParamRefs(v, wf->paramRefs);
  }
  if (wf->spec->concurrency) collectParamRefs(wf->spec->concurrency->key, wf->paramRefs);
  return std::shared_ptr<const LoadedWorkflow>(std::move(wf));
}

Status WorkflowCache::loadLatest() {
  auto rows = store_.listWorkflows();
  if (!rows.ok()) return rows.error();
  for (auto& row : *rows) {
    auto wf = loadWorkflow(row);
    if (!wf.ok()) {
      spdlog::error("{}; apply a fixed version to trigger it again", wf.error().toString());
      std::lock_guard lock(mu_);
      brokenLatest_.insert_or_assign(row.name, wf.error());
      continue;
    }
    put(*wf);
  }
  return okStatus();
}

std::vector<std::shared_ptr<const LoadedWorkflow>> WorkflowCache::allLatest() {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<const LoadedWorkflow>> out;
  out.reserve(latest_.size());
  for (const auto& [name, wf] : latest_) out.push_back(wf);
  return out;
}

Result<std::shared_ptr<const LoadedWorkflow>> WorkflowCache::latest(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = latest_.find(name);
  if (auto broken = brokenLatest_.find(name); it == latest_.end() && broken != brokenLatest_.end())
    return broken->second;
  if (it == latest_.end())
    return Error(ErrorCode::kNotFound, "no workflow named '" + name + "' (apply it first)");
  return it->second;
}

Result<std::shared_ptr<const LoadedWorkflow>> WorkflowCache::version(const std::string& name,
                                                                     int version) {
  {
    std::lock_guard lock(mu_);
    auto it = byVersion_.find({name, version});
    if (it != byVersion_.end()) return it->second;
  }
  auto row = store_.getWorkflow(name, version);
  if (!row.ok()) return row.error();
  if (!row->has_value())
    return Error(ErrorCode::kNotFound,
                 "workflow '" + name + "' has no version " + std::to_string(version));
  auto wf = loadWorkflow(**row);
  if (!wf.ok()) return wf.error();
  std::lock_guard lock(mu_);
  byVersion_[{name, version}] = *wf;
  return *wf;
}

void WorkflowCache::put(std::shared_ptr<const LoadedWorkflow> wf) {
  std::lock_guard lock(mu_);
  byVersion_[{wf->row.name, wf->row.version}] = wf;
  brokenLatest_.erase(wf->row.name);
  auto& cur = latest_[wf->row.name];
  if (!cur || cur->row.version <= wf->row.version) cur = wf;
}

}  // namespace keel::engine
