#include "api/http_metrics.h"

#include <array>
#include <string_view>

#include <fmt/format.h>

namespace keel::api {
namespace {

std::string boundedMethod(const std::string& method) {
  constexpr std::array<std::string_view, 7> kKnown{"GET",    "HEAD",  "POST",   "PUT",
                                                   "DELETE", "PATCH", "OPTIONS"};
  for (auto known : kKnown)
    if (method == known) return method;
  return "other";
}

}  // namespace

void HttpMetrics::record(const std::string& method, const std::string& route, int status) {
  std::lock_guard lock(mu_);
  ++requests_[{boundedMethod(method), route, status}];
}

std::string HttpMetrics::text() const {
  std::string out =
      "# HELP keel_up 1 while this keel server answers.\n"
      "# TYPE keel_up gauge\n"
      "keel_up 1\n"
      "# HELP keel_http_requests_total HTTP requests answered, by method, route and status.\n"
      "# TYPE keel_http_requests_total counter\n";
  std::lock_guard lock(mu_);
  for (const auto& [key, count] : requests_) {
    const auto& [method, route, status] = key;
    out += fmt::format("keel_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}\n",
                       method, route, status, count);
  }
  return out;
}

}  // namespace keel::api
