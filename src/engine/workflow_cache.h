// WorkflowCache: parsed workflow versions, shared by the API threads and
// the engine loop.
//
// A stored version is immutable, so it is parsed once and shared as
// shared_ptr<const LoadedWorkflow>. The cache also knows the latest version
// of each workflow, which is what a new trigger runs. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/result.h"
#include "spec/workflow.h"
#include "store/store.h"

namespace keel::engine {

// A run's steps are the workflow's steps (indexes 0..stepCount-1), then one
// per `compensate:`, named "STEP.compensate" (engine_compensate.cc). A
// compensation needs the step it undoes (for its output) but is no
// dependant of it: nothing in the DAG readies it, and no run-end rule
// counts it.
struct LoadedWorkflow {
  store::WorkflowVersionRow row;
  std::shared_ptr<const spec::WorkflowSpec> spec;
  int stepCount = 0;                         // the workflow's own steps
  std::vector<const spec::StepSpec*> specs;  // step index -> its spec (both kinds)
  std::vector<int> compensationOf;           // step index -> its compensation's, or -1
  std::vector<int> compensates;              // step index -> the step it undoes, or -1
  std::vector<std::vector<int>> needs;       // step index -> indexes it needs
  std::vector<std::vector<int>> dependants;  // step index -> indexes that need it
  std::set<std::string> paramRefs;           // every params.X a template uses
  std::map<std::string, int> stepIndex;

  const spec::StepSpec& step(int idx) const { return *specs[idx]; }
  bool isCompensation(int idx) const { return idx >= stepCount; }
};

// Builds the indexes of a parsed spec. Fails only if the stored text no
// longer parses (a bug or a hand-edited database).
Result<std::shared_ptr<const LoadedWorkflow>> loadWorkflow(store::WorkflowVersionRow row);

class WorkflowCache {
 public:
  explicit WorkflowCache(store::Store& store) : store_(store) {}

  // Reads the latest version of every workflow. One whose stored text no
  // longer parses is logged and left out: latest() then answers its error.
  Status loadLatest();
  // The latest version; kNotFound if there is no such workflow, kCorrupt
  // if its latest stored version no longer parses.
  Result<std::shared_ptr<const LoadedWorkflow>> latest(const std::string& name);
  // The latest version of every workflow that parses, by name.
  std::vector<std::shared_ptr<const LoadedWorkflow>> allLatest();
  // A given version, from the cache or the store.
  Result<std::shared_ptr<const LoadedWorkflow>> version(const std::string& name, int version);
  void put(std::shared_ptr<const LoadedWorkflow> wf);  // also becomes the latest

 private:
  store::Store& store_;
  std::mutex mu_;
  std::map<std::pair<std::string, int>, std::shared_ptr<const LoadedWorkflow>> byVersion_;
  std::map<std::string, std::shared_ptr<const LoadedWorkflow>> latest_;
  std::map<std::string, Error> brokenLatest_;  // cleared by put()
};

}  // namespace keel::engine
