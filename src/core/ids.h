// Identifiers for runs: 26 characters of Crockford base32, time-ordered
// (48 bits of milliseconds, then 80 random bits), so sorting ids sorts runs
// by creation (within a millisecond only with nextRunId) and an id can
// serve as a pagination cursor.
#pragma once

#include <string>

#include "core/clock.h"
#include "core/random.h"

namespace keel {

std::string newRunId(WallTime now, Random& random);
// newRunId, made greater than `previous` (the last id this process made)
// when both fall in the same millisecond: the random part then follows
// previous's by one. So the ids one process makes sort in the order it
// made them, which within a millisecond plain newRunId does not promise.
std::string nextRunId(WallTime now, Random& random, const std::string& previous);
bool looksLikeRunId(const std::string& s);
// The smallest id a run created at or after `t` can have (its time part
// and zeros): `id >= runIdFloor(t)` selects runs created since t, using
// any index that ends in id.
std::string runIdFloor(WallTime t);

}  // namespace keel
