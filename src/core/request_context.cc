#include "core/request_context.h"

#include <fmt/format.h>

#include "core/quote.h"

namespace keel {

Status checkActorName(std::string_view name) {
  if (name.empty() || name.size() > kMaxActorBytes)
    return Error(
        ErrorCode::kInvalidArgument,
        fmt::format("an actor's name is 1 to {} characters, not {}", kMaxActorBytes, name.size()));
  for (unsigned char c : name)
    if (c < 0x20 || c > 0x7e)
      return Error(ErrorCode::kInvalidArgument,
                   fmt::format("an actor's name holds a control or non-ASCII character: {}",
                               quoteForMessage(name)));
  if (name.front() == ' ' || name.back() == ' ')
    return Error(
        ErrorCode::kInvalidArgument,
        fmt::format("an actor's name starts or ends with a space: {}", quoteForMessage(name)));
  return okStatus();
}

}  // namespace keel
