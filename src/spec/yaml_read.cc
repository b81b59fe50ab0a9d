#include "spec/yaml_read.h"

#include <charconv>
#include <cmath>
#include <functional>
#include <map>

#include "spec/parser.h"

namespace keel::spec::detail {
namespace {

constexpr size_t kMaxQuoted = 40;  // longer scalars are cut in messages
constexpr int kMaxJsonDepth = 64;
constexpr size_t kMaxJsonNodes = 10'000;

void expected(const YAML::Node& n, const std::string& subject, Diagnostics& diag,
              const std::string& what) {
  diag.add(posOf(n), subject + ": expected " + what + ", got " + describe(n));
}

bool isPlain(const YAML::Node& n) { return n.Tag() == "?" || n.Tag().empty(); }

std::optional<int64_t> toInt(const std::string& s) {
  int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p != end || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> toDouble(const std::string& s) {
  double v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p != end || s.empty() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

SourcePos posOf(const YAML::Node& node) {
  if (!node.IsDefined()) return {};
  YAML::Mark m = node.Mark();
  if (m.is_null() || m.line < 0) return {};
  return SourcePos{m.line + 1, m.column + 1};
}

std::string describe(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  std::string s = n.Scalar();
  if (s.size() > kMaxQuoted) s = s.substr(0, kMaxQuoted) + "...";
  return "\"" + s + "\"";
}

std::optional<std::string> readString(const YAML::Node& n, const std::string& subject,
                                      Diagnostics& diag, bool allowEmpty) {
  if (!n.IsScalar()) {
    expected(n, subject, diag, "a string");
    return std::nullopt;
  }
  if (!allowEmpty && n.Scalar().empty()) {
    diag.add(posOf(n), subject + ": must not be empty");
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<int64_t> readInt(const YAML::Node& n, const std::string& subject, Diagnostics& diag,
                               int64_t min, int64_t max) {
  std::optional<int64_t> v = n.IsScalar() ? toInt(n.Scalar()) : std::nullopt;
  if (!v) {
    expected(n, subject, diag, "an integer");
    return std::nullopt;
  }
  if (*v < min || *v > max) {
    std::string range = max == INT64_MAX
                            ? "at least " + std::to_string(min)
                            : "from " + std::to_string(min) + " to " + std::to_string(max);
    diag.add(posOf(n), subject + ": " + std::to_string(*v) + " is out of range (" + range + ")");
    return std::nullopt;
  }
  return v;
}

std::optional<double> readNumber(const YAML::Node& n, const std::string& subject,
                                 Diagnostics& diag) {
  std::optional<double> v = n.IsScalar() ? toDouble(n.Scalar()) : std::nullopt;
  if (!v) expected(n, subject, diag, "a number");
  return v;
}

std::optional<bool> readBool(const YAML::Node& n, const std::string& subject, Diagnostics& diag) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  expected(n, subject, diag, "true or false");
  return std::nullopt;
}

std::optional<Millis> readDuration(const YAML::Node& n, const std::string& subject,
                                   Diagnostics& diag, bool allowZero) {
  if (!n.IsScalar()) {
    expected(n, subject, diag, "a duration such as 30s or 1h30m");
    return std::nullopt;
  }
  auto d = parseDuration(n.Scalar());
  if (!d.ok()) {
    diag.add(posOf(n), subject + ": " + d.error().message());
    return std::nullopt;
  }
  if (!allowZero && d->count() == 0) {
    diag.add(posOf(n), subject + ": must be greater than zero");
    return std::nullopt;
  }
  return *d;
}

std::optional<std::vector<std::pair<std::string, SourcePos>>> readStringList(
    const YAML::Node& n, const std::string& subject, Diagnostics& diag, bool allowSingle,
    const std::string& what) {
  std::vector<std::pair<std::string, SourcePos>> out;
  if (allowSingle && n.IsScalar() && !n.Scalar().empty()) {
    out.emplace_back(n.Scalar(), posOf(n));
    return out;
  }
  if (!n.IsSequence()) {
    expected(n, subject, diag, what);
    return std::nullopt;
  }
  bool ok = true;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const YAML::Node item = *it;
    if (!item.IsScalar() || item.Scalar().empty()) {
      expected(item, subject, diag, what);
      ok = false;
      continue;
    }
    out.emplace_back(item.Scalar(), posOf(item));
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::string> readChoice(const YAML::Node& n, const std::string& subject,
                                      Diagnostics& diag, const std::vector<std::string>& choices) {
  auto s = readString(n, subject, diag);
  if (!s) return std::nullopt;
  for (const auto& c : choices)
    if (*s == c) return s;
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  diag.add(posOf(n), subject + ": unknown value \"" + *s + "\"" + didYouMean(*s, choices) +
                         " (use one of " + list + ")");
  return std::nullopt;
}

std::optional<nlohmann::json> readJson(const YAML::Node& root, const std::string& subject,
                                       Diagnostics& diag) {
  size_t nodes = 0;
  std::string problem;
  SourcePos where;
  std::function<nlohmann::json(const YAML::Node&, int)> conv = [&](const YAML::Node& n,
                                                                   int depth) -> nlohmann::json {
    if (!problem.empty()) return nullptr;
    if (++nodes > kMaxJsonNodes || depth > kMaxJsonDepth) {
      problem = depth > kMaxJsonDepth ? "nested too deeply (or refers to itself)"
                                      : "too large (more than 10000 values)";
      where = posOf(n);
      return nullptr;
    }
    if (n.IsNull()) return nullptr;
    if (n.IsMap()) {
      nlohmann::json obj = nlohmann::json::object();
      for (auto it = n.begin(); it != n.end(); ++it) {
        if (!it->first.IsScalar()) {
          problem = "keys must be strings";
          where = posOf(it->first);
          return nullptr;
        }
        obj[it->first.Scalar()] = conv(it->second, depth + 1);
      }
      return obj;
    }
    if (n.IsSequence()) {
      nlohmann::json arr = nlohmann::json::array();
      for (auto it = n.begin(); it != n.end(); ++it) arr.push_back(conv(*it, depth + 1));
      return arr;
    }
    const std::string& s = n.Scalar();
    if (!isPlain(n)) return s;
    if (s == "true" || s == "false") return s == "true";
    if (s == "null" || s == "~") return nullptr;
    if (auto i = toInt(s)) return *i;
    if (auto d = toDouble(s)) return *d;
    return s;
  };
  nlohmann::json j = conv(root, 0);
  if (!problem.empty()) {
    diag.add(where, subject + ": " + problem);
    return std::nullopt;
  }
  return j;
}

MapReader::MapReader(const YAML::Node& map, std::string where, std::string keyPrefix,
                     Diagnostics& diag)
    : pos_(posOf(map)), where_(std::move(where)), keyPrefix_(std::move(keyPrefix)), diag_(diag) {
  for (auto it = map.begin(); it != map.end(); ++it)
    entries_.push_back(
        Entry{it->first.IsScalar() ? it->first.Scalar() : std::string(), it->first, it->second});
}

void MapReader::checkKeys(const std::vector<std::string>& allowed) {
  std::string in = where_.empty() ? "" : " in " + where_;
  std::map<std::string_view, size_t> firstOf;  // known key -> its first entry
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    if (!e.keyNode.IsScalar()) {
      diag_.add(posOf(e.keyNode), "keys must be strings" + in + ", got " + describe(e.keyNode));
      continue;
    }
    bool known = false;
    for (const auto& a : allowed) known = known || a == e.key;
    if (!known) {
      auto near = closest(e.key, allowed);
      std::string hint = near ? " (did you mean '" + keyPrefix_ + *near + "'?)" : "";
      diag_.add(posOf(e.keyNode), "unknown key '" + keyPrefix_ + e.key + "'" + in + hint);
      continue;
    }
    auto [first, fresh] = firstOf.emplace(e.key, i);
    if (!fresh)
      diag_.add(posOf(e.keyNode),
                "duplicate key '" + keyPrefix_ + e.key + "'" + in + " (first at line " +
                    std::to_string(posOf(entries_[first->second].keyNode).line) + ")");
  }
}

const YAML::Node* MapReader::find(std::string_view key) const {
  for (const Entry& e : entries_)
    if (e.keyNode.IsScalar() && e.key == key) return &e.value;
  return nullptr;
}

SourcePos MapReader::keyPos(std::string_view key) const {
  for (const Entry& e : entries_)
    if (e.keyNode.IsScalar() && e.key == key) return posOf(e.keyNode);
  return pos_;
}

std::string MapReader::subject(std::string_view key) const {
  return (where_.empty() ? "" : where_ + ": ") + keyPrefix_ + std::string(key);
}

std::optional<std::string> MapReader::string(std::string_view key, bool allowEmpty) const {
  const YAML::Node* n = find(key);
  return n ? readString(*n, subject(key), diag_, allowEmpty) : std::nullopt;
}

std::optional<int64_t> MapReader::integer(std::string_view key, int64_t min, int64_t max) const {
  const YAML::Node* n = find(key);
  return n ? readInt(*n, subject(key), diag_, min, max) : std::nullopt;
}

std::optional<double> MapReader::number(std::string_view key) const {
  const YAML::Node* n = find(key);
  return n ? readNumber(*n, subject(key), diag_) : std::nullopt;
}

std::optional<bool> MapReader::boolean(std::string_view key) const {
  const YAML::Node* n = find(key);
  return n ? readBool(*n, subject(key), diag_) : std::nullopt;
}

std::optional<Millis> MapReader::duration(std::string_view key, bool allowZero) const {
  const YAML::Node* n = find(key);
  return n ? readDuration(*n, subject(key), diag_, allowZero) : std::nullopt;
}

std::optional<std::string> MapReader::choice(std::string_view key,
                                             const std::vector<std::string>& choices) const {
  const YAML::Node* n = find(key);
  return n ? readChoice(*n, subject(key), diag_, choices) : std::nullopt;
}

std::optional<YAML::Node> MapReader::mapping(std::string_view key) const {
  const YAML::Node* n = find(key);
  if (!n) return std::nullopt;
  if (!n->IsMap()) {
    expected(*n, subject(key), diag_, "a mapping");
    return std::nullopt;
  }
  return *n;
}

}  // namespace keel::spec::detail
