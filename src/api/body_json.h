// parseJsonBody(): a request body as a JSON object, or a kInvalidArgument
// Error that says where the JSON is broken ("invalid JSON body at byte 17:
// ..."). An empty (or all-whitespace) body is an empty object, so that
// `POST .../runs` with no body means "no parameters". Any thread.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace keel::api {

Result<nlohmann::json> parseJsonBody(std::string_view body);

}  // namespace keel::api
