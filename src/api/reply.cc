#include "api/reply.h"

namespace keel::api {

int httpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict:
    case ErrorCode::kIdempotencyConflict:
    case ErrorCode::kLeaseLost:
      return 409;
    case ErrorCode::kTooLarge:
      return 413;
    case ErrorCode::kUnimplemented:
      return 501;
    case ErrorCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

std::string dumpJson(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

Reply jsonReply(int status, const nlohmann::json& body) {
  Reply r;
  r.status = status;
  r.body = dumpJson(body);
  if (status == 503) r.headers.emplace_back("Retry-After", "5");
  return r;
}

Reply errorReply(int status, const std::string& code, const std::string& message,
                 const std::vector<std::string>& details) {
  nlohmann::json error{{"code", code}, {"message", message}};
  if (!details.empty()) error["details"] = details;
  return jsonReply(status, {{"error", error}});
}

Reply errorReply(const Error& error) {
  return errorReply(httpStatusFor(error.code()), errorCodeName(error.code()), error.message(),
                    error.details());
}

}  // namespace keel::api
