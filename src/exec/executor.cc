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

}  // namespace keel::exec
