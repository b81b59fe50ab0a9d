// record(): the audit entry for an action a caller asked for, from its
// RequestContext. The writer seals it (seq and hashes) inside the
// transaction that stores it: hand it to the store as a store::AppendAudit
// in the batch of the change it records. Pure; any thread.
#pragma once

#include <string>

#include "audit/entry.h"
#include "core/request_context.h"

namespace keel::audit {

// The actor keel records for what it does by itself, and for a caller
// without a token (none today: every API call is authenticated).
inline constexpr const char* kKeelActor = "keel";

// `detailJson`: a small JSON object (a run id, a workflow, a version) or
// empty. Never put a secret in it: entries are shown by the API and the CLI.
Entry record(const RequestContext& who, std::string action, std::string target, WallTime at,
             std::string detailJson = {});

}  // namespace keel::audit
