// Parsing and validating workflow YAML.
//
// parseWorkflow() reads one YAML document and returns a validated
// WorkflowSpec, or an Error whose details list every problem found, each as
// "FILE:LINE:COL: message" (unknown keys with a "did you mean", wrong types,
// bad durations, unknown `needs`, cycles naming the cycle, duplicate step
// names, oversize input, and the go-live gate: owner, runbook, a timeout on
// every step). It never throws and never crashes on any input.
// Thread-safe: no shared state.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "spec/workflow.h"

namespace keel::spec {

inline constexpr size_t kMaxWorkflowBytes = 1 << 20;  // 1 MiB

struct ParseOptions {
  std::string fileName = "<input>";  // used in error positions
  std::string defaultWorkdir;        // applied when the spec sets no workdir
};

Result<std::shared_ptr<const WorkflowSpec>> parseWorkflow(std::string_view yaml,
                                                          const ParseOptions& options = {});

// What `keel validate --explain` prints: every defaulted value made visible
// (retry policies, kill grace, namespace), one line each.
std::string explainWorkflow(const WorkflowSpec& spec);

// Parses "500ms", "10s", "2m", "1h30m", "1d". Errors say what is wrong.
Result<Millis> parseDuration(std::string_view text);
std::string formatDuration(Millis d);

}  // namespace keel::spec
