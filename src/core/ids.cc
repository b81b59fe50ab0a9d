#include "core/ids.h"

#include <cstdint>
#include <string>

namespace keel {
namespace {
constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
}

std::string newRunId(WallTime now, Random& random) {
  uint64_t ms = static_cast<uint64_t>(toUnixMillis(now)) & ((uint64_t{1} << 48) - 1);
  uint64_t r1 = random.next64();
  uint64_t r2 = random.next64();
  std::string id(26, '0');
  // 10 characters of time (50 bits, top 2 zero), 16 characters of randomness (80 bits).
  for (int i = 9; i >= 0; --i) {
    id[i] = kAlphabet[ms & 31];
    ms >>= 5;
  }
  for (int i = 0; i < 12; ++i) {
    id[10 + i] = kAlphabet[r1 & 31];
    r1 >>= 5;
  }
  for (int i = 0; i < 4; ++i) {
    id[22 + i] = kAlphabet[r2 & 31];
    r2 >>= 5;
  }
  return id;
}

std::string nextRunId(WallTime now, Random& random, const std::string& previous) {
  std::string id = newRunId(now, random);
  if (previous.size() != id.size() || id.compare(0, 10, previous, 0, 10) != 0 || id > previous)
    return id;
  // The successor of `previous` in base32, carrying from the last character.
  id = previous;
  for (size_t i = id.size(); i-- > 0;) {
    const char* at = std::char_traits<char>::find(kAlphabet, 32, id[i]);
    if (!at) break;  // not an id: leave it
    if (at - kAlphabet < 31) {
      id[i] = at[1];
      break;
    }
    id[i] = kAlphabet[0];
  }
  return id;
}

std::string runIdFloor(WallTime t) {
  const int64_t unixMs = toUnixMillis(t);
  uint64_t ms = unixMs < 0 ? 0 : static_cast<uint64_t>(unixMs) & ((uint64_t{1} << 48) - 1);
  std::string id(26, '0');
  for (int i = 9; i >= 0; --i) {
    id[i] = kAlphabet[ms & 31];
    ms >>= 5;
  }
  return id;
}

bool looksLikeRunId(const std::string& s) {
  if (s.size() != 26) return false;
  for (char c : s) {
    bool found = false;
    for (const char* p = kAlphabet; *p; ++p) found = found || *p == c;
    if (!found) return false;
  }
  return true;
}

}  // namespace keel
