// The span of one API request that changes something (Router::spanRoute):
// a server span of the request's trace, named after the route pattern,
// never the path ("POST /api/v1/workflows/{name}/runs"), whose parent is
// the caller's traceparent span (none when the trace started here). A run
// the request creates hangs its run span under it (RunRow::parentSpanId).
#pragma once

#include <string>

#include "api/request_ids.h"
#include "core/clock.h"
#include "observe/span.h"

namespace keel::api {

// `method` and `route` as the router matched them; `status` the answer's.
// Attributes: http.request.method, http.route, http.response.status_code,
// keel.request_id. Status ERROR for a 5xx answer, unset otherwise (a 4xx
// is the caller's mistake, not the server's).
observe::Span requestSpan(const RequestStamp& stamp, const std::string& method,
                          const std::string& route, int status, WallTime end);

}  // namespace keel::api
