// `keel bench` workloads that start steps, run small: W3K (keel and every
// step supervisor in flight killed together), S1 (a step under its
// supervisor against a bare shell) and W4 (task steps done by workers over
// HTTP). Only what must hold is checked, never
// a timing.
#include <stdio.h>
#include <sys/wait.h>

#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "testing/temp_dir.h"

namespace keel::e2e {
namespace {

struct BenchRun {
  int exitCode = -1;
  std::map<std::string, std::string> fields;  // of the RESULT line
};

BenchRun bench(const std::string& tmpdir, const std::string& args) {
  // The temporary folder holds only [A-Za-z0-9/._-]; quoted all the same.
  std::string cmd =
      "TMPDIR='" + tmpdir + "' '" + std::string(KEEL_BINARY) + "' bench " + args + " 2>/dev/null";
  BenchRun r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  std::string out;
  char buf[4096];
  while (size_t n = ::fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  int status = ::pclose(p);
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto at = out.rfind("RESULT ");
  if (at == std::string::npos) return r;
  std::istringstream line(out.substr(at, out.find('\n', at) - at));
  std::string field;
  while (line >> field)
    if (auto eq = field.find('='); eq != std::string::npos)
      r.fields[field.substr(0, eq)] = field.substr(eq + 1);
  return r;
}

TEST(BenchE2E, W3KRecoversEveryRunAndLeavesNoProcessBehind) {
  testing::TempDir dir;
  BenchRun r = bench(dir.path(), "--workload W3K --runs 40");
  EXPECT_EQ(r.exitCode, 0);
  ASSERT_EQ(r.fields["workload"], "W3K");
  EXPECT_EQ(r.fields["lost"], "0");
  EXPECT_EQ(r.fields["processes_left_at_exit"], "0");
  EXPECT_EQ(r.fields["orphans_left_after_recovery"], "0");
  ASSERT_FALSE(r.fields["duplicates"].empty());
  ASSERT_FALSE(r.fields["in_flight_at_kill"].empty());
  EXPECT_LE(std::stoi(r.fields["duplicates"]), std::stoi(r.fields["in_flight_at_kill"]));
}

TEST(BenchE2E, S1RunsEveryAttemptUnderTheSupervisor) {
  testing::TempDir dir;
  BenchRun r = bench(dir.path(), "--workload S1 --runs 5");
  EXPECT_EQ(r.exitCode, 0);
  ASSERT_EQ(r.fields["workload"], "S1");
  EXPECT_EQ(r.fields["runs"], "5");
  EXPECT_EQ(r.fields["failures"], "0");
}

TEST(BenchE2E, W4EndsEveryRunWithTheOutputsItsWorkersReturned) {
  testing::TempDir dir;
  BenchRun r = bench(dir.path(), "--workload W4 --runs 200");
  EXPECT_EQ(r.exitCode, 0);
  ASSERT_EQ(r.fields["workload"], "W4");
  EXPECT_EQ(r.fields["runs"], "200");
  EXPECT_EQ(r.fields["succeeded"], "200");
  EXPECT_EQ(r.fields["attempts"], "600");
  EXPECT_EQ(r.fields["steps_ok"], "600");
  EXPECT_EQ(r.fields["input_mismatches"], "0");
  EXPECT_EQ(r.fields["failures"], "0");
}

}  // namespace
}  // namespace keel::e2e
