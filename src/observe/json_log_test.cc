#include "observe/json_log.h"

#include <sstream>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace keel::observe {
namespace {

TEST(JsonLog, EveryLineIsOneJsonObjectWhateverTheMessageHolds) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto logger = installJsonLogger("debug", sink);
  const std::string hostile[] = {
      R"(workflow "a" from /srv/x\y.yaml)",
      "two\nlines\r\tand a tab",
      std::string("nul \0 inside", 12),
      "bad utf-8 \xff\xfe here",
      "{\"msg\":\"forged\"}",
  };
  for (const auto& m : hostile) spdlog::info("{}", m);
  spdlog::debug("plain");
  logger->flush();
  std::istringstream lines(out.str());
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    SCOPED_TRACE(line);
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << line;
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j.size(), 3u);
    EXPECT_TRUE(j["time"].get<std::string>().ends_with("Z"));
    EXPECT_EQ(j["level"], n < 5 ? "info" : "debug");
    if (n < 3) {
      EXPECT_EQ(j["msg"], hostile[n]);
    }
    ++n;
  }
  EXPECT_EQ(n, 6);
}

}  // namespace
}  // namespace keel::observe
