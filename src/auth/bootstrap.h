// The first admin token of a new keel database.
//
// keel serve calls ensureAdminToken() at every start. When the database has
// no token at all, it creates one named "admin", writes its secret to
// `tokenFile` (mode 0600, written to a temporary file, fsynced, then
// renamed over the path, so a reader never sees half a token) and only then
// stores its hash: a crash in between leaves a file whose token the next
// start replaces, never a database whose only token nobody has. When tokens
// exist, nothing is written. Called once, before the API serves.
#pragma once

#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "store/store.h"

namespace keel::auth {

inline constexpr char kAdminTokenName[] = "admin";

// true when a token was created and written; false when tokens existed.
Result<bool> ensureAdminToken(store::Store& store, const std::string& tokenFile, WallTime now);

// Writes `secret` and a newline to `path`, mode 0600, atomically (see above).
Status writeTokenFile(const std::string& path, const std::string& secret);

}  // namespace keel::auth
