#include "api/request_log.h"

#include <fmt/format.h>

#include "observe/json_log.h"

namespace keel::api {

void logRequest(const httplib::Request& request, int status, const std::string& actor,
                const std::string& requestId) {
  auto level = status >= 500                    ? spdlog::level::warn
               : status == 401 || status == 403 ? spdlog::level::info
                                                : spdlog::level::debug;
  if (!observe::logEnabled(level)) return;
  nlohmann::json fields{{"method", request.method},
                        {"path", request.path},
                        {"status", status},
                        {"remote", request.remote_addr}};
  if (!actor.empty()) fields["actor"] = actor;
  if (!requestId.empty()) fields["request_id"] = requestId;
  observe::logFields(level, fmt::format("http {} {} {}", request.method, request.path, status),
                     fields);
}

void logRequestError(const httplib::Request& request, const std::string& what,
                     const std::string& actor, const std::string& requestId) {
  if (!observe::logEnabled(spdlog::level::err)) return;
  nlohmann::json fields{{"method", request.method}, {"path", request.path}, {"status", 500}};
  if (!actor.empty()) fields["actor"] = actor;
  if (!requestId.empty()) fields["request_id"] = requestId;
  observe::logFields(spdlog::level::err,
                     fmt::format("http {} {}: {}", request.method, request.path, what), fields);
}

}  // namespace keel::api
