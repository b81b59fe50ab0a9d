#include "incidents/fingerprint.h"

#include <gtest/gtest.h>

namespace keel::incidents {
namespace {

struct Case {
  const char* in;
  const char* out;
};

TEST(Fingerprint, NormalisesWhatChangesBetweenOccurrences) {
  const Case cases[] = {
      {"exit status 3", "exit status <n>"},
      {"took 12.5s after 3 tries", "took <n>s after <n> tries"},
      {"run 01JDQ7K3M2X9V8B4N6P5R0T1W2 failed", "run <run> failed"},
      {"request 123e4567-e89b-12d3-a456-426614174000 refused", "request <uuid> refused"},
      {"object 9f86d081884c7d65 missing", "object <hex> missing"},
      {"pointer 0x7ffd5a2b at fault", "pointer <hex> at fault"},
      {"cannot open /data/in/2026-11-28/feed.csv", "cannot open <path>"},
      {"cannot open ./out/x.txt: no such file", "cannot open <path>: no such file"},
      {"deadline 2026-11-28T05:00:00Z passed", "deadline <time> passed"},
      {"at 05:12:44 the server said", "at <time> the server said"},
      {"on 2026-11-28 nothing came", "on <time> nothing came"},
      {"  several\n\tspaces   here ", "several spaces here"},
      {"connection refused", "connection refused"},
      {"deadbeef is a word", "deadbeef is a word"},  // no digit: not hex
  };
  for (const Case& c : cases) EXPECT_EQ(normalizeMessage(c.in), c.out) << c.in;
}

TEST(Fingerprint, SameFailureSameHashOtherwiseDifferent) {
  auto a = fingerprintOf("feed", "fetch", "error", "exit 3 on /tmp/a/1.csv at 05:00");
  auto b = fingerprintOf("feed", "fetch", "error", "exit 4 on /tmp/b/2.csv at 06:10");
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_EQ(a.normalized, "feed/fetch/error: exit <n> on <path> at <time>");
  EXPECT_EQ(a.hash.size(), 16u);
  EXPECT_NE(a.hash, fingerprintOf("feed", "load", "error", "exit 3").hash);
  EXPECT_NE(a.hash, fingerprintOf("feed", "fetch", "timeout", "exit 3 on /x at 05:00").hash);
}

TEST(Fingerprint, LongMessagesAreCut) {
  std::string longText(10000, 'a');
  EXPECT_EQ(normalizeMessage(longText).size(), kMaxNormalized);
}

}  // namespace
}  // namespace keel::incidents
