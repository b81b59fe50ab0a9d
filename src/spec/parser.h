// Parsing and validating workflow YAML.
//
// parseWorkflow() reads one YAML document and returns a validated
// WorkflowSpec, or an Error (kInvalidArgument) whose details list every
// problem found in one pass, each as "FILE:LINE:COL: message", sorted by
// position: unknown keys with a "did you mean", wrong types, bad durations,
// invalid names, unknown `needs` and `uses`, cycles naming the cycle,
// duplicate step names, template references a step cannot see, and the
// go-live gate (G10): an owner with a team, a runbook, a timeout on every
// run/http/task step (noop and sleep steps are exempt). Input over
// kMaxWorkflowBytes is refused with kTooLarge before it is read; a document
// past the expansion or nesting limits below is refused (kInvalidArgument,
// with the position where it passed) before it is loaded. It never throws
// and never crashes on any input. A step without `retry:` gets the
// RetryPolicy defaults with defaulted = true.
//
// Thread-safe: no shared state.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "spec/workflow.h"

namespace keel::spec {

inline constexpr size_t kMaxWorkflowBytes = 1 << 20;  // 1 MiB
// Limits on the document as the readers see it, every alias (*name) expanded
// to a copy of its anchor (&name): values (scalars, lists, mappings, keys
// included), bytes of scalar text, and levels of nested lists and mappings.
// Passing one is reported (kInvalidArgument) before any node is built.
inline constexpr uint64_t kMaxWorkflowNodes = 100'000;
inline constexpr uint64_t kMaxWorkflowExpandedBytes = 4 << 20;  // 4 MiB
inline constexpr int kMaxWorkflowDepth = 64;

struct ParseOptions {
  std::string fileName = "<input>";  // used in error positions
  // The workflow's workdir when the spec sets none; a relative `workdir:` in
  // the spec is taken relative to it.
  std::string defaultWorkdir;
  // The line of the file the text starts on (a document of a multi-document
  // file, see documents.h): positions in errors and warnings count from it.
  int firstLine = 1;
};

Result<std::shared_ptr<const WorkflowSpec>> parseWorkflow(std::string_view yaml,
                                                          const ParseOptions& options = {});

// Whether this version of keel can run a parsed workflow. `problems` (for
// example an `http:` or `task:` step, which it cannot execute) make
// `keel apply` refuse the workflow and `keel validate` fail;
// `warnings` name what is stored but not acted on (a
// step's `uses`). Each starts with "FILE:LINE:COL: " or "FILE: ".
struct Runnability {
  std::vector<std::string> problems;
  std::vector<std::string> warnings;
};
Runnability checkRunnable(const WorkflowSpec& spec, const std::string& fileName);

// What `keel validate --explain` prints: every defaulted value made visible
// (retry policies, kill grace, namespace), one line each, and what this
// version of keel stores without acting on (triggers, dependencies).
std::string explainWorkflow(const WorkflowSpec& spec);

// Parses "500ms", "10s", "2m", "1h30m", "1d" (units d, h, m, s, ms, largest
// first, each once; "0" alone is allowed). No spaces, signs or fractions; at
// most 36500d. Errors (kInvalidArgument) say what is wrong.
Result<Millis> parseDuration(std::string_view text);
// The shortest exact form: "1h30m", "500ms", "0s".
std::string formatDuration(Millis d);

}  // namespace keel::spec
