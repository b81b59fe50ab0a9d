// Identifiers for runs: 26 characters of Crockford base32, time-ordered
// (48 bits of milliseconds, then 80 random bits), so sorting ids sorts runs
// by creation and an id can serve as a pagination cursor.
#pragma once

#include <string>

#include "core/clock.h"
#include "core/random.h"

namespace keel {

std::string newRunId(WallTime now, Random& random);
bool looksLikeRunId(const std::string& s);

}  // namespace keel
