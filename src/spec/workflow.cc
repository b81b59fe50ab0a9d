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
    case StepKind::kApproval:
      return "approval";
  }
  return "unknown";
}

const StepSpec* WorkflowSpec::findStep(const std::string& stepName) const {
  for (const StepSpec& s : steps)
    if (s.name == stepName) return &s;
  return nullptr;
}

}  // namespace keel::spec

namespace keel::spec {

bool isValidTopic(std::string_view topic) {
  if (topic.empty() || topic.size() > 200) return false;
  for (char c : topic) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::optional<SloDeadline> SloSpec::finishDeadline() const {
  if (finishBy) return finishBy;
  if (maxDuration) return SloDeadline{maxDuration, std::nullopt, ""};
  return std::nullopt;
}

}  // namespace keel::spec
