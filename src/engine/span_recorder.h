// SpanRecorder: turns what a committed batch ends (a run, a step, one
// attempt of a step) into trace spans for an observe::SpanSink (the OTLP
// exporter). Called by the engine on its loop thread once the batch is
// durable, so a span only ever tells what the store already holds.
//
// Span ids are derived, never stored: a run's is spanIdFor("run:RUN"), a
// step's spanIdFor("step:RUN/STEP"), an attempt's attemptSpanId(RUN, STEP,
// N) (the parent span a step's TRACEPARENT names). Attempts are children
// of their step, steps of their run; a run span is the root of its part of
// the trace. A step starts with its first attempt seen by this process
// (else with its run). Each span is recorded once per process; a run ended
// again after a retry records its run span again.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "observe/span.h"
#include "store/records.h"
#include "store/store.h"

namespace keel::engine {

class SpanRecorder {
 public:
  explicit SpanRecorder(observe::SpanSink& sink) : sink_(sink) {}

  // The run a mutation belongs to, as the engine holds it (null when it is
  // no longer in memory: its trace id is then derived from its id).
  using RunLookup = std::function<const store::RunRow*(const std::string& runId)>;
  // `now`: when the batch became durable (the end of the steps it ends).
  void committed(const store::Batch& batch, const RunLookup& runOf, WallTime now);

  static std::string runSpanId(const std::string& runId);
  static std::string stepSpanId(const std::string& runId, const std::string& step);

 private:
  void attempt(const store::AttemptRow& a, const store::RunRow* run);
  void step(const store::StepRow& s, const store::RunRow* run, WallTime now);
  void run(const store::RunRow& r);
  // False when `key` was recorded already (then nothing is to be sent).
  bool firstTime(const std::string& key);

  observe::SpanSink& sink_;
  std::map<std::string, WallTime> stepStarts_;  // "RUN/STEP" -> its first attempt's start
  std::set<std::string> recorded_;              // the last kRemembered span keys
  std::deque<std::string> recordedOrder_;
  // Re-puts of an ended row come within moments: a few thousand keys cover them.
  static constexpr size_t kRemembered = 8192;
};

}  // namespace keel::engine
