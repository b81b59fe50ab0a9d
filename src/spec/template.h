// Templates: "{{ params.date }}", "{{ steps.fetch.output.path }}", "{{ run.id }}".
//
// A template is plain text with expressions between "{{" and "}}" (spaces
// inside the braces are optional). An expression is a dotted path of
// identifiers made of [A-Za-z0-9_-]; its first part is the root: "params",
// "steps" or "run" ("event" is reserved for a later keel). There is no escape
// syntax and no filters: keel templates only substitute values.
//
// A template is checked once (syntax with templateRefs(), references by the
// parser against the workflow) when a workflow is applied, and rendered with
// a TemplateContext when a run starts or a step becomes ready. A reference to
// a missing value is an error (bad input), never an empty string.
// Thread-safe: no shared state.
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
  int column = 0;    // 1-based column of the "{{" in the template
};

// The references in a template, in order, or a kInvalidArgument error naming
// the bad expression and its column. Checks syntax only: which roots and
// names are allowed is the parser's business.
Result<std::vector<TemplateRef>> templateRefs(std::string_view tmpl);

struct TemplateContext {
  const nlohmann::json* params = nullptr;                              // object of strings
  const std::map<std::string, nlohmann::json>* stepOutputs = nullptr;  // step name -> output
  std::string runId;
  std::string workflow;
};

// Renders the template. Strings are inserted as is; numbers, booleans and
// null as JSON; objects and arrays as compact JSON. Errors (kInvalidArgument)
// name the missing param, step output or key.
Result<std::string> renderTemplate(std::string_view tmpl, const TemplateContext& ctx);

// The environment variable a param is passed in: "KEEL_PARAM_" followed by the
// name in upper case, every character that is not a letter or digit made '_'
// ("date" -> KEEL_PARAM_DATE, "run-id" -> KEEL_PARAM_RUN_ID).
std::string paramEnvName(const std::string& param);

}  // namespace keel::spec
