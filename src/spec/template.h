// Templates: "{{ params.date }}", "{{ steps.fetch.output.path }}", "{{ run.id }}".
//
// A template is parsed once (validating its syntax and references at apply
// time) and rendered with a TemplateContext when a run starts or a step
// becomes ready. A reference to a missing value is an error (bad input),
// never an empty string. Thread-safe: no shared state.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace keel::spec {

struct TemplateRef {
  // "params", "steps", "run" (or "event", reserved for a later keel)
  std::string root;
  // the dotted path after the root, e.g. {"fetch", "output", "path"}
  std::vector<std::string> path;
  std::string text;  // as written, e.g. "steps.fetch.output.path"
};

// The references in a template, or an error naming the bad expression.
Result<std::vector<TemplateRef>> templateRefs(std::string_view tmpl);

struct TemplateContext {
  const nlohmann::json* params = nullptr;        // object of strings
  const std::map<std::string, nlohmann::json>* stepOutputs = nullptr;  // step name -> output
  std::string runId;
  std::string workflow;
};

// Renders the template. Strings are inserted as is; numbers, booleans and
// null as JSON; objects and arrays as compact JSON.
Result<std::string> renderTemplate(std::string_view tmpl, const TemplateContext& ctx);

}  // namespace keel::spec
