#include "observe/trace_context.h"

#include <gtest/gtest.h>

namespace keel::observe {
namespace {

constexpr const char* kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kSpan = "00f067aa0ba902b7";

TEST(TraceparentTest, ParsesTheTable) {
  struct Case {
    const char* header;
    bool valid;
  };
  const Case cases[] = {
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff", true},
      // another version, or none
      {"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},
      {"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},
      // all-zero ids
      {"00-00000000000000000000000000000000-00f067aa0ba902b7-01", false},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false},
      // upper case, non-hex, wrong lengths, wrong separators
      {"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false},
      {"00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", false},
      {"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", false},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01", false},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1", false},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x", false},
      {"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", false},
      {" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},
      {"", false},
      {"garbage", false},
  };
  for (const auto& c : cases) {
    auto parsed = parseTraceparent(c.header);
    EXPECT_EQ(parsed.has_value(), c.valid) << c.header;
  }
}

TEST(TraceparentTest, ParsedFieldsAndFormatRoundTrip) {
  auto parsed = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->traceId, kTrace);
  EXPECT_EQ(parsed->spanId, kSpan);
  EXPECT_EQ(parsed->flags, 1);
  EXPECT_EQ(formatTraceparent(*parsed), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  EXPECT_EQ(formatTraceparent(kTrace, kSpan, 0),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
}

TEST(TraceparentTest, NewIdsAreValidAndReproducibleFromTheSeed) {
  SeededRandom a(7), b(7);
  std::string trace = newTraceId(a);
  EXPECT_TRUE(isTraceId(trace)) << trace;
  EXPECT_EQ(trace, newTraceId(b));
  std::string span = newSpanId(a);
  EXPECT_TRUE(isSpanId(span)) << span;
  EXPECT_NE(newTraceId(a), trace);
}

TEST(TraceparentTest, DerivedSpanIdsAreStableAndDistinct) {
  EXPECT_EQ(spanIdFor("run/step/1"), spanIdFor("run/step/1"));
  EXPECT_NE(spanIdFor("run/step/1"), spanIdFor("run/step/2"));
  EXPECT_TRUE(isSpanId(spanIdFor("")));
}

TEST(RequestIdTest, AcceptsOnlyShortSafeIds) {
  struct Case {
    std::string id;
    bool valid;
  };
  const Case cases[] = {
      {"a", true},
      {"req-42", true},
      {"Abc.def_ghi:jkl-0", true},
      {std::string(64, 'x'), true},
      {std::string(65, 'x'), false},
      {"", false},
      {"has space", false},
      {"semi;colon", false},
      {"quote\"", false},
      {"new\nline", false},
      {"slash/", false},
      {"caf\xc3\xa9", false},
  };
  for (const auto& c : cases) EXPECT_EQ(isValidRequestId(c.id), c.valid) << c.id;
  SeededRandom random(1);
  std::string made = newRequestId(random);
  EXPECT_TRUE(isValidRequestId(made));
  EXPECT_EQ(made.size(), 32u);
}

}  // namespace
}  // namespace keel::observe
