// applyChannel: a `kind: channel` document parsed and stored, the one path
// of `keel apply`, POST /api/v1/workflows and `keel serve --workflows`.
// A new version is audited ("channel.apply", actor and reason from `who`;
// keel itself for `keel serve --workflows`) in the transaction that stores
// it. Any thread (the store takes the writer's turn).
#pragma once

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/request_context.h"
#include "core/result.h"
#include "store/store.h"

namespace keel::api {

struct AppliedChannel {
  store::ChannelRow row;
  bool changed = false;  // false: the same document was the latest version
};

Result<AppliedChannel> applyChannel(store::Store& store, std::string_view yaml,
                                    const std::string& source, WallTime now,
                                    const RequestContext& who = {});

}  // namespace keel::api
