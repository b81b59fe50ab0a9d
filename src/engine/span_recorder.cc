#include "engine/span_recorder.h"

#include <algorithm>
#include <variant>

#include <fmt/format.h>

#include "observe/trace_context.h"

namespace keel::engine {
namespace {

int64_t unixNanos(WallTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::string traceOf(const store::RunRow* run, const std::string& runId) {
  return observe::runTraceId(run ? run->traceId : std::string(), runId);
}

}  // namespace

std::string SpanRecorder::runSpanId(const std::string& runId) {
  return observe::spanIdFor("run:" + runId);
}

std::string SpanRecorder::stepSpanId(const std::string& runId, const std::string& step) {
  return observe::spanIdFor("step:" + runId + "/" + step);
}

bool SpanRecorder::firstTime(const std::string& key) {
  if (!recorded_.insert(key).second) return false;
  recordedOrder_.push_back(key);
  if (recordedOrder_.size() > kRemembered) {
    recorded_.erase(recordedOrder_.front());
    recordedOrder_.pop_front();
  }
  return true;
}

void SpanRecorder::committed(const store::Batch& batch, const RunLookup& runOf, WallTime now) {
  for (const auto& m : batch.mutations) {
    if (const auto* a = std::get_if<store::PutAttempt>(&m)) {
      attempt(a->row, runOf(a->row.runId));
    } else if (const auto* s = std::get_if<store::PutStep>(&m)) {
      step(s->row, runOf(s->row.runId), now);
    } else if (const auto* r = std::get_if<store::PutRun>(&m)) {
      run(r->row);
    }
  }
}

void SpanRecorder::attempt(const store::AttemptRow& a, const store::RunRow* run) {
  std::string stepKey = a.runId + "/" + a.step;
  auto start = stepStarts_.find(stepKey);
  if (start == stepStarts_.end() || a.startedAt < start->second) stepStarts_[stepKey] = a.startedAt;
  if (a.state == AttemptState::kRunning || !a.finishedAt) return;
  if (!firstTime(fmt::format("attempt:{}/{}", stepKey, a.n))) return;
  observe::Span span;
  span.traceId = traceOf(run, a.runId);
  span.spanId = observe::attemptSpanId(a.runId, a.step, a.n);
  span.parentSpanId = stepSpanId(a.runId, a.step);
  span.name = fmt::format("attempt {} #{}", a.step, a.n);
  span.startUnixNanos = unixNanos(a.startedAt);
  span.endUnixNanos = unixNanos(*a.finishedAt);
  bool ok = a.state == AttemptState::kSucceeded;
  span.status = ok ? observe::SpanStatus::kOk : observe::SpanStatus::kError;
  if (!ok) span.statusMessage = a.message;
  span.attributes = {{"keel.workflow", run ? run->workflow : std::string()},
                     {"keel.run_id", a.runId},
                     {"keel.step", a.step},
                     {"keel.state", std::string(toString(a.state))}};
  if (a.failureClass != FailureClass::kNone)
    span.attributes.emplace_back("keel.class", std::string(toString(a.failureClass)));
  span.intAttributes = {{"keel.attempt", a.n}};
  sink_.record(std::move(span));
}

void SpanRecorder::step(const store::StepRow& s, const store::RunRow* run, WallTime now) {
  if (!isTerminal(s.state)) return;
  std::string stepKey = s.runId + "/" + s.name;
  auto start = stepStarts_.find(stepKey);
  if (start == stepStarts_.end() && s.attempts == 0) return;  // never ran: no span
  if (!firstTime("step:" + stepKey)) return;
  // The end is the commit's: a step row keeps no end time of its own.
  WallTime end = now;
  WallTime begin = start != stepStarts_.end()          ? start->second
                   : run && run->startedAt.has_value() ? *run->startedAt
                                                       : end;
  if (start != stepStarts_.end()) stepStarts_.erase(start);
  observe::Span span;
  span.traceId = traceOf(run, s.runId);
  span.spanId = stepSpanId(s.runId, s.name);
  span.parentSpanId = runSpanId(s.runId);
  span.name = "step " + s.name;
  span.startUnixNanos = unixNanos(begin);
  span.endUnixNanos = unixNanos(std::max(begin, end));
  span.status = s.state == StepState::kSucceeded ? observe::SpanStatus::kOk
                : s.state == StepState::kDead    ? observe::SpanStatus::kError
                                                 : observe::SpanStatus::kUnset;
  if (s.state == StepState::kDead) span.statusMessage = s.reason;
  span.attributes = {{"keel.workflow", run ? run->workflow : std::string()},
                     {"keel.run_id", s.runId},
                     {"keel.step", s.name},
                     {"keel.state", std::string(toString(s.state))}};
  span.intAttributes = {{"keel.attempts", s.attempts}};
  sink_.record(std::move(span));
}

void SpanRecorder::run(const store::RunRow& r) {
  if (!isTerminal(r.state) || !r.finishedAt) return;
  if (!firstTime(fmt::format("run:{}@{}", r.id, unixNanos(*r.finishedAt)))) return;
  observe::Span span;
  span.traceId = observe::runTraceId(r.traceId, r.id);
  span.spanId = runSpanId(r.id);
  if (observe::isSpanId(r.parentSpanId)) span.parentSpanId = r.parentSpanId;
  span.name = "run " + r.workflow;
  WallTime begin = r.startedAt.value_or(r.createdAt);
  span.startUnixNanos = unixNanos(begin);
  span.endUnixNanos = unixNanos(std::max(begin, *r.finishedAt));
  span.status = r.state == RunState::kSucceeded ? observe::SpanStatus::kOk
                : r.state == RunState::kFailed  ? observe::SpanStatus::kError
                                                : observe::SpanStatus::kUnset;
  if (r.state != RunState::kSucceeded) span.statusMessage = r.reason;
  span.attributes = {{"keel.workflow", r.workflow},
                     {"keel.run_id", r.id},
                     {"keel.state", std::string(toString(r.state))}};
  if (!r.requestId.empty()) span.attributes.emplace_back("keel.request_id", r.requestId);
  span.intAttributes = {{"keel.version", r.version}};
  sink_.record(std::move(span));
}

}  // namespace keel::engine
