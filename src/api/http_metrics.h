// HttpMetrics: counts answered HTTP requests by method, route class and
// status, and renders them (with keel_up) in the Prometheus text format.
//
// Labels are bounded: the route is a Router pattern or "unmatched", the
// method one of the standard ones or "other". record() and text() may be
// called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace keel::api {

class HttpMetrics {
 public:
  void record(const std::string& method, const std::string& route, int status);
  std::string text() const;

 private:
  using Key = std::tuple<std::string, std::string, int>;  // method, route, status
  mutable std::mutex mu_;
  std::map<Key, uint64_t> requests_;
};

}  // namespace keel::api
