// Typed reads from yaml-cpp nodes, internal to spec/.
//
// Each read checks the node's type and value; on a problem it adds a
// diagnostic at the node's position and returns nullopt, so the caller
// carries on and the parser reports every problem in one pass. Nothing here
// throws: only valid nodes (from iteration or MapReader) are ever touched,
// and yaml-cpp's throwing accessors (as<T>, Mark() on a missing node) are
// not used. One parse at a time; not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "spec/diagnostics.h"

namespace keel::spec::detail {

// 1-based position of a node; {0, 0} when the node has none.
SourcePos posOf(const YAML::Node& node);

// For messages: "nothing", "a mapping", "a list" or the scalar in quotes.
std::string describe(const YAML::Node& node);

// `subject` names the value in messages, e.g. "step 'fetch': timeout".
std::optional<std::string> readString(const YAML::Node& n, const std::string& subject,
                                      Diagnostics& diag, bool allowEmpty = false);
std::optional<int64_t> readInt(const YAML::Node& n, const std::string& subject, Diagnostics& diag,
                               int64_t min, int64_t max);
std::optional<double> readNumber(const YAML::Node& n, const std::string& subject,
                                 Diagnostics& diag);
std::optional<bool> readBool(const YAML::Node& n, const std::string& subject, Diagnostics& diag);
std::optional<Millis> readDuration(const YAML::Node& n, const std::string& subject,
                                   Diagnostics& diag, bool allowZero);
// A list of non-empty strings, or (if allowSingle) one string. `expected`
// completes "expected ...", e.g. "a list of step names".
std::optional<std::vector<std::pair<std::string, SourcePos>>> readStringList(
    const YAML::Node& n, const std::string& subject, Diagnostics& diag, bool allowSingle,
    const std::string& expected);
// One of `choices`; says which are allowed (with a suggestion) otherwise.
std::optional<std::string> readChoice(const YAML::Node& n, const std::string& subject,
                                      Diagnostics& diag, const std::vector<std::string>& choices);
// The node as JSON: plain scalars that look like numbers, booleans or null
// become those; everything else a string. Bounded in depth and size, so
// self-referencing aliases and alias bombs are reported, not followed.
std::optional<nlohmann::json> readJson(const YAML::Node& n, const std::string& subject,
                                       Diagnostics& diag);

// A mapping whose keys are known. Construct, name it (setWhere) once its
// name is known, then checkKeys() to report non-string, duplicate and
// unknown keys; then read values by key.
class MapReader {
 public:
  // `map` must be a mapping. `keyPrefix` is put before keys in messages
  // ("retry." gives "retry.max_attempts").
  MapReader(const YAML::Node& map, std::string where, std::string keyPrefix, Diagnostics& diag);

  void setWhere(std::string where) { where_ = std::move(where); }
  void checkKeys(const std::vector<std::string>& allowed);

  const YAML::Node* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  SourcePos keyPos(std::string_view key) const;  // the map's position if absent
  SourcePos pos() const { return pos_; }
  // "where: prefix.key", for messages.
  std::string subject(std::string_view key) const;
  const std::string& where() const { return where_; }
  Diagnostics& diag() const { return diag_; }

  std::optional<std::string> string(std::string_view key, bool allowEmpty = false) const;
  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max) const;
  std::optional<double> number(std::string_view key) const;
  std::optional<bool> boolean(std::string_view key) const;
  std::optional<Millis> duration(std::string_view key, bool allowZero) const;
  std::optional<std::string> choice(std::string_view key,
                                    const std::vector<std::string>& choices) const;
  // The value if it is a mapping; reports anything else.
  std::optional<YAML::Node> mapping(std::string_view key) const;

 private:
  struct Entry {
    std::string key;
    YAML::Node keyNode;
    YAML::Node value;
  };
  std::vector<Entry> entries_;
  SourcePos pos_;
  std::string where_;
  std::string keyPrefix_;
  Diagnostics& diag_;
};

}  // namespace keel::spec::detail
