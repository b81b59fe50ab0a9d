#include "incidents/fingerprint.h"

#include <cstdint>
#include <regex>

#include <fmt/format.h>

namespace keel::incidents {
namespace {

struct Rule {
  std::regex pattern;
  const char* placeholder;
};

// Applied in order, each to what the previous ones left: paths first (a
// path may hold dates, ids and numbers: the whole path is one placeholder),
// then the shapes that hold numbers (UUIDs, times, run ids, hex), then
// numbers.
const std::vector<Rule>& rules() {
  static const std::vector<Rule> kRules = [] {
    auto icase = std::regex::ECMAScript | std::regex::icase;
    std::vector<Rule> r;
    r.push_back({std::regex(R"((\.{0,2}/[A-Za-z0-9._~@%+=-]+)+/?)"), "<path>"});
    r.push_back(
        {std::regex(R"(\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b)", icase),
         "<uuid>"});
    r.push_back({std::regex(R"(\b\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?)"
                            R"((Z|[+-]\d{2}:?\d{2})?)",
                            icase),
                 "<time>"});
    r.push_back({std::regex(R"(\b\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\b)"), "<time>"});
    // keel run ids: 26 characters of Crockford base32 (core/ids.h).
    r.push_back({std::regex(R"(\b[0-9A-HJKMNP-TV-Z]{26}\b)"), "<run>"});
    r.push_back({std::regex(R"(\b0x[0-9a-f]+\b)", icase), "<hex>"});
    r.push_back(
        {std::regex(R"(\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b)", icase), "<hex>"});
    r.push_back({std::regex(R"(\d+(\.\d+)?)"), "<n>"});
    return r;
  }();
  return kRules;
}

std::string collapseSpaces(const std::string& in) {
  std::string out;
  bool space = false;
  for (char c : in) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

std::string normalizeMessage(std::string_view message) {
  // A bounded input keeps the regular expressions cheap on a huge message.
  std::string text(message.substr(0, 4 * kMaxNormalized));
  for (const Rule& rule : rules()) text = std::regex_replace(text, rule.pattern, rule.placeholder);
  text = collapseSpaces(text);
  if (text.size() > kMaxNormalized) text.resize(kMaxNormalized);
  return text;
}

Fingerprint fingerprintOf(std::string_view workflow, std::string_view step,
                          std::string_view failureClass, std::string_view message) {
  Fingerprint f;
  f.normalized =
      fmt::format("{}/{}/{}: {}", workflow, step, failureClass, normalizeMessage(message));
  f.hash = fmt::format("{:016x}", fnv1a64(f.normalized));
  return f;
}

}  // namespace keel::incidents
