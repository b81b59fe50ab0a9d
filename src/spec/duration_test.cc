#include <gtest/gtest.h>

#include "spec/parser.h"

namespace keel::spec {
namespace {

struct Good {
  const char* text;
  int64_t ms;
};

TEST(Duration, ParsesValidForms) {
  const Good cases[] = {
      {"0", 0},
      {"0s", 0},
      {"0ms", 0},
      {"500ms", 500},
      {"10s", 10'000},
      {"2m", 120'000},
      {"1h", 3'600'000},
      {"1h30m", 5'400'000},
      {"1d", 86'400'000},
      {"1d2h3m4s5ms", 93'784'005},
      {"90m", 5'400'000},
      {"1m1ms", 60'001},
      {"36500d", 36'500LL * 86'400'000},
  };
  for (const Good& c : cases) {
    auto d = parseDuration(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.error().message();
    EXPECT_EQ(d->count(), c.ms) << c.text;
  }
}

struct Bad {
  const char* text;
  const char* fragment;
};

TEST(Duration, RefusesWithAReason) {
  const Bad cases[] = {
      {"", "empty"},
      {"10x", "bad duration \"10x\": unknown unit 'x' (use ms, s, m, h, d)"},
      {"10", "missing unit after 10"},
      {"1h 30m", "spaces are not allowed"},
      {" 1h", "spaces are not allowed"},
      {"-5s", "negative durations are not allowed"},
      {"+5s", "without a sign"},
      {"1.5h", "fractions are not allowed"},
      {"30m1h", "units must go from largest to smallest"},
      {"1h1h", "units must go from largest to smallest"},
      {"h", "expected a number at 'h'"},
      {"10S", "unknown unit 'S'"},
      {"36501d", "too large"},
      {"99999999999999999999999s", "too large"},
      {"9223372036854775807ms", "too large"},
  };
  for (const Bad& c : cases) {
    auto d = parseDuration(c.text);
    ASSERT_FALSE(d.ok()) << "accepted \"" << c.text << "\"";
    EXPECT_EQ(d.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(d.error().message().find(c.fragment), std::string::npos)
        << c.text << ": " << d.error().message();
  }
}

TEST(Duration, FormatsTheShortestExactForm) {
  const Good cases[] = {
      {"0s", 0},      {"500ms", 500},       {"1s", 1000},       {"1s500ms", 1500},
      {"1m", 60'000}, {"1h30m", 5'400'000}, {"1d", 86'400'000}, {"1d1ms", 86'400'001},
  };
  for (const Good& c : cases) EXPECT_EQ(formatDuration(Millis(c.ms)), c.text);
  EXPECT_EQ(formatDuration(Millis(-1500)), "-1s500ms");
}

TEST(Duration, FormatThenParseRoundTrips) {
  for (int64_t ms :
       {0LL, 1LL, 999LL, 1000LL, 61'001LL, 3'600'000LL, 90'061'001LL, 86'400'000LL * 400}) {
    auto back = parseDuration(formatDuration(Millis(ms)));
    ASSERT_TRUE(back.ok()) << formatDuration(Millis(ms));
    EXPECT_EQ(back->count(), ms);
  }
}

}  // namespace
}  // namespace keel::spec
