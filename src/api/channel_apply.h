// applyChannel: a `kind: channel` document parsed and stored, the one path
// of `keel apply`, POST /api/v1/workflows and `keel serve --workflows`.
// Any thread (the store takes the writer's turn).
#pragma once

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "store/store.h"

namespace keel::api {

struct AppliedChannel {
  store::ChannelRow row;
  bool changed = false;  // false: the same document was the latest version
};

Result<AppliedChannel> applyChannel(store::Store& store, std::string_view yaml,
                                    const std::string& source, WallTime now);

}  // namespace keel::api
