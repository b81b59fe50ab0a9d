// The CLI's building blocks: tables, text helpers, server URLs.
#include <gtest/gtest.h>

#include "cli/server_url.h"
#include "cli/table.h"
#include "cli/text.h"

namespace keel::cli {
namespace {

TEST(Table, AlignsColumnsAndDoesNotPadTheLast) {
  Table t({"ID", "STATE", "REASON"});
  t.addRow({"a", "succeeded", ""});
  t.addRow({"bbbb", "failed", "exit code 3"});
  EXPECT_EQ(t.str(),
            "ID    STATE      REASON\n"
            "a     succeeded\n"
            "bbbb  failed     exit code 3\n");
}

TEST(Table, CountsUtf8CharactersAndFlattensControlCharacters) {
  Table t({"NAME", "X"});
  t.addRow({"été", "1"});
  t.addRow({"a\nb", "2"});
  t.addRow({"short"});
  EXPECT_EQ(t.str(),
            "NAME   X\n"
            "été    1\n"
            "a b    2\n"
            "short\n");
}

TEST(Text, ParseParam) {
  auto kv = parseParam("region=eu");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->first, "region");
  EXPECT_EQ(kv->second, "eu");
  auto withEquals = parseParam("q=a=b");
  ASSERT_TRUE(withEquals.ok());
  EXPECT_EQ(withEquals->second, "a=b");
  auto empty = parseParam("date=");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->second, "");
  EXPECT_FALSE(parseParam("region").ok());
  EXPECT_FALSE(parseParam("=eu").ok());
  EXPECT_NE(parseParam("region").error().message().find("KEY=VALUE"), std::string::npos);
}

TEST(Text, ParseAge) {
  EXPECT_EQ(*parseAge("7d"), 7 * 24 * 3600 * 1000LL);
  EXPECT_EQ(*parseAge("12h"), 12 * 3600 * 1000LL);
  EXPECT_EQ(*parseAge("30m"), 30 * 60 * 1000LL);
  EXPECT_EQ(*parseAge("90s"), 90 * 1000LL);
  EXPECT_EQ(*parseAge("2w"), 14 * 24 * 3600 * 1000LL);
  for (const char* bad : {"", "d", "7", "0d", "-1d", "7 d", "7D", "1.5d", "7days", "99999999d"}) {
    auto r = parseAge(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(parseAge("7x").error().message(),
            "'7x' is not an age: expected a whole number and a unit, s, m, h, d or w (e.g. 7d, "
            "12h)");
}

TEST(Text, TimesAndDurations) {
  EXPECT_EQ(shortTime("2026-11-23T07:03:00.123Z"), "2026-11-23T07:03:00Z");
  EXPECT_EQ(shortTime(nullptr), "-");
  EXPECT_EQ(parseRfc3339("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(parseRfc3339("2026-01-01T00:00:00.000Z"), 1'767'225'600'000);
  EXPECT_EQ(parseRfc3339("2026-01-01T00:00:00Z"), 1'767'225'600'000);
  EXPECT_FALSE(parseRfc3339("2026-01-01 00:00:00Z").has_value());
  EXPECT_FALSE(parseRfc3339("yesterday").has_value());
  EXPECT_EQ(formatMillis(350), "350ms");
  EXPECT_EQ(formatMillis(1500), "1.5s");
  EXPECT_EQ(formatMillis(123'000), "2m03s");
  EXPECT_EQ(formatMillis(3'720'000), "1h02m");
  EXPECT_EQ(durationBetween("2026-01-01T00:00:00.000Z", "2026-01-01T00:00:01.500Z"), "1.5s");
  EXPECT_EQ(durationBetween("2026-01-01T00:00:00.000Z", nullptr), "-");
  EXPECT_EQ(urlEncode("a b/c~d"), "a%20b%2Fc~d");
}

TEST(Text, ParamsText) {
  using nlohmann::json;
  EXPECT_EQ(paramsText(json::object()), "-");
  EXPECT_EQ(paramsText(json()), "-");
  EXPECT_EQ(paramsText(json{{"region", "eu"}, {"date", "2026-11-28"}, {"n", 3}, {"x", {1, 2}}}),
            "date=2026-11-28 n=3 region=eu x=[1,2]");
  EXPECT_EQ(paramsText(json{{"k", "abcdefgh"}}, 5), "k=abc…");
  // Cut after whole UTF-8 characters: "é" is two bytes.
  EXPECT_EQ(paramsText(json{{"k", "éééé"}}, 4), "k=éé…");
}

TEST(Text, LeaseText) {
  const int64_t now = 1'767'225'600'000;  // 2026-01-01T00:00:00.000Z
  EXPECT_EQ(leaseText("2026-01-01T00:00:42.000Z", now), "expires in 42s");
  EXPECT_EQ(leaseText("2026-01-01T00:00:41.001Z", now), "expires in 42s");  // rounded up
  EXPECT_EQ(leaseText("2026-01-01T00:00:00.001Z", now), "expires in 1s");
  EXPECT_EQ(leaseText("2026-01-01T00:00:00.000Z", now), "lapsed");
  EXPECT_EQ(leaseText("2025-12-31T23:59:00.000Z", now), "lapsed");
  EXPECT_EQ(leaseText(nullptr, now), "-");
  EXPECT_EQ(leaseText("soon", now), "-");
}

TEST(ServerUrlTest, Parses) {
  auto full = parseServerUrl("http://keel.example.com:8080/base/");
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->host, "keel.example.com");
  EXPECT_EQ(full->port, 8080);
  EXPECT_EQ(full->basePath, "/base");
  EXPECT_EQ(full->toString(), "http://keel.example.com:8080/base");
  auto noPort = parseServerUrl("http://keel");
  ASSERT_TRUE(noPort.ok());
  EXPECT_EQ(noPort->port, 80);
  auto bare = parseServerUrl("localhost");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->port, 7070);
  auto v6 = parseServerUrl("[::1]:7071");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 7071);
  EXPECT_EQ(v6->toString(), "http://[::1]:7071");
}

TEST(ServerUrlTest, RefusesWhatItCannotUse) {
  for (const char* bad : {"https://", "ftp://keel", "http://", "http://:80", "keel:0", "keel:70000",
                          "keel:80x", "keel:", "http://u:p@keel", "keel/?q=1", "[::1"}) {
    EXPECT_FALSE(parseServerUrl(bad).ok()) << bad;
  }
  EXPECT_NE(parseServerUrl("ftp://keel").error().message().find("http or https"),
            std::string::npos);
}

}  // namespace
}  // namespace keel::cli
