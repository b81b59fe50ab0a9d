// parseJsonBody(): a request body as a JSON object, or a kInvalidArgument
// Error that says where the JSON is broken ("invalid JSON body at byte 17:
// ..."). An empty (or all-whitespace) body is an empty object, so that
// `POST .../runs` with no body means "no parameters". Any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/router.h"
#include "core/result.h"

namespace keel::api {

Result<nlohmann::json> parseJsonBody(std::string_view body);

// Why the caller makes a change: the optional "reason" field of a mutating
// request's body, removed from `body` and returned ("" when absent or
// null). A reason is a string of at most kMaxReasonBytes with no control
// character but tab; anything else is kInvalidArgument saying so.
inline constexpr size_t kMaxReasonBytes = 1000;
Result<std::string> takeReason(nlohmann::json& body);

// Text a person wrote (a reason, a root cause, an action item): refused
// with kInvalidArgument naming `field` and the byte when it holds a NUL or
// another control character. Tabs are kept, and line breaks when
// `multiline`; a one-line field is asked to be written on one line.
Status checkText(std::string_view field, std::string_view value, bool multiline);

// The body of a request that takes only "reason" (parsed, or as
// parseJsonBody() answered): the caller's context with the reason in it.
// Any other field is kInvalidArgument naming it.
Result<RequestContext> withReason(const ApiRequest& request, Result<nlohmann::json> body);
Result<RequestContext> withReason(const ApiRequest& request);

}  // namespace keel::api
