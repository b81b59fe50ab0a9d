// Templates: "{{ params.date }}", "{{ steps.fetch.output.path }}", "{{ run.id }}".
//
// A template is plain text with expressions between "{{" and "}}" (spaces
// inside the braces are optional). An expression is a dotted path of
// identifiers made of [A-Za-z0-9_-]; its first part is the root: "params",
// "steps", "run", or "event" (only in an event trigger's params: the event
// that starts the run: event.id, event.topic, event.payload.X),
// "schedule" (only in a cron trigger's params: schedule.time, the instant
// fired for in RFC 3339 with the zone's offset, schedule.date, its local
// date YYYY-MM-DD), or "upstream" (only in an after trigger's params: the
// run whose end starts this one: upstream.run_id, upstream.workflow,
// upstream.state, upstream.steps.X.output[.KEY...]). There is no escape
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
  // "params", "steps", "run", "event", "schedule" or "upstream"
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
  // An event trigger's params: {"id", "topic", "payload"} of the event.
  // Null elsewhere: event.* is then a missing value.
  const nlohmann::json* event = nullptr;
  // A cron trigger's params: {"time", "date"} of the instant fired for.
  // Null elsewhere: schedule.* is then a missing value.
  const nlohmann::json* schedule = nullptr;
  // An after trigger's params: {"run_id", "workflow", "state", "steps":
  // {NAME: {"output": ...}}} of the upstream run that ended. Null
  // elsewhere: upstream.* is then a missing value.
  const nlohmann::json* upstream = nullptr;
  // A file trigger's params: {"path", "name", "size", "mtime"} of the file
  // that arrived. Null elsewhere: file.* is then a missing value.
  const nlohmann::json* file = nullptr;
};

// How a value is written where it lands. kNone: as is (environment values,
// working directories, the concurrency key, http headers and `body:`: none
// of them is shell text or a URL).
// kShell: as one single-quoted shell word (shellQuote() in shell.h), for
// `run:` commands, so that a value is data, never code (G13).
// kUrlPathSegment: percentEncode()d, so a value stays inside one path
// segment of an http step's URL ('/' is %2F); a value that is "." or ".."
// is refused, as it would move up or stay in the path.
// kUrlQuery: percentEncode()d, so a value stays one query component ('&',
// '=', '#', '+' and spaces encoded).
enum class Escape { kNone, kShell, kUrlPathSegment, kUrlQuery };

// Every byte except the unreserved characters of RFC 3986 (A-Z a-z 0-9 - . _ ~)
// as %XX (upper-case hex): UTF-8 text becomes one %XX per byte.
std::string percentEncode(std::string_view value);

// Renders the template. Strings are inserted as is (then escaped); numbers,
// booleans and null as JSON; objects and arrays as compact JSON. Errors
// (kInvalidArgument) name the missing param, step output or key, or a value
// that holds a NUL byte (no C string, so no command, argument or environment
// variable, can carry one: it would be cut short there).
Result<std::string> renderTemplate(std::string_view tmpl, const TemplateContext& ctx,
                                   Escape escape = Escape::kNone);

// A template as a JSON value, for an http step's `json:`: a template that is
// exactly one expression ("{{ steps.load.output.rows }}", spaces inside the
// braces allowed, nothing around them) is that value with its JSON type
// (params and run.* are strings, step outputs keep theirs); any other text
// is renderTemplate(kNone) as a JSON string. A value holding a NUL byte,
// at any depth, is an error (kInvalidArgument), as in renderTemplate().
Result<nlohmann::json> renderTemplateValue(std::string_view tmpl, const TemplateContext& ctx);

// A JSON value whose string leaves are templates (an http step's `json:`, a
// task step's `input:`), each rendered by renderTemplateValue(); keys are
// literal. Errors name the leaf: "FIELD.rows.0: no step output ...".
Result<nlohmann::json> renderJsonTemplate(const nlohmann::json& value, const TemplateContext& ctx,
                                          const std::string& field);

// The largest param value a trigger may pass, in bytes.
inline constexpr size_t kMaxParamBytes = 64 * 1024;

// Whether `value` can be a param value: valid UTF-8, no NUL byte, at most
// kMaxParamBytes. The error (kInvalidArgument) reads
// "param 'NAME': contains a NUL byte at offset 3" (byte offsets from 0).
Status checkParamValue(std::string_view name, std::string_view value);

// The environment variable a param is passed in: "KEEL_PARAM_" followed by the
// name in upper case, every character that is not a letter or digit made '_'
// ("date" -> KEEL_PARAM_DATE, "run-id" -> KEEL_PARAM_RUN_ID).
std::string paramEnvName(const std::string& param);

// The environment variable an upstream step's output (as JSON) is passed in:
// "KEEL_OUTPUT_" and the step name mangled as by paramEnvName()
// ("load-db" -> KEEL_OUTPUT_LOAD_DB).
std::string stepOutputEnvName(const std::string& step);

}  // namespace keel::spec
