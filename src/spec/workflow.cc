#include "spec/workflow.h"

namespace keel::spec {

std::string_view toString(StepKind kind) {
  switch (kind) {
    case StepKind::kRun:
      return "run";
    case StepKind::kNoop:
      return "noop";
    case StepKind::kSleep:
      return "sleep";
    case StepKind::kHttp:
      return "http";
    case StepKind::kTask:
      return "task";
  }
  return "unknown";
}

const StepSpec* WorkflowSpec::findStep(const std::string& stepName) const {
  for (const StepSpec& s : steps)
    if (s.name == stepName) return &s;
  return nullptr;
}

}  // namespace keel::spec
