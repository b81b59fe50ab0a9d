#include "spec/diagnostics.h"

#include <algorithm>
#include <numeric>

namespace keel::spec::detail {
namespace {

constexpr size_t kMaxSuggestions = 200;

}  // namespace

void Diagnostics::add(SourcePos pos, std::string message) {
  // Positions come from yaml-cpp marks; a node built without one is reported
  // at the top of the file rather than at the meaningless 0:0.
  if (pos.line <= 0) pos = SourcePos{1, 1};
  items_.push_back(Item{pos, oneLine(message)});
}

std::string Diagnostics::oneLine(const std::string& message) {
  // Messages quote the user's text, which may hold newlines; a detail must
  // stay one line.
  std::string out;
  for (char c : message) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      const char* hex = "0123456789abcdef";
      out += std::string("\\x") + hex[u >> 4] + hex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

std::string Diagnostics::didYouMean(std::string_view word,
                                    const std::vector<std::string>& candidates) const {
  if (items_.size() > kMaxSuggestions) return "";
  return detail::didYouMean(word, candidates);
}

std::vector<std::string> Diagnostics::details() const {
  std::vector<size_t> order(items_.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const SourcePos& pa = items_[a].pos;
    const SourcePos& pb = items_[b].pos;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  std::vector<std::string> out;
  out.reserve(items_.size());
  for (size_t i : order) {
    const Item& it = items_[i];
    out.push_back(fileName_ + ":" + std::to_string(it.pos.line) + ":" +
                  std::to_string(it.pos.column) + ": " + it.message);
  }
  return out;
}

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  std::iota(prev.begin(), prev.end(), 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<std::string> closest(std::string_view word,
                                   const std::vector<std::string>& candidates) {
  // Very long words are not typos of short keys; skip the quadratic work.
  if (word.empty() || word.size() > 200) return std::nullopt;
  const std::string* best = nullptr;
  size_t bestDist = 3;
  for (const std::string& c : candidates) {
    size_t diff = c.size() > word.size() ? c.size() - word.size() : word.size() - c.size();
    if (diff >= bestDist) continue;  // the distance is at least the difference in length
    size_t d = editDistance(word, c);
    if (d < bestDist && d < word.size()) {
      bestDist = d;
      best = &c;
    }
  }
  if (!best && word.size() >= 3) {
    for (const std::string& c : candidates) {
      if (c.starts_with(word) || word.starts_with(c)) {
        best = &c;
        break;
      }
    }
  }
  if (!best) return std::nullopt;
  return *best;
}

std::string didYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  auto c = closest(word, candidates);
  return c ? " (did you mean '" + *c + "'?)" : "";
}

bool isValidName(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  auto lowerOrDigit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lowerOrDigit(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [&](char c) { return lowerOrDigit(c) || c == '_' || c == '.' || c == '-'; });
}

}  // namespace keel::spec::detail
