// Live output of a running attempt (Control::liveLog): read through the
// runners on the caller's thread. The loop is not asked which kind the step
// is: the runner that knows the attempt answers, the others say they keep
// no live output.
#include <set>

#include "engine/engine.h"

namespace keel::engine {

Result<LiveLog> Engine::liveLog(const LiveLogRequest& request) const {
  const exec::AttemptRef ref{request.runId, request.step, request.attempt};
  std::set<StepRunner*> asked;
  std::optional<Error> notFound;
  for (const auto& [kind, runner] : runners_) {
    if (!runner || !asked.insert(runner).second) continue;
    auto read = runner->readLive(ref, request.offset, request.maxBytes);
    if (read.ok()) return LiveLog{std::move(read->data), read->offset, read->ended};
    if (read.error().code() != ErrorCode::kUnimplemented) notFound = read.error();
  }
  if (notFound) return *notFound;
  return Error(ErrorCode::kUnimplemented,
               "no live output is kept for step " + request.step + " of run " + request.runId);
}

}  // namespace keel::engine
