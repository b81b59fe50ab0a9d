// A light check of cron expressions: five fields (minute hour day-of-month
// month day-of-week) made of lists, ranges and steps within each field's
// bounds, or one of the @hourly-style macros. The scheduler that fires them
// belongs to a later keel; this catches the typos now.
#include <array>
#include <cctype>
#include <sstream>
#include <variant>

#include "spec/parse_state.h"

namespace keel::spec::detail {
namespace {

struct Field {
  std::string_view name;
  int min;
  int max;
  std::array<std::string_view, 12> names;  // accepted three-letter names, value = index + base
  int base;
};

constexpr std::array<Field, 5> kFields{{
    {"minute", 0, 59, {}, 0},
    {"hour", 0, 23, {}, 0},
    {"day-of-month", 1, 31, {}, 0},
    {"month",
     1,
     12,
     {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"},
     1},
    {"day-of-week", 0, 7, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}, 0},
}};

constexpr std::array<std::string_view, 7> kMacros{
    {"@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually"}};

// The value of a number or a name, or an error message.
std::variant<int, std::string> value(const Field& f, std::string_view text) {
  if (text.empty()) return std::string(f.name) + ": a value is missing";
  if (std::isdigit(static_cast<unsigned char>(text[0]))) {
    if (text.size() > 4 || text.find_first_not_of("0123456789") != std::string_view::npos)
      return std::string(f.name) + ": '" + std::string(text) + "' is not a number";
    int v = std::stoi(std::string(text));
    if (v < f.min || v > f.max)
      return std::string(f.name) + ": " + std::to_string(v) + " is out of range " +
             std::to_string(f.min) + "-" + std::to_string(f.max);
    return v;
  }
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (size_t i = 0; i < f.names.size(); ++i)
    if (!f.names[i].empty() && f.names[i] == lower) return static_cast<int>(i) + f.base;
  return std::string(f.name) + ": '" + std::string(text) + "' is not a number" +
         (f.names[0].empty() ? "" : " or a name");
}

std::optional<std::string> itemProblem(const Field& f, std::string_view item) {
  if (item.empty()) return std::string(f.name) + ": empty item in a list";
  std::string_view range = item;
  size_t slash = item.find('/');
  if (slash != std::string_view::npos) {
    range = item.substr(0, slash);
    std::string_view step = item.substr(slash + 1);
    if (step.empty() || step.size() > 4 ||
        step.find_first_not_of("0123456789") != std::string_view::npos)
      return std::string(f.name) + ": step '" + std::string(step) + "' is not a number";
    if (std::stoi(std::string(step)) < 1) return std::string(f.name) + ": a step must be 1 or more";
  }
  if (range == "*") return std::nullopt;
  size_t dash = range.find('-');
  auto lo = value(f, range.substr(0, dash));
  if (auto* err = std::get_if<std::string>(&lo)) return *err;
  if (dash == std::string_view::npos) return std::nullopt;
  auto hi = value(f, range.substr(dash + 1));
  if (auto* err = std::get_if<std::string>(&hi)) return *err;
  if (std::get<int>(hi) < std::get<int>(lo))
    return std::string(f.name) + ": range " + std::string(range) + " goes backwards";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> cronProblem(std::string_view expr) {
  if (!expr.empty() && expr[0] == '@') {
    for (auto m : kMacros)
      if (m == expr) return std::nullopt;
    return "unknown macro (use @hourly, @daily, @weekly, @monthly or @yearly)";
  }
  std::istringstream in{std::string(expr)};
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() != kFields.size())
    return "expected 5 fields (minute hour day-of-month month day-of-week), got " +
           std::to_string(fields.size());
  for (size_t i = 0; i < fields.size(); ++i) {
    std::string_view field = fields[i];
    size_t start = 0;
    while (true) {
      size_t comma = field.find(',', start);
      auto item = field.substr(start, comma == std::string_view::npos ? comma : comma - start);
      if (auto why = itemProblem(kFields[i], item)) return why;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  return std::nullopt;
}

}  // namespace keel::spec::detail
