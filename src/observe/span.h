// Span: one finished piece of work in a W3C trace (a run, a step, one
// attempt of a step), and SpanSink, where the engine hands the spans it
// makes. The engine records a span once the transition that ends it is
// durable, on its loop thread: record() must never block.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace keel::observe {

enum class SpanStatus { kUnset, kOk, kError };
// kServer: an API request keel served; kInternal: keel's own work (runs,
// steps, attempts).
enum class SpanKind { kInternal, kServer };

struct Span {
  std::string traceId;       // 32 hex
  std::string spanId;        // 16 hex
  std::string parentSpanId;  // 16 hex; empty for a root span
  std::string name;          // "run hello", "step greet", "attempt greet #2"
  SpanKind kind = SpanKind::kInternal;
  int64_t startUnixNanos = 0;
  int64_t endUnixNanos = 0;
  SpanStatus status = SpanStatus::kUnset;
  std::string statusMessage;
  // String attributes (workflow, run id, step, class) and integer ones
  // (attempt), in order.
  std::vector<std::pair<std::string, std::string>> attributes;
  std::vector<std::pair<std::string, int64_t>> intAttributes;
};

// Receives finished spans. Any thread; never blocks.
class SpanSink {
 public:
  virtual ~SpanSink() = default;
  virtual void record(Span span) = 0;
};

}  // namespace keel::observe
