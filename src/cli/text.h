// Small text helpers of the CLI: how times, durations and values read in
// human output, `--param KEY=VALUE` parsing, URL encoding, and lenient
// access to fields of API JSON. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace keel::cli {

// "2026-11-23T07:03:00.123Z" -> "2026-11-23T07:03:00Z"; null/missing -> "-".
std::string shortTime(const nlohmann::json& rfc3339);
// Milliseconds since the epoch of an RFC 3339 UTC time as the API writes it
// ("...Z", optional fraction); nullopt if it is not one.
std::optional<int64_t> parseRfc3339(std::string_view text);
// 350 -> "350ms", 1500 -> "1.5s", 123000 -> "2m03s", 3720000 -> "1h02m".
std::string formatMillis(int64_t ms);
// The duration from `from` to `to` (RFC 3339 JSON strings), or "-".
std::string durationBetween(const nlohmann::json& from, const nlohmann::json& to);
// A task's lease as seen at `nowMs` (ms since the epoch): "expires in 42s"
// (whole seconds, rounded up), "lapsed" once the time has passed, "-" when
// `expiresAt` is null (the task is queued) or not a time.
std::string leaseText(const nlohmann::json& expiresAt, int64_t nowMs);

// A run's params on one line: "date=2026-11-28 region=eu", values that are
// not strings as JSON, cut to `width` characters with "…"; "-" when none.
std::string paramsText(const nlohmann::json& params, size_t width = 40);

// "region=eu" -> ("region", "eu"); the value may contain '=' and be empty,
// the key may not be empty. kInvalidArgument otherwise.
Result<std::pair<std::string, std::string>> parseParam(std::string_view text);

// An age such as "7d": a whole number > 0 followed by one unit, s, m, h,
// d (24 h) or w (7 d); in milliseconds. kInvalidArgument otherwise, saying
// what is expected.
Result<int64_t> parseAge(std::string_view text);

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string urlEncode(std::string_view text);

// j[key] as display text: strings as they are, numbers and booleans
// printed, null or missing as `fallback`.
std::string text(const nlohmann::json& j, const char* key, const std::string& fallback = "");
// j[key], or a null value when j is not an object or has no such key: API
// answers are read leniently, never with a throwing lookup.
const nlohmann::json& member(const nlohmann::json& j, const char* key);

}  // namespace keel::cli
