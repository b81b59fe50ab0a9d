#include "cli/text.h"

#include <cstdio>
#include <ctime>

#include <fmt/format.h>

namespace keel::cli {

std::string shortTime(const nlohmann::json& rfc3339) {
  if (!rfc3339.is_string()) return "-";
  auto s = rfc3339.get<std::string>();
  auto dot = s.find('.');
  if (dot != std::string::npos && !s.empty() && s.back() == 'Z') return s.substr(0, dot) + "Z";
  return s;
}

std::optional<int64_t> parseRfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fff...]Z
  if (text.size() < 20 || text.back() != 'Z') return std::nullopt;
  std::tm tm{};
  int consumed = 0;
  std::string head(text.substr(0, 19));
  if (std::sscanf(head.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 19)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  int64_t ms = 0;
  std::string_view rest = text.substr(19, text.size() - 20);
  if (!rest.empty()) {
    if (rest.front() != '.' || rest.size() < 2) return std::nullopt;
    int64_t scale = 100;
    for (char c : rest.substr(1)) {
      if (c < '0' || c > '9') return std::nullopt;
      ms += (c - '0') * scale;
      scale /= 10;
    }
  }
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

std::string formatMillis(int64_t ms) {
  if (ms < 0) ms = 0;
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms < 60'000) return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0);
  int64_t secs = ms / 1000;
  if (secs < 3600) return fmt::format("{}m{:02}s", secs / 60, secs % 60);
  return fmt::format("{}h{:02}m", secs / 3600, (secs % 3600) / 60);
}

std::string paramsText(const nlohmann::json& params, size_t width) {
  if (!params.is_object() || params.empty()) return "-";
  std::string out;
  for (const auto& [key, value] : params.items()) {
    if (!out.empty()) out += ' ';
    out +=
        key + "=" +
        (value.is_string() ? value.get<std::string>()
                           : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  // Cut after `width` UTF-8 characters, never inside one.
  size_t chars = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if ((static_cast<unsigned char>(out[i]) & 0xC0) == 0x80) continue;
    if (++chars > width) return out.substr(0, i) + "…";
  }
  return out;
}

std::string durationBetween(const nlohmann::json& from, const nlohmann::json& to) {
  if (!from.is_string() || !to.is_string()) return "-";
  auto a = parseRfc3339(from.get<std::string>());
  auto b = parseRfc3339(to.get<std::string>());
  if (!a || !b) return "-";
  return formatMillis(*b - *a);
}

std::string leaseText(const nlohmann::json& expiresAt, int64_t nowMs) {
  if (!expiresAt.is_string()) return "-";
  auto at = parseRfc3339(expiresAt.get<std::string>());
  if (!at) return "-";
  int64_t left = *at - nowMs;
  if (left <= 0) return "lapsed";
  return fmt::format("expires in {}s", (left + 999) / 1000);
}

Result<int64_t> parseAge(std::string_view text) {
  auto bad = [&] {
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("'{}' is not an age: expected a whole number and a unit, s, m, h, d "
                             "or w (e.g. 7d, 12h)",
                             text));
  };
  if (text.size() < 2) return bad();
  int64_t unitMs = 0;
  switch (text.back()) {
    case 's':
      unitMs = 1000;
      break;
    case 'm':
      unitMs = 60 * 1000;
      break;
    case 'h':
      unitMs = 3600 * 1000;
      break;
    case 'd':
      unitMs = 24 * 3600 * 1000;
      break;
    case 'w':
      unitMs = 7 * 24 * 3600 * 1000;
      break;
    default:
      return bad();
  }
  int64_t n = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return bad();
    n = n * 10 + (c - '0');
    if (n > 1'000'000) return bad();  // over 19,000 years in weeks: a typo
  }
  if (n == 0) return bad();
  return n * unitMs;
}

Result<std::pair<std::string, std::string>> parseParam(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("--param must be KEY=VALUE, got '{}'", text));
  return std::make_pair(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
}

std::string urlEncode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string text(const nlohmann::json& j, const char* key, const std::string& fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

const nlohmann::json& member(const nlohmann::json& j, const char* key) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

}  // namespace keel::cli
