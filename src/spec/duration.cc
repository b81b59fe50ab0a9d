// Durations as users write them: "500ms", "10s", "2m", "1h30m", "1d".
#include <array>
#include <cstdint>

#include "spec/parser.h"

namespace keel::spec {
namespace {

struct Unit {
  std::string_view name;
  int64_t ms;
};

// Largest first: a duration names its units in this order, each at most once.
constexpr std::array<Unit, 5> kUnits{{
    {"d", 86'400'000},
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

// Timers add durations to nanosecond clocks; a century keeps that safe.
constexpr int64_t kMaxMs = 36'500LL * 86'400'000;

Error bad(std::string_view text, const std::string& why) {
  return Error(ErrorCode::kInvalidArgument, "bad duration \"" + std::string(text) + "\": " + why);
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

}  // namespace

Result<Millis> parseDuration(std::string_view text) {
  if (text.empty()) return bad(text, "empty (write e.g. 30s, 10m, 1h30m)");
  if (text.find_first_of(" \t\r\n") != std::string_view::npos)
    return bad(text, "spaces are not allowed (write e.g. 1h30m)");
  if (text[0] == '-') return bad(text, "negative durations are not allowed");
  if (text[0] == '+') return bad(text, "write the number without a sign");
  if (text == "0") return Millis(0);
  int64_t total = 0;
  size_t lastUnit = 0;  // index into kUnits + 1 of the last unit seen
  size_t i = 0;
  while (i < text.size()) {
    if (!isDigit(text[i]))
      return bad(text, "expected a number at '" + std::string(text.substr(i)) + "'");
    int64_t n = 0;
    for (; i < text.size() && isDigit(text[i]); ++i) {
      n = n * 10 + (text[i] - '0');
      if (n > kMaxMs) return bad(text, "too large (the maximum is 36500d)");
    }
    if (i < text.size() && (text[i] == '.' || text[i] == ','))
      return bad(text, "fractions are not allowed (write e.g. 1m30s or 1500ms)");
    size_t unitStart = i;
    while (i < text.size() && isAlpha(text[i])) ++i;
    std::string_view unit = text.substr(unitStart, i - unitStart);
    if (unit.empty())
      return bad(text, "missing unit after " + std::to_string(n) + " (use ms, s, m, h, d)");
    size_t idx = 0;
    while (idx < kUnits.size() && kUnits[idx].name != unit) ++idx;
    if (idx == kUnits.size())
      return bad(text, "unknown unit '" + std::string(unit) + "' (use ms, s, m, h, d)");
    if (idx + 1 <= lastUnit)
      return bad(text, "units must go from largest to smallest, each once (e.g. 1h30m)");
    lastUnit = idx + 1;
    if (n > kMaxMs / kUnits[idx].ms || total + n * kUnits[idx].ms > kMaxMs)
      return bad(text, "too large (the maximum is 36500d)");
    total += n * kUnits[idx].ms;
  }
  return Millis(total);
}

std::string formatDuration(Millis d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    // Negating INT64_MIN would overflow; no duration keel stores comes near it.
    ms = ms == INT64_MIN ? INT64_MAX : -ms;
  }
  for (const Unit& u : kUnits) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms);
      out += u.name;
      ms %= u.ms;
    }
  }
  return out;
}

}  // namespace keel::spec
