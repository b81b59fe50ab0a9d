// RequestStamp: the request id and the trace context of one API request.
//
// Every request gets both before anything else runs: the caller's
// X-Request-Id when it is 1-64 characters of [A-Za-z0-9._:-] (else keel
// makes one up), and the trace of a valid `traceparent` header (else a
// new trace). An invalid header is never an error. The request id is
// echoed on every answer (X-Request-Id), written in the request's log
// line and handed to handlers in RequestContext::requestId; a trigger
// stores both on the run it creates. Any thread.
#pragma once

#include <mutex>
#include <string>

#include <httplib.h>

#include "core/clock.h"
#include "core/random.h"
#include "observe/trace_context.h"

namespace keel::api {

inline constexpr const char* kRequestIdHeader = "X-Request-Id";
inline constexpr const char* kTraceparentHeader = "traceparent";

struct RequestStamp {
  std::string requestId;
  // The request's trace: the caller's trace id, or a new one; spanId is
  // the span of this request in keel.
  observe::TraceContext trace;
  std::string parentSpanId;  // the caller's span; empty when the trace started here
  WallTime startedAt;        // when the request's stamp was made (its span's start)
};

class RequestStamper {
 public:
  // `random` is used under the stamper's own lock; it must outlive it.
  explicit RequestStamper(Random& random) : random_(random) {}

  RequestStamp stamp(const httplib::Request& request);

 private:
  std::mutex mu_;
  Random& random_;
};

}  // namespace keel::api
