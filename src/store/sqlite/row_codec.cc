#include "store/sqlite/row_codec.h"

#include <fmt/format.h>

namespace keel::store::sqlite {

namespace {

Error unknownName(std::string_view what, const std::string& name, std::string_view where) {
  return Error(ErrorCode::kCorrupt,
               fmt::format("stored {} '{}' of {} is not one this keel knows", what, name, where));
}

}  // namespace

WorkflowVersionRow readWorkflow(const Statement& s) {
  WorkflowVersionRow row;
  row.name = s.textAt(0);
  row.version = s.intAt(1);
  row.ns = s.textAt(2);
  row.yaml = s.textAt(3);
  row.workdir = s.textAt(4);
  row.sha256 = s.textAt(5);
  row.createdAt = s.timeAt(6);
  row.appliedBy = s.textAt(7);
  return row;
}

Result<RunRow> readRun(const Statement& s) {
  RunRow row;
  row.id = s.textAt(0);
  row.workflow = s.textAt(1);
  row.version = s.intAt(2);
  std::string state = s.textAt(3);
  auto parsed = parseRunState(state);
  if (!parsed) return unknownName("state", state, "run " + row.id);
  row.state = *parsed;
  row.paramsJson = s.textAt(4);
  row.idempotencyKey = s.textAt(5);
  row.concurrencyKey = s.textAt(6);
  row.reason = s.textAt(7);
  row.createdAt = s.timeAt(8);
  row.startedAt = s.optionalTimeAt(9);
  row.finishedAt = s.optionalTimeAt(10);
  row.waitKind = s.textAt(11);
  row.waitReason = s.textAt(12);
  row.cancelReason = s.textAt(13);
  row.pauseReason = s.textAt(14);
  row.compensation = s.textAt(15);
  row.traceId = s.textAt(16);
  row.requestId = s.textAt(17);
  row.parentSpanId = s.textAt(18);
  return row;
}

Result<StepRow> readStep(const Statement& s) {
  StepRow row;
  row.runId = s.textAt(0);
  row.name = s.textAt(1);
  std::string state = s.textAt(2);
  auto parsed = parseStepState(state);
  if (!parsed) return unknownName("state", state, "step " + row.runId + "/" + row.name);
  row.state = *parsed;
  row.attempts = s.intAt(3);
  row.outputJson = s.textAt(4);
  row.reason = s.textAt(5);
  row.dueAt = s.optionalTimeAt(6);
  row.waitKind = s.textAt(7);
  row.waitReason = s.textAt(8);
  return row;
}

Result<AttemptRow> readAttempt(const Statement& s) {
  AttemptRow row;
  row.runId = s.textAt(0);
  row.step = s.textAt(1);
  row.n = s.intAt(2);
  std::string where = fmt::format("attempt {}/{}/{}", row.runId, row.step, row.n);
  std::string state = s.textAt(3);
  auto parsed = parseAttemptState(state);
  if (!parsed) return unknownName("state", state, where);
  row.state = *parsed;
  row.startedAt = s.timeAt(4);
  row.finishedAt = s.optionalTimeAt(5);
  row.exitCode = s.optionalIntAt(6);
  row.signal = s.optionalIntAt(7);
  std::string failure = s.textAt(8);
  if (!failure.empty()) {  // "" is FailureClass::kNone, which parseFailureClass refuses
    auto failureClass = parseFailureClass(failure);
    if (!failureClass) return unknownName("failure class", failure, where);
    row.failureClass = *failureClass;
  }
  row.message = s.textAt(9);
  return row;
}

EventRow readEvent(const Statement& s) {
  EventRow row;
  row.seq = s.int64At(0);
  row.runId = s.textAt(1);
  row.at = s.timeAt(2);
  row.kind = s.textAt(3);
  row.step = s.textAt(4);
  row.attempt = s.intAt(5);
  row.message = s.textAt(6);
  row.actor = s.textAt(7);
  row.reason = s.textAt(8);
  return row;
}

LogRow readLog(const Statement& s) {
  LogRow row;
  row.runId = s.textAt(0);
  row.step = s.textAt(1);
  row.attempt = s.intAt(2);
  row.stdoutText = s.blobAt(3);
  row.stderrText = s.blobAt(4);
  row.stdoutBytes = s.int64At(5);
  row.stderrBytes = s.int64At(6);
  return row;
}

}  // namespace keel::store::sqlite
