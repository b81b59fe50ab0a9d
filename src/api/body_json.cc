#include "api/body_json.h"

#include <fmt/format.h>

#include "core/quote.h"

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

Result<std::string> takeReason(nlohmann::json& body) {
  auto it = body.find("reason");
  if (it == body.end()) return std::string();
  if (it->is_null()) {
    body.erase(it);
    return std::string();
  }
  if (!it->is_string())
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("'reason' must be a string, got {}", it->type_name()));
  std::string reason = it->get<std::string>();
  body.erase(it);
  if (reason.size() > kMaxReasonBytes)
    return Error(
        ErrorCode::kInvalidArgument,
        fmt::format("'reason' is {} bytes; at most {} are kept", reason.size(), kMaxReasonBytes));
  KEEL_TRY(checkText("reason", reason, false));
  return reason;
}

Status checkText(std::string_view field, std::string_view value, bool multiline) {
  for (size_t i = 0; i < value.size(); ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    bool allowed = c == '\t' || (multiline && (c == '\n' || c == '\r'));
    if ((c < 0x20 || c == 0x7f) && !allowed)
      return Error(ErrorCode::kInvalidArgument,
                   multiline ? fmt::format("'{}' holds a control character at byte {} (only tabs "
                                           "and line breaks are kept)",
                                           field, i)
                             : fmt::format("'{}' holds a control character at byte {}; write it "
                                           "on one line",
                                           field, i));
  }
  return okStatus();
}

Result<RequestContext> withReason(const ApiRequest& request, Result<nlohmann::json> body) {
  if (!body.ok()) return body.error();
  auto reason = takeReason(*body);
  if (!reason.ok()) return reason.error();
  if (!body->empty())
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("unknown field {} (this request takes only 'reason')",
                             quoteForMessage(body->begin().key())));
  RequestContext who = request.context;
  who.reason = std::move(*reason);
  return who;
}

Result<RequestContext> withReason(const ApiRequest& request) {
  return withReason(request, parseJsonBody(request.body));
}

}  // namespace keel::api
