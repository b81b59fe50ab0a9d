#include "api/body_json.h"

#include <fmt/format.h>

namespace keel::api {

Result<nlohmann::json> parseJsonBody(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return nlohmann::json::object();
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() reads "[json.exception.parse_error.101] parse error at line 1,
    // column 9: syntax error while parsing ..."; keep the part after the tag.
    std::string what = e.what();
    auto tagEnd = what.find("] ");
    if (tagEnd != std::string::npos) what = what.substr(tagEnd + 2);
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("invalid JSON body at byte {}: {}", e.byte, what));
  }
  if (!parsed.is_object())
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("the JSON body must be an object, got {}", parsed.type_name()));
  return parsed;
}

}  // namespace keel::api
