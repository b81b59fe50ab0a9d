#include "exec/classify.h"

#include <gtest/gtest.h>

#include <csignal>
#include <vector>

namespace keel::exec {
namespace {

using std::chrono::milliseconds;
using FC = FailureClass;

struct ClassCase {
  std::optional<int> exitCode;
  std::optional<int> signal;
  std::optional<FC> stoppedAs;
  FC want;
};

TEST(ClassifyTest, Table) {
  const std::vector<ClassCase> cases = {
      {0, std::nullopt, std::nullopt, FC::kNone},
      {1, std::nullopt, std::nullopt, FC::kError},
      {3, std::nullopt, std::nullopt, FC::kError},
      {63, std::nullopt, std::nullopt, FC::kError},
      {64, std::nullopt, std::nullopt, FC::kBadInput},
      {65, std::nullopt, std::nullopt, FC::kBadInput},
      {78, std::nullopt, std::nullopt, FC::kBadInput},
      {79, std::nullopt, std::nullopt, FC::kError},
      {126, std::nullopt, std::nullopt, FC::kError},
      {127, std::nullopt, std::nullopt, FC::kError},
      {137, std::nullopt, std::nullopt, FC::kError},
      {255, std::nullopt, std::nullopt, FC::kError},
      {std::nullopt, SIGKILL, std::nullopt, FC::kCrash},
      {std::nullopt, SIGSEGV, std::nullopt, FC::kCrash},
      {std::nullopt, std::nullopt, std::nullopt, FC::kError},
      // A stop decides the class, however the process ended.
      {0, std::nullopt, FC::kTimeout, FC::kTimeout},
      {std::nullopt, SIGTERM, FC::kTimeout, FC::kTimeout},
      {std::nullopt, SIGKILL, FC::kCancelled, FC::kCancelled},
      {65, std::nullopt, FC::kCancelled, FC::kCancelled},
      {std::nullopt, std::nullopt, FC::kLost, FC::kLost},
  };
  for (const auto& c : cases)
    EXPECT_EQ(classifyExit(c.exitCode, c.signal, c.stoppedAs), c.want)
        << "exit " << c.exitCode.value_or(-1) << " signal " << c.signal.value_or(-1);
}

TEST(ClassifyTest, ExitCodeAndSignalWording) {
  EXPECT_EQ(describeExitCode(0), "exit code 0");
  EXPECT_EQ(describeExitCode(3), "exit code 3");
  EXPECT_EQ(describeExitCode(64), "exit code 64 (EX_USAGE)");
  EXPECT_EQ(describeExitCode(65), "exit code 65 (EX_DATAERR)");
  EXPECT_EQ(describeExitCode(78), "exit code 78 (EX_CONFIG)");
  EXPECT_EQ(describeExitCode(126), "exit code 126 (command not executable)");
  EXPECT_EQ(describeExitCode(127), "exit code 127 (command not found)");
  EXPECT_EQ(describeExitCode(137), "exit code 137 (128+9: a command was killed by SIGKILL)");
  EXPECT_EQ(describeExitCode(200), "exit code 200");
  EXPECT_EQ(describeSignal(SIGKILL), "killed by signal 9 (SIGKILL)");
  EXPECT_EQ(describeSignal(SIGSEGV), "killed by signal 11 (SIGSEGV)");
  EXPECT_EQ(describeSignal(99), "killed by signal 99");
  EXPECT_EQ(signalName(SIGTERM), "SIGTERM");
}

TEST(ClassifyTest, FormatElapsed) {
  const std::vector<std::pair<int64_t, const char*>> cases = {
      {-5, "0ms"},    {0, "0ms"},        {250, "250ms"},    {999, "999ms"}, {1000, "1s"},
      {1500, "1.5s"}, {1449, "1.4s"},    {9960, "10s"},     {10003, "10s"}, {10600, "11s"},
      {60000, "1m"},  {150000, "2m30s"}, {3900000, "1h5m"},
  };
  for (const auto& [ms, want] : cases) EXPECT_EQ(formatElapsed(milliseconds(ms)), want) << ms;
}

TEST(ClassifyTest, DescribeExit) {
  ExitFacts f;
  f.exitCode = 3;
  EXPECT_EQ(describeExit(f), "exit code 3");

  f = ExitFacts{};
  f.signal = SIGKILL;
  EXPECT_EQ(describeExit(f), "killed by signal 9 (SIGKILL)");

  EXPECT_EQ(describeExit(ExitFacts{}), "ended with an unknown status");

  f = ExitFacts{};
  f.stoppedAs = FC::kTimeout;
  f.stoppedAfter = milliseconds(10'002);
  f.sigtermSent = true;
  f.sigkillAfterGrace = true;
  f.killGrace = milliseconds(10'000);
  f.signal = SIGKILL;
  EXPECT_EQ(describeExit(f), "timed out after 10s; SIGTERM sent, then SIGKILL after 10s grace");

  f.sigkillAfterGrace = false;
  f.signal = SIGTERM;
  EXPECT_EQ(describeExit(f),
            "timed out after 10s; SIGTERM sent, then killed by signal 15 (SIGTERM)");

  f = ExitFacts{};
  f.stoppedAs = FC::kCancelled;
  f.stoppedAfter = milliseconds(3000);
  f.sigtermSent = true;
  f.exitCode = 0;
  EXPECT_EQ(describeExit(f), "cancelled after 3s; SIGTERM sent, then exited with code 0");

  f = ExitFacts{};
  f.stoppedAs = FC::kLost;
  f.stoppedAfter = milliseconds(250);
  EXPECT_EQ(describeExit(f), "stopped by keel's shutdown after 250ms, before the process started");
}

}  // namespace
}  // namespace keel::exec
