// applySubscription: a `kind: subscription` document parsed and stored, the
// one path of `keel apply`, POST /api/v1/workflows and `keel serve
// --workflows`. Any thread (the store takes the writer's turn).
#pragma once

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/request_context.h"
#include "core/result.h"
#include "store/store.h"

namespace keel::api {

struct AppliedSubscription {
  store::SubscriptionRow row;
  bool changed = false;  // false: the same document was the latest version
};

// A new version is audited ("subscription.apply", as `who`; keel itself
// when empty) in its own transaction.
Result<AppliedSubscription> applySubscription(store::Store& store, std::string_view yaml,
                                              const std::string& source, WallTime now,
                                              const RequestContext& who = {});

}  // namespace keel::api
