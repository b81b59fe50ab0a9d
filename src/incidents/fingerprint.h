// Fingerprints: what makes two failures "the same failure".
//
// A fingerprint is the workflow, the step, the failure class and the error
// message with everything that changes from one occurrence to the next
// (numbers, keel run ids, UUIDs, hex, file paths, times and dates) replaced
// by placeholders. Two symptoms with the same fingerprint belong to the same
// incident while it is open, and a symptom whose fingerprint matches only
// resolved incidents is a recurrence. Pure: no clock, no I/O.
#pragma once

#include <string>
#include <string_view>

namespace keel::incidents {

// The message with its variable parts replaced: "<uuid>", "<run>",
// "<time>", "<path>", "<hex>", "<n>"; runs of white space become one space,
// and the text is cut at kMaxNormalized characters.
std::string normalizeMessage(std::string_view message);
inline constexpr size_t kMaxNormalized = 500;

struct Fingerprint {
  std::string hash;        // 16 lower-case hex digits, stable across versions of keel
  std::string normalized;  // "WORKFLOW/STEP/CLASS: normalized message"
};

Fingerprint fingerprintOf(std::string_view workflow, std::string_view step,
                          std::string_view failureClass, std::string_view message);

}  // namespace keel::incidents
