// Diagnostics: the problems found while parsing one workflow, internal to spec/.
//
// The parser never stops at the first problem: every reader adds what it
// finds here, with the position it found it at, and parseWorkflow() turns
// the lot into one Error whose details read "FILE:LINE:COL: message", sorted
// by position. Also home of the "did you mean" suggestion. One parse owns
// one Diagnostics; not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spec/workflow.h"

namespace keel::spec::detail {

class Diagnostics {
 public:
  explicit Diagnostics(std::string fileName) : fileName_(std::move(fileName)) {}

  void add(SourcePos pos, std::string message);
  bool empty() const { return items_.empty(); }
  // detail::didYouMean(), until many problems are found: suggestions cost a
  // scan of the candidates, and a hostile file must not make parsing slow.
  std::string didYouMean(std::string_view word, const std::vector<std::string>& candidates) const;
  size_t count() const { return items_.size(); }
  // "FILE:LINE:COL: message", by position, then in the order added.
  std::vector<std::string> details() const;

 private:
  struct Item {
    SourcePos pos;
    std::string message;
  };
  static std::string oneLine(const std::string& message);

  std::string fileName_;
  std::vector<Item> items_;
};

// Levenshtein distance, for suggestions.
size_t editDistance(std::string_view a, std::string_view b);

// The closest candidate within an edit distance of 2, or one that starts with
// `word` (or that `word` starts with); nullopt when nothing is close.
std::optional<std::string> closest(std::string_view word,
                                   const std::vector<std::string>& candidates);
// " (did you mean 'x'?)" naming closest(), or "".
std::string didYouMean(std::string_view word, const std::vector<std::string>& candidates);

// True if `name` matches [a-z0-9][a-z0-9_.-]{0,62}: workflow, namespace,
// step and dependency names.
bool isValidName(std::string_view name);
inline constexpr std::string_view kNameRule =
    "use 1-63 characters from a-z, 0-9, '_', '.', '-', starting with a letter or digit";

}  // namespace keel::spec::detail
