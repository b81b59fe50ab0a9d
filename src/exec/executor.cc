#include "exec/executor.h"

namespace keel::exec {

ExecHandle StepExecutor::attach(AttemptRef ref, std::function<void(StepOutcome)> done) {
  (void)ref;
  StepOutcome o;
  o.failureClass = FailureClass::kLost;
  o.message = "keel stopped while this attempt was running; its outcome is unknown";
  done(std::move(o));
  return 0;
}

Result<LiveOutput> StepExecutor::readLive(const AttemptRef& ref, int64_t offset, size_t maxBytes) {
  (void)offset;
  (void)maxBytes;
  return Error(ErrorCode::kUnimplemented,
               "the step " + ref.step + " of run " + ref.runId + " has no live output to follow");
}

}  // namespace keel::exec
