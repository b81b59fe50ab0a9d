// The cron parser: each field's items become bits; a field's first
// character decides whether it restricts (see cron_schedule.h).
#include "spec/cron_schedule.h"

#include <array>
#include <cctype>
#include <cstdint>
#include <optional>
#include <vector>

namespace keel::spec {
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

struct Macro {
  std::string_view name;
  std::string_view expansion;
};

constexpr std::array<Macro, 7> kMacros{{
    {"@hourly", "0 * * * *"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},
    {"@monthly", "0 0 1 * *"},
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
}};

Error fieldError(const Field& f, const std::string& what) {
  return Error(ErrorCode::kInvalidArgument, std::string(f.name) + ": " + what);
}

bool allDigits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// The value of a number or a name within the field's bounds.
Result<int> value(const Field& f, std::string_view text) {
  if (text.empty()) return fieldError(f, "a value is missing");
  if (std::isdigit(static_cast<unsigned char>(text[0]))) {
    if (text.size() > 4 || !allDigits(text))
      return fieldError(f, "'" + std::string(text) + "' is not a number");
    int v = std::stoi(std::string(text));
    if (v < f.min || v > f.max)
      return fieldError(f, std::to_string(v) + " is out of range " + std::to_string(f.min) + "-" +
                               std::to_string(f.max));
    return v;
  }
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (size_t i = 0; i < f.names.size(); ++i)
    if (!f.names[i].empty() && f.names[i] == lower) return static_cast<int>(i) + f.base;
  return fieldError(
      f, "'" + std::string(text) + "' is not a number" + (f.names[0].empty() ? "" : " or a name"));
}

// Sets the bits of one list item: `*`, `N`, `A-B`, each optionally `/S`.
Status addItem(const Field& f, std::string_view item, uint64_t& bits) {
  if (item.empty()) return fieldError(f, "empty item in a list");
  std::string_view range = item;
  int step = 1;
  bool stepped = false;
  size_t slash = item.find('/');
  if (slash != std::string_view::npos) {
    range = item.substr(0, slash);
    std::string_view s = item.substr(slash + 1);
    if (s.size() > 4 || !allDigits(s))
      return fieldError(f, "step '" + std::string(s) + "' is not a number");
    step = std::stoi(std::string(s));
    if (step < 1) return fieldError(f, "a step must be 1 or more");
    stepped = true;
  }
  int lo = f.min;
  int hi = f.max;
  if (range != "*") {
    size_t dash = range.find('-');
    auto first = value(f, range.substr(0, dash));
    if (!first.ok()) return first.error();
    lo = *first;
    if (dash != std::string_view::npos) {
      auto last = value(f, range.substr(dash + 1));
      if (!last.ok()) return last.error();
      hi = *last;
      if (hi < lo) return fieldError(f, "range " + std::string(range) + " goes backwards");
    } else if (!stepped) {
      hi = lo;  // `N` alone; `N/S` runs from N to the maximum
    }
  }
  for (int v = lo; v <= hi; v += step) bits |= uint64_t{1} << v;
  return okStatus();
}

Result<uint64_t> parseField(const Field& f, std::string_view text) {
  uint64_t bits = 0;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    auto item = text.substr(start, comma == std::string_view::npos ? comma : comma - start);
    if (auto st = addItem(f, item, bits); !st.ok()) return st.error();
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return bits;
}

std::vector<std::string_view> splitBlanks(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

template <size_t N>
std::bitset<N> low(uint64_t bits) {
  return std::bitset<N>(bits & ((N >= 64) ? ~uint64_t{0} : ((uint64_t{1} << N) - 1)));
}

}  // namespace

bool CronSchedule::matchesDay(int month, int dayOfMonth, int dayOfWeek) const {
  if (!months.test(month)) return false;
  bool dom = daysOfMonth.test(dayOfMonth);
  bool dow = daysOfWeek.test(dayOfWeek);
  if (dayOfMonthStar || dayOfWeekStar) return dom && dow;
  return dom || dow;
}

Result<CronSchedule> parseCron(std::string_view expr) {
  std::vector<std::string_view> fields = splitBlanks(expr);
  if (!fields.empty() && fields[0].front() == '@') {
    for (const auto& m : kMacros)
      if (fields.size() == 1 && m.name == fields[0]) return parseCron(m.expansion);
    return Error(ErrorCode::kInvalidArgument,
                 fields.size() == 1 ? "unknown macro (use @hourly, @daily, @midnight, @weekly, "
                                      "@monthly, @yearly or @annually)"
                                    : "a macro such as @daily stands alone, without fields");
  }
  if (fields.size() != kFields.size())
    return Error(ErrorCode::kInvalidArgument,
                 "expected 5 fields (minute hour day-of-month month day-of-week), got " +
                     std::to_string(fields.size()));
  std::array<uint64_t, 5> bits{};
  for (size_t i = 0; i < fields.size(); ++i) {
    auto b = parseField(kFields[i], fields[i]);
    if (!b.ok()) return b.error();
    bits[i] = *b;
  }
  CronSchedule s;
  s.minutes = low<60>(bits[0]);
  s.hours = low<24>(bits[1]);
  s.daysOfMonth = low<32>(bits[2]);
  s.months = low<13>(bits[3]);
  s.daysOfWeek = low<7>(bits[4] | (bits[4] >> 7));  // 7 is Sunday too
  s.minuteStar = fields[0].front() == '*';
  s.hourStar = fields[1].front() == '*';
  s.dayOfMonthStar = fields[2].front() == '*';
  s.dayOfWeekStar = fields[4].front() == '*';
  return s;
}

}  // namespace keel::spec
