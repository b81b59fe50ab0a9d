#include "api/http_metrics.h"

#include <array>
#include <string_view>

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

HttpMetrics::HttpMetrics(observe::MetricsRegistry& registry) : registry_(registry) {
  registry_.gauge("keel_up", "1 while this keel server answers.").set(1);
}

void HttpMetrics::record(const std::string& method, const std::string& route, int status) {
  registry_
      .counter(
          "keel_http_requests_total", "HTTP requests answered, by method, route and status.",
          {{"method", boundedMethod(method)}, {"route", route}, {"status", std::to_string(status)}})
      .inc();
}

}  // namespace keel::api
