#include "observe/trace_context.h"

#include <fmt/format.h>

namespace keel::observe {
namespace {

bool isLowerHex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool allZero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

bool isHexId(std::string_view id, size_t length) {
  return id.size() == length && isLowerHex(id) && !allZero(id);
}

uint64_t nonZero(Random& random) {
  uint64_t v = random.next64();
  return v == 0 ? 1 : v;
}

}  // namespace

bool isTraceId(std::string_view id) { return isHexId(id, 32); }
bool isSpanId(std::string_view id) { return isHexId(id, 16); }

std::optional<TraceContext> parseTraceparent(std::string_view header) {
  // Exactly 55 characters for version 00: 2-32-16-2 and three dashes.
  if (header.size() != 55) return std::nullopt;
  if (header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  std::string_view version = header.substr(0, 2);
  std::string_view traceId = header.substr(3, 32);
  std::string_view spanId = header.substr(36, 16);
  std::string_view flags = header.substr(53, 2);
  if (version != "00") return std::nullopt;
  if (!isTraceId(traceId) || !isSpanId(spanId) || !isLowerHex(flags)) return std::nullopt;
  TraceContext out;
  out.traceId = std::string(traceId);
  out.spanId = std::string(spanId);
  out.flags = static_cast<uint8_t>(std::stoul(std::string(flags), nullptr, 16));
  return out;
}

std::string formatTraceparent(std::string_view traceId, std::string_view spanId, uint8_t flags) {
  return fmt::format("00-{}-{}-{:02x}", traceId, spanId, flags);
}

std::string formatTraceparent(const TraceContext& context) {
  return formatTraceparent(context.traceId, context.spanId, context.flags);
}

std::string newTraceId(Random& random) {
  uint64_t hi = random.next64();
  uint64_t lo = nonZero(random);
  return fmt::format("{:016x}{:016x}", hi, lo);
}

std::string newSpanId(Random& random) { return fmt::format("{:016x}", nonZero(random)); }

std::string spanIdFor(std::string_view key) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  return fmt::format("{:016x}", h | 1);
}

std::string derivedTraceId(std::string_view runId) {
  static constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  auto fnv1a = [](std::string_view text) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
    return h;
  };
  if (runId.size() == 26) {
    // 26 base32 digits hold 130 bits; a run id's first digit is at most 7.
    unsigned __int128 v = 0;
    bool ok = true;
    for (char c : runId) {
      char upper = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
      auto d = kCrockford.find(upper);
      if (d == std::string_view::npos) {
        ok = false;
        break;
      }
      v = (v << 5) | d;
    }
    if (ok && v != 0)
      return fmt::format("{:016x}{:016x}", static_cast<uint64_t>(v >> 64),
                         static_cast<uint64_t>(v));
  }
  return fmt::format("{:016x}{:016x}", fnv1a(runId) | 1, fnv1a("keel:" + std::string(runId)));
}

std::string runTraceId(std::string_view stored, std::string_view runId) {
  return isTraceId(stored) ? std::string(stored) : derivedTraceId(runId);
}

std::string attemptSpanId(std::string_view runId, std::string_view step, int attempt) {
  return spanIdFor(fmt::format("{}/{}/{}", runId, step, attempt));
}

bool isValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdBytes) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string newRequestId(Random& random) {
  return fmt::format("{:016x}{:016x}", random.next64(), random.next64());
}

}  // namespace keel::observe
