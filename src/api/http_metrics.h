// HttpMetrics: the API's metrics in the registry keel serves on /metrics:
// keel_up (1 while this server answers) and keel_http_requests_total (the
// answered HTTP requests, by method, route class and status).
//
// Labels are bounded: the route is a Router pattern or "unmatched", the
// method one of the standard ones or "other". record() may be called from
// any thread. The registry must outlive this.
#pragma once

#include <string>

#include "observe/metrics.h"

namespace keel::api {

class HttpMetrics {
 public:
  explicit HttpMetrics(observe::MetricsRegistry& registry);
  void record(const std::string& method, const std::string& route, int status);

 private:
  observe::MetricsRegistry& registry_;
};

}  // namespace keel::api
