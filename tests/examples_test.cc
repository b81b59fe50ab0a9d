// The shipped examples run to success against a real `keel serve`, through
// the API and through the CLI.
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a shell command; returns its exit status and stdout.
std::pair<int, std::string> shell(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class Examples : public ::testing::Test {
 protected:
  Examples() : keel_({"--workflows", std::string(KEEL_SOURCE_DIR) + "/examples"}) {}
  void SetUp() override { keel_.start(); }
  KeelUnderTest keel_;
};

TEST_F(Examples, PlanningFeedFetchesLoadsAndFeedsRealFiles) {
  std::string workspace = keel_.dir().file("workspace");
  auto [status, body] =
      keel_.trigger("planning-feed", {{"params", {{"region", "eu"}, {"workspace", workspace}}}});
  ASSERT_EQ(status, 201) << body.dump();
  auto run = keel_.waitForRun(body["id"]);
  ASSERT_EQ(run.value("state", ""), "succeeded") << run.dump(2);
  auto feedPath = run["steps"][2]["output"]["feed"].get<std::string>();
  EXPECT_EQ(slurp(feedPath), "sku,shortfall\nA-100,15\nC-300,60\nD-400,5\n");
  EXPECT_EQ(run["steps"][1]["output"]["rows"], 4);
}

TEST_F(Examples, UnknownRegionIsBadInputAndNotRetried) {
  auto [status, body] = keel_.trigger(
      "planning-feed", {{"params", {{"region", "mars"}, {"workspace", keel_.dir().file("ws")}}}});
  ASSERT_EQ(status, 201);
  auto run = keel_.waitForRun(body["id"]);
  EXPECT_EQ(run.value("state", ""), "failed");
  auto& fetch = run["steps"][0];
  EXPECT_EQ(fetch["state"], "dead");
  ASSERT_EQ(fetch["attempts"].size(), 1u) << "bad input was retried";
  EXPECT_EQ(fetch["attempts"][0]["failure_class"], "bad_input");
  EXPECT_EQ(run["steps"][1]["state"], "skipped");
}

TEST_F(Examples, HelloRunsThroughTheCli) {
  std::string cli = "KEEL_TOKEN_FILE=" + keel_.db() + ".token " + std::string(KEEL_BINARY) +
                    " --server " + keel_.url();
  auto [code, out] = shell(cli + " run hello --param who=ops --wait");
  ASSERT_EQ(code, 0) << out;
  std::string runId = out.substr(0, out.find('\n'));
  EXPECT_EQ(runId.size(), 26u) << out;
  auto [logCode, logs] = shell(cli + " logs " + runId + " shout");
  EXPECT_EQ(logCode, 0);
  EXPECT_NE(logs.find("HELLO, OPS"), std::string::npos) << logs;
  auto [showCode, shown] = shell(cli + " show " + runId);
  EXPECT_EQ(showCode, 0);
  EXPECT_NE(shown.find("succeeded"), std::string::npos) << shown;
}

}  // namespace
}  // namespace keel::e2e
