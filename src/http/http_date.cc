// Retry-After and HTTP dates (RFC 9110 sections 5.6.7 and 10.2.3).
#include <array>
#include <charconv>
#include <cstdint>

#include "http/classify.h"

namespace keel::http {
namespace {

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> kDays = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDays = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A cursor over the value: each take* consumes exactly what it names.
struct Cursor {
  std::string_view s;
  bool ok = true;

  bool lit(std::string_view l) {
    if (ok && s.substr(0, l.size()) == l) {
      s.remove_prefix(l.size());
      return true;
    }
    return ok = false;
  }
  int digits(std::size_t n) {
    int v = 0;
    if (!ok || s.size() < n) return ok = false;
    for (std::size_t i = 0; i < n; ++i) {
      if (s[i] < '0' || s[i] > '9') return ok = false;
      v = v * 10 + (s[i] - '0');
    }
    s.remove_prefix(n);
    return v;
  }
  int month() {
    for (std::size_t i = 0; i < kMonths.size(); ++i)
      if (ok && s.substr(0, 3) == kMonths[i]) {
        s.remove_prefix(3);
        return static_cast<int>(i) + 1;
      }
    return ok = false;
  }
  template <std::size_t N>
  void oneOf(const std::array<std::string_view, N>& names) {
    for (auto n : names)
      if (ok && s.substr(0, n.size()) == n) {
        s.remove_prefix(n.size());
        return;
      }
    ok = false;
  }
  void time(int& h, int& m, int& sec) {
    h = digits(2);
    lit(":");
    m = digits(2);
    lit(":");
    sec = digits(2);
  }
};

std::optional<WallTime> toTime(int year, int month, int day, int h, int m, int s) {
  using namespace std::chrono;
  year_month_day ymd{std::chrono::year(year), std::chrono::month(month), std::chrono::day(day)};
  if (!ymd.ok() || h > 23 || m > 59 || s > 60) return std::nullopt;
  return WallTime(sys_days(ymd)) + hours(h) + minutes(m) + seconds(s);
}

int yearOf(WallTime t) {
  using namespace std::chrono;
  return int(year_month_day(floor<days>(t)).year());
}

}  // namespace

std::optional<WallTime> parseHttpDate(std::string_view value, WallTime now) {
  value = trim(value);
  int year = 0, month = 0, day = 0, h = 0, m = 0, s = 0;
  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
  Cursor c{value};
  c.oneOf(kDays);
  c.lit(", ");
  day = c.digits(2);
  c.lit(" ");
  month = c.month();
  c.lit(" ");
  year = c.digits(4);
  c.lit(" ");
  c.time(h, m, s);
  c.lit(" GMT");
  if (c.ok && c.s.empty()) return toTime(year, month, day, h, m, s);
  // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
  c = Cursor{value};
  c.oneOf(kLongDays);
  c.lit(", ");
  day = c.digits(2);
  c.lit("-");
  month = c.month();
  c.lit("-");
  year = c.digits(2);
  c.lit(" ");
  c.time(h, m, s);
  c.lit(" GMT");
  if (c.ok && c.s.empty()) {
    int current = yearOf(now);
    year += current - current % 100;
    if (year > current + 50) year -= 100;
    return toTime(year, month, day, h, m, s);
  }
  // asctime: Sun Nov  6 08:49:37 1994 (the day is space-padded)
  c = Cursor{value};
  c.oneOf(kDays);
  c.lit(" ");
  month = c.month();
  c.lit(" ");
  if (c.ok && !c.s.empty() && c.s.front() == ' ') {
    c.s.remove_prefix(1);
    day = c.digits(1);
  } else {
    day = c.digits(2);
  }
  c.lit(" ");
  c.time(h, m, s);
  c.lit(" ");
  year = c.digits(4);
  if (c.ok && c.s.empty()) return toTime(year, month, day, h, m, s);
  return std::nullopt;
}

std::optional<WallTime> parseRetryAfter(std::string_view value, WallTime now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    std::uint64_t seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc() || end != value.data() + value.size() || seconds > 1'000'000'000)
      return std::nullopt;
    return now + std::chrono::seconds(seconds);
  }
  auto date = parseHttpDate(value, now);
  if (!date) return std::nullopt;
  return std::max(*date, now);
}

}  // namespace keel::http
