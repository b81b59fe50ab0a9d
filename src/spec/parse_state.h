// ParseState: what one parseWorkflow() call builds, internal to spec/.
//
// The readers (parse_workflow.cc, parse_step.cc, parse_retry.cc,
// parse_triggers.cc) fill the WorkflowSpec and note what can only be checked
// once everything is read: step name positions, `needs` and `uses`
// positions, and every template. checkGraph() then checks names across
// steps, cycles and template references. One parse owns one ParseState.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "spec/diagnostics.h"
#include "spec/parser.h"

namespace keel::spec::detail {

// A template seen while reading, checked by checkGraph().
struct TemplateSite {
  int step = -1;      // index into spec.steps; -1 for workflow-level fields
  std::string where;  // "step 'fetch'", or "" at the top level
  std::string field;  // "run", "env.DATE", "concurrency.key", ...
  std::string text;
  SourcePos pos;
  bool allowSteps = true;  // false: only params and run may be used
  // true: the step's own output may be used (its `emit:`, rendered once it
  // succeeded).
  bool allowSelf = false;
  // true: an event trigger's params, where only event.* may be used.
  bool eventOnly = false;
  // true: a cron trigger's params, where only schedule.* may be used.
  bool scheduleOnly = false;
  // true: an after trigger's params, where only upstream.* may be used.
  bool upstreamOnly = false;
  // true: a file trigger's params, where only file.* may be used.
  bool fileOnly = false;
};

// What the checks across steps need to know about one step.
struct StepMeta {
  bool named = false;  // the step has a valid name
  SourcePos namePos;
  std::vector<SourcePos> needsPos;  // parallel to StepSpec::needs
  SourcePos usesPos;
};

struct ParseState {
  explicit ParseState(const ParseOptions& o) : options(o), diag(o.fileName) {}

  const ParseOptions& options;
  std::string_view source;  // the YAML text, to place problems inside a scalar
  Diagnostics diag;
  WorkflowSpec spec;
  bool paramsDeclared = false;  // a `params:` block exists, so params.X must be declared
  std::vector<StepMeta> steps;  // parallel to spec.steps
  std::vector<TemplateSite> templates;

  void addTemplate(int step, std::string where, std::string field, std::string text, SourcePos pos,
                   bool allowSteps = true) {
    templates.push_back(
        TemplateSite{step, std::move(where), std::move(field), std::move(text), pos, allowSteps});
  }
};

// "base/rel", or rel when it is absolute (or base is empty), or base when rel
// is empty.
std::string joinWorkdir(const std::string& base, const std::string& rel);

// Registers every string leaf of a JSON value (an http step's `json:`, a
// task's `input:`) as a template of step `index`; keys must be literal.
// parse_http.cc
void addJsonTemplates(const nlohmann::json& j, const std::string& field, SourcePos pos, int index,
                      const std::string& where, ParseState& st);

// An `emit:` (a topic, or a mapping {topic, payload}) of step `index`
// (-1: a workflow's `on_end:` item). parse_emit.cc
std::optional<EmitSpec> readEmit(const YAML::Node& node, int index, const std::string& where,
                                 ParseState& st);
// The workflow's `on_end:` list, into st.spec.onEnd. parse_emit.cc
void readOnEnd(const YAML::Node& node, ParseState& st);

// The top level; `root` is a mapping. parse_workflow.cc
void readWorkflow(const YAML::Node& root, ParseState& st);
// `escalate_after:` and `escalation:` of a workflow (parse_escalation.cc).
class MapReader;
void readEscalation(const MapReader& r, ParseState& st);
// One item of `steps:`, appended to st.spec.steps and st.steps. parse_step.cc
void readStep(const YAML::Node& node, int index, ParseState& st);
// A `retry:` mapping; the keys it leaves out keep their value in
// `defaults` (a step's: RetryPolicy{}). parse_retry.cc
RetryPolicy readRetry(const YAML::Node& node, const std::string& where, Diagnostics& diag,
                      const RetryPolicy& defaults = RetryPolicy{});
// `triggers:` and `dependencies:`. parse_triggers.cc
void readTriggers(const YAML::Node& node, ParseState& st);
void readDependencies(const YAML::Node& node, ParseState& st);
// Refuses every template of a shell command (`run:`, `compensate:`) that is
// not where a quoted word is read as a word (shell.h), each at its own
// position in the file. `node` is the command's scalar. parse_step.cc
void checkShellQuoting(const YAML::Node& node, const std::string& command,
                       const std::string& subject, ParseState& st);
// An `http:` block, into step.http. parse_http.cc
void readHttp(const YAML::Node& node, StepSpec& step, int index, const std::string& where,
              ParseState& st);
// Where the k-th template ("{{") of the scalar `node` is in `source`; the
// node's own position when it cannot tell. parse_step.cc
SourcePos templatePos(const YAML::Node& node, size_t k, std::string_view source);
// Checks across steps: duplicate names, needs, uses, cycles, templates.
// check_graph.cc
void checkGraph(ParseState& st);

}  // namespace keel::spec::detail
