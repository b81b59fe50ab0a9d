#include "api/request_ids.h"

namespace keel::api {

RequestStamp RequestStamper::stamp(const httplib::Request& request) {
  RequestStamp out;
  std::string given = request.get_header_value(kRequestIdHeader);
  auto parent = observe::parseTraceparent(request.get_header_value(kTraceparentHeader));
  // A repeated header is not one value: ignored like any other bad one.
  if (request.get_header_value_count(kRequestIdHeader) > 1) given.clear();
  if (request.get_header_value_count(kTraceparentHeader) > 1) parent.reset();
  std::lock_guard lock(mu_);
  out.requestId = observe::isValidRequestId(given) ? given : observe::newRequestId(random_);
  if (parent) {
    out.trace.traceId = parent->traceId;
    out.trace.flags = parent->flags;
    out.parentSpanId = parent->spanId;
  } else {
    out.trace.traceId = observe::newTraceId(random_);
  }
  out.trace.spanId = observe::newSpanId(random_);
  return out;
}

}  // namespace keel::api
