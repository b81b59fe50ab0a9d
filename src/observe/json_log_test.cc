#include "observe/json_log.h"

#include <sstream>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace keel::observe {
namespace {

// Puts the logger of before the test back when the test ends (the test's
// own writes into a stream that dies with it).
struct RestoreLogger {
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  ~RestoreLogger() { spdlog::set_default_logger(previous); }
};

TEST(JsonLog, EveryLineIsOneJsonObjectWhateverTheMessageHolds) {
  RestoreLogger restore;
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

TEST(JsonLog, FieldsFollowTheMessageOnTheSameLine) {
  RestoreLogger restore;
  std::ostringstream out;
  auto logger = installJsonLogger("info", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logFields(spdlog::level::warn, "attempt failed",
            {{"run_id", "01KA"}, {"step", "load \"x\"\n"}, {"attempt", 2}, {"msg", "forged"}});
  logFields(spdlog::level::debug, "not shown", {{"run_id", "01KB"}});
  spdlog::info("no fields");
  logger->flush();
  std::istringstream lines(out.str());
  std::string line;
  std::getline(lines, line);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "warning");
  EXPECT_EQ(j["msg"], "attempt failed");
  EXPECT_EQ(j["run_id"], "01KA");
  EXPECT_EQ(j["step"], "load \"x\"\n");
  EXPECT_EQ(j["attempt"], 2);
  std::getline(lines, line);
  j = nlohmann::json::parse(line);
  EXPECT_EQ(j["msg"], "no fields");
  EXPECT_EQ(j.size(), 3u);
  EXPECT_FALSE(std::getline(lines, line));
}

}  // namespace
}  // namespace keel::observe
