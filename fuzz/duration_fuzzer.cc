// Fuzzes durations: parseDuration() on any text, and the round trip
// formatDuration() -> parseDuration() on every duration it accepts and on
// any number of milliseconds up to the maximum.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "spec/parser.h"

namespace {

constexpr int64_t kMaxMs = 36'500LL * 86'400'000;  // parseDuration's maximum

void roundTrip(keel::Millis d) {
  std::string text = keel::spec::formatDuration(d);
  auto back = keel::spec::parseDuration(text);
  if (!back.ok()) keel::fuzz::fail("formatDuration gave unparseable \"" + text + "\"");
  if (*back != d)
    keel::fuzz::fail("round trip changed " + std::to_string(d.count()) + " to " + text);
  if (keel::spec::formatDuration(*back) != text) keel::fuzz::fail("format not stable: " + text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = keel::spec::parseDuration(text);
  if (parsed.ok()) {
    if (parsed->count() < 0 || parsed->count() > kMaxMs)
      keel::fuzz::fail("out of range: " + std::string(text));
    roundTrip(*parsed);
  } else if (parsed.error().code() != keel::ErrorCode::kInvalidArgument) {
    keel::fuzz::fail("unexpected code: " + parsed.error().toString());
  }
  if (size >= 8) {
    uint64_t raw = 0;
    std::memcpy(&raw, data, 8);
    roundTrip(keel::Millis(static_cast<int64_t>(raw % (kMaxMs + 1))));
    // Negative durations are never parsed, but formatting one must not crash.
    (void)keel::spec::formatDuration(keel::Millis(static_cast<int64_t>(raw)));
  }
  return 0;
}
