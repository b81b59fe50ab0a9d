#include "http/classify.h"

#include <gtest/gtest.h>

namespace keel::http {
namespace {

using std::chrono::seconds;
using FC = FailureClass;
using K = TransportFailureKind;

// 2026-01-01T00:00:00Z
const WallTime kNow = WallTime(seconds(1'767'225'600));

HttpResult status(int s, Headers headers = {}) {
  HttpResponse r;
  r.status = s;
  r.headers = std::move(headers);
  return HttpResult::of(r);
}

TEST(Classify, StatusesAndTransportFailures) {
  struct Case {
    HttpResult result;
    StatusRanges expect;
    FC want;
  };
  const StatusRanges none;
  const Case cases[] = {
      {status(200), none, FC::kNone},
      {status(204), none, FC::kNone},
      {status(299), none, FC::kNone},
      {status(201), {{200, 200}}, FC::kError},
      {status(404), {{200, 299}, {404, 404}}, FC::kNone},
      {status(503), {{500, 599}}, FC::kNone},
      {status(301), none, FC::kError},
      {status(100), none, FC::kError},
      {status(400), none, FC::kBadInput},
      {status(404), none, FC::kBadInput},
      {status(422), none, FC::kBadInput},
      {status(429), none, FC::kRateLimited},
      {status(500), none, FC::kError},
      {status(501), none, FC::kError},
      {status(502), none, FC::kDependencyUnavailable},
      {status(503), none, FC::kDependencyUnavailable},
      {status(504), none, FC::kDependencyUnavailable},
      {status(599), none, FC::kError},
      {HttpResult::failed(K::kConnectionRefused, ""), none, FC::kDependencyUnavailable},
      {HttpResult::failed(K::kDns, ""), none, FC::kDependencyUnavailable},
      {HttpResult::failed(K::kTls, ""), none, FC::kDependencyUnavailable},
      {HttpResult::failed(K::kTimeout, ""), none, FC::kTimeout},
      {HttpResult::failed(K::kCancelled, ""), none, FC::kCancelled},
      {HttpResult::failed(K::kInvalidRequest, ""), none, FC::kBadInput},
      {HttpResult::failed(K::kTooManyRedirects, ""), none, FC::kError},
      {HttpResult::failed(K::kOther, ""), none, FC::kError},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.result.failure ? std::string(toString(c.result.failure->kind))
                                  : std::to_string(c.result.response.status));
    auto got = classify(c.result, c.expect, kNow);
    EXPECT_EQ(toString(got.failureClass), toString(c.want));
    EXPECT_FALSE(got.notBefore);
  }
}

TEST(Classify, RetryAfterOn429And503Only) {
  Headers later{{"retry-after", "120"}};
  EXPECT_EQ(classify(status(429, later), {}, kNow),
            (Classification{FC::kRateLimited, kNow + seconds(120)}));
  EXPECT_EQ(classify(status(503, later), {}, kNow),
            (Classification{FC::kDependencyUnavailable, kNow + seconds(120)}));
  EXPECT_EQ(classify(status(502, later), {}, kNow),
            (Classification{FC::kDependencyUnavailable, std::nullopt}));
  EXPECT_EQ(classify(status(500, later), {}, kNow), (Classification{FC::kError, std::nullopt}));
  // The first of two is used.
  Headers two{{"Retry-After", "5"}, {"Retry-After", "9"}};
  EXPECT_EQ(classify(status(429, two), {}, kNow).notBefore, kNow + seconds(5));
  // A malformed one is ignored, never fatal.
  EXPECT_EQ(classify(status(429, {{"Retry-After", "soon"}}), {}, kNow),
            (Classification{FC::kRateLimited, std::nullopt}));
}

TEST(RetryAfter, Table) {
  struct Case {
    const char* value;
    std::optional<WallTime> want;
  };
  const Case cases[] = {
      {"0", kNow},
      {"120", kNow + seconds(120)},
      {"  30 ", kNow + seconds(30)},
      {"1000000000", kNow + seconds(1'000'000'000)},
      // 2026-01-01T00:01:40Z in the three date forms.
      {"Thu, 01 Jan 2026 00:01:40 GMT", kNow + seconds(100)},
      {"Thursday, 01-Jan-26 00:01:40 GMT", kNow + seconds(100)},
      {"Thu Jan  1 00:01:40 2026", kNow + seconds(100)},
      {"Thu Jan 01 00:01:40 2026", kNow + seconds(100)},
      {"Sat, 13 Jun 2026 12:00:00 GMT", WallTime(seconds(1'781'352'000))},
      // A date in the past means now.
      {"Sun, 06 Nov 1994 08:49:37 GMT", kNow},
      {"Sunday, 06-Nov-94 08:49:37 GMT", kNow},
      {"Sun Nov  6 08:49:37 1994", kNow},
      // Malformed: ignored.
      {"", std::nullopt},
      {"-5", std::nullopt},
      {"+5", std::nullopt},
      {"1.5", std::nullopt},
      {"12abc", std::nullopt},
      {"99999999999999999999999", std::nullopt},
      {"1000000001", std::nullopt},
      {"soon", std::nullopt},
      {"Thu, 01 Jan 2026 00:01:40", std::nullopt},
      {"Thu, 01 Jan 2026 00:01:40 UTC", std::nullopt},
      {"Thu, 1 Jan 2026 00:01:40 GMT", std::nullopt},
      {"Thu, 31 Feb 2026 00:01:40 GMT", std::nullopt},
      {"Thu, 01 Foo 2026 00:01:40 GMT", std::nullopt},
      {"Thu, 01 Jan 2026 24:01:40 GMT", std::nullopt},
      {"Thu, 01 Jan 2026 00:61:40 GMT", std::nullopt},
      {"Xyz, 01 Jan 2026 00:01:40 GMT", std::nullopt},
      {"Thu, 01 Jan 2026 00:01:40 GMT trailing", std::nullopt},
      {"Thursday, 01-Jan-2026 00:01:40 GMT", std::nullopt},
      {"Thu Jan  1 00:01:40", std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.value);
    auto got = parseRetryAfter(c.value, kNow);
    ASSERT_EQ(got.has_value(), c.want.has_value());
    if (got) {
      EXPECT_EQ(toUnixMillis(*got), toUnixMillis(*c.want));
    }
  }
}

TEST(HttpDate, Rfc850TwoDigitYearIsNeverMoreThan50YearsAhead) {
  // Seen in 2026: 77 is 1977 (2077 is more than 50 years ahead), 76 is 2076.
  auto d77 = parseHttpDate("Saturday, 01-Jan-77 00:00:00 GMT", kNow);
  auto d76 = parseHttpDate("Wednesday, 01-Jan-76 00:00:00 GMT", kNow);
  ASSERT_TRUE(d77 && d76);
  EXPECT_EQ(toUnixMillis(*d77), 220'924'800'000);
  EXPECT_EQ(toUnixMillis(*d76), 3'345'062'400'000);
}

}  // namespace
}  // namespace keel::http
