// RequestContext: who asked for a change, and why. The API fills it from
// the request (the token, an X-Keel-Actor header, a `reason` field) and
// hands it to the engine with every mutating call; the engine writes the
// actor and the reason into the run's timeline. Roles per namespace will be
// checked from here, in one place.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"

namespace keel {

struct RequestContext {
  std::string token;  // the name of the token that authenticated the request
  std::string role;   // that token's role
  // The person an admin token acts for (X-Keel-Actor); empty: the token
  // itself.
  std::string onBehalfOf;
  std::string reason;     // why, as the caller said it; may be empty
  std::string requestId;  // the request's X-Request-Id (the caller's, or one keel made up)
  // The request's own span in its trace (16 hex): a run the request creates
  // hangs its run span under it. Empty when the request has none.
  std::string spanId;

  // Who acted, as recorded in timelines and logs: "alice (token ops)" when
  // an admin token acts for alice, else the token's name; empty for keel
  // itself (a schedule, a file, an event).
  std::string actor() const {
    if (onBehalfOf.empty()) return token;
    if (token.empty()) return onBehalfOf;
    return onBehalfOf + " (token " + token + ")";
  }
};

// A person's name as an actor: 1 to kMaxActorBytes printable ASCII
// characters, not starting or ending with a space. kInvalidArgument saying
// what is wrong otherwise.
inline constexpr size_t kMaxActorBytes = 128;
Status checkActorName(std::string_view name);

}  // namespace keel
