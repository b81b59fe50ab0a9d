// Reply: what an API route hands back to the HTTP layer, and the one place
// that turns a keel Error into an HTTP status and the error body
//   {"error":{"code":"not_found","message":"...","details":["..."]}}
// ("details" only when there are some). Pure functions; any thread.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace keel::api {

struct Reply {
  int status = 200;
  std::string body;
  std::string contentType = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  // Who asked (the token's name) once the access check knew; for the log
  // line only, never sent.
  std::string actor;
};

// kInvalidArgument 400, kUnauthenticated 401, kPermissionDenied 403, kNotFound 404,
// kAlreadyExists/kConflict 409, kTooLarge 413, kUnimplemented 501, kUnavailable 503, anything else
// 500.
int httpStatusFor(ErrorCode code);

// Serializes without ever throwing: text that is not valid UTF-8 (a step's
// output can be anything) is replaced by U+FFFD rather than failing the reply.
std::string dumpJson(const nlohmann::json& j, int indent = -1);

Reply jsonReply(int status, const nlohmann::json& body);
Reply errorReply(const Error& error);
Reply errorReply(int status, const std::string& code, const std::string& message,
                 const std::vector<std::string>& details = {});

}  // namespace keel::api
