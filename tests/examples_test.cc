// The shipped examples run to success against a real `keel serve`, through
// the API and through the CLI.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

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

// Serves a copy of examples/ whose planning chain keeps its files (the
// inbox it watches, the workspace) in the test's directory, not in /tmp.
class Examples : public ::testing::Test {
 protected:
  void SetUp() override {
    namespace fs = std::filesystem;
    examples_ = keel_.dir().file("examples");
    workspace_ = keel_.dir().file("ws");
    inbox_ = workspace_ + "/inbox";
    fs::copy(std::string(KEEL_SOURCE_DIR) + "/examples", examples_, fs::copy_options::recursive);
    std::string chain = slurp(examples_ + "/planning-feed.yaml");
    const std::string shipped = "/tmp/keel-planning-feed";
    ASSERT_NE(chain.find(shipped + "/inbox"), std::string::npos);
    for (size_t at; (at = chain.find(shipped)) != std::string::npos;)
      chain.replace(at, shipped.size(), workspace_);
    std::ofstream(examples_ + "/planning-feed.yaml", std::ios::trunc) << chain;
    fs::create_directories(inbox_);
    keel_.setExtraArgs({"--workflows", examples_});
    keel_.start();
  }

  // The runs of a workflow, oldest first.
  nlohmann::json runsOf(const std::string& workflow) {
    auto res = keel_.client()->Get("/api/v1/runs?workflow=" + workflow + "&limit=100");
    if (!res || res->status != 200) return nlohmann::json::array();
    auto runs = nlohmann::json::parse(res->body)["runs"];
    std::reverse(runs.begin(), runs.end());
    return runs;
  }
  size_t succeeded(const std::string& workflow) {
    size_t n = 0;
    for (const auto& r : runsOf(workflow)) n += r.value("state", "") == "succeeded";
    return n;
  }

  KeelUnderTest keel_;
  std::string examples_, workspace_, inbox_;
};

TEST_F(Examples, PlanningChainFetchesLoadsAndFeedsRealFiles) {
  // By hand, on the warehouse's own files: the README's guide.
  auto [status, body] = keel_.trigger("planning-retrieve", {{"params", {{"region", "eu"}}}});
  ASSERT_EQ(status, 201) << body.dump();
  auto retrieve = keel_.waitForRun(body["id"]);
  ASSERT_EQ(retrieve.value("state", ""), "succeeded") << retrieve.dump(2);
  ASSERT_TRUE(waitFor([&] { return succeeded("planning-feed") == 1; }))
      << runsOf("planning-load").dump(2) << runsOf("planning-feed").dump(2);
  auto load = keel_.getRun(runsOf("planning-load")[0]["id"]);
  auto feed = keel_.getRun(runsOf("planning-feed")[0]["id"]);
  EXPECT_EQ(load["steps"][0]["output"]["rows"], 4);
  auto feedPath = feed["steps"][0]["output"]["feed"].get<std::string>();
  EXPECT_EQ(slurp(feedPath), "sku,shortfall\nA-100,15\nC-300,60\nD-400,5\n");
}

TEST_F(Examples, UnknownRegionIsBadInputAndNotRetriedAndStartsNothing) {
  auto [status, body] = keel_.trigger("planning-retrieve", {{"params", {{"region", "mars"}}}});
  ASSERT_EQ(status, 201);
  auto run = keel_.waitForRun(body["id"]);
  EXPECT_EQ(run.value("state", ""), "failed");
  auto& fetch = run["steps"][0];
  EXPECT_EQ(fetch["state"], "dead");
  ASSERT_EQ(fetch["attempts"].size(), 1u) << "bad input was retried";
  EXPECT_EQ(fetch["attempts"][0]["failure_class"], "bad_input");
  // A failed retrieve starts no load (the chain waits for a success).
  EXPECT_EQ(runsOf("planning-load").size(), 0u);
}

// Writes `content` in two pieces with a pause shorter than the trigger's
// stable_for between them: the file must fire once, whole.
void dropInTwoPieces(const std::string& path, const std::string& content) {
  size_t half = content.size() / 2;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content.substr(0, half);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << content.substr(half);
}

TEST_F(Examples, AFileDropRunsTheWholeChainOnce) {
  const std::string first = inbox_ + "/orders-1.csv";
  const std::string rows = "sku,qty\nZ-1,7\nZ-2,3\n";
  dropInTwoPieces(first, rows);
  ASSERT_TRUE(waitFor([&] { return succeeded("planning-feed") == 1; }))
      << runsOf("planning-retrieve").dump(2) << runsOf("planning-load").dump(2)
      << runsOf("planning-feed").dump(2);
  // Exactly one run of each, all succeeded, each started by the one before.
  auto retrieves = runsOf("planning-retrieve");
  auto loads = runsOf("planning-load");
  auto feeds = runsOf("planning-feed");
  ASSERT_EQ(retrieves.size(), 1u) << retrieves.dump(2);
  ASSERT_EQ(loads.size(), 1u) << loads.dump(2);
  ASSERT_EQ(feeds.size(), 1u) << feeds.dump(2);
  auto retrieve = keel_.getRun(retrieves[0]["id"]);
  auto load = keel_.getRun(loads[0]["id"]);
  auto feed = keel_.getRun(feeds[0]["id"]);
  for (const auto* run : {&retrieve, &load, &feed})
    EXPECT_EQ(run->value("state", ""), "succeeded") << run->dump(2);
  EXPECT_EQ(retrieve["params"]["file"], first);
  EXPECT_EQ(load["params"]["dir"], retrieve["steps"][0]["output"]["dir"]);
  EXPECT_EQ(feed["params"]["staging"], load["steps"][0]["output"]["staging"]);
  EXPECT_EQ(load["idempotency_key"].get<std::string>().rfind(
                "after:" + retrieve["id"].get<std::string>() + ":", 0),
            0u)
      << load.dump(2);
  EXPECT_EQ(feed["idempotency_key"].get<std::string>().rfind(
                "after:" + load["id"].get<std::string>() + ":", 0),
            0u)
      << feed.dump(2);
  // Every SKU of the file is unknown to the warehouse's stock: all short.
  auto feedPath = feed["steps"][0]["output"]["feed"].get<std::string>();
  EXPECT_EQ(slurp(feedPath), "sku,shortfall\nZ-1,7\nZ-2,3\n");

  // The same content dropped again under the same name, the file unchanged
  // (rewritten in place with its modification time kept, as `cp -p` does):
  // the same arrival, nothing new.
  struct stat before {};
  ASSERT_EQ(::stat(first.c_str(), &before), 0);
  std::ofstream(first, std::ios::binary | std::ios::trunc) << rows;
  struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, first.c_str(), times, 0), 0);

  // A second, different file, with a name a shell would run as two
  // commands: a second chain, and the name stays a name.
  const std::string second = inbox_ + "/a;touch PWNED.csv";
  dropInTwoPieces(second, "sku,qty\nY-9,11\n");
  ASSERT_TRUE(waitFor([&] { return succeeded("planning-feed") == 2; }))
      << runsOf("planning-retrieve").dump(2) << runsOf("planning-feed").dump(2);
  retrieves = runsOf("planning-retrieve");
  ASSERT_EQ(retrieves.size(), 2u) << "the unchanged file started a run: " << retrieves.dump(2);
  EXPECT_EQ(retrieves[1]["params"]["file"], second);
  EXPECT_EQ(runsOf("planning-load").size(), 2u);
  feeds = runsOf("planning-feed");
  ASSERT_EQ(feeds.size(), 2u);
  auto secondFeed = keel_.getRun(feeds[1]["id"]);
  EXPECT_EQ(slurp(secondFeed["steps"][0]["output"]["feed"].get<std::string>()),
            "sku,shortfall\nY-9,11\n");
  namespace fs = std::filesystem;
  for (const auto& dir : {examples_, examples_ + "/scripts", workspace_, inbox_})
    EXPECT_FALSE(fs::exists(dir + "/PWNED.csv")) << "a file name ran as a command in " << dir;
}

TEST_F(Examples, ABadDropFailsRetrieveAsBadInputAndStartsNoLoad) {
  dropInTwoPieces(inbox_ + "/broken.csv", "sku,qty\nZ-1,many\n");
  ASSERT_TRUE(waitFor([&] {
    auto runs = runsOf("planning-retrieve");
    return runs.size() == 1 && runs[0].value("state", "") == "failed";
  })) << runsOf("planning-retrieve").dump(2);
  auto run = keel_.getRun(runsOf("planning-retrieve")[0]["id"]);
  EXPECT_EQ(run["steps"][0]["attempts"][0]["failure_class"], "bad_input") << run.dump(2);
  EXPECT_EQ(runsOf("planning-load").size(), 0u);
}

TEST_F(Examples, TheChainFileValidatesAndAppliesThroughTheCli) {
  std::string keel = std::string(KEEL_BINARY);
  std::string file = examples_ + "/planning-feed.yaml";
  auto [vcode, validated] = shell(keel + " validate '" + file + "' 2>&1");
  EXPECT_EQ(vcode, 0) << validated;
  EXPECT_TRUE(contains(validated, ", document 3 of 3 (from line ")) << validated;
  EXPECT_TRUE(contains(validated, "ok (workflow planning-feed, 1 step)")) << validated;
  std::string cli = "KEEL_TOKEN_FILE=" + keel_.db() + ".token " + keel + " --server " + keel_.url();
  // Applied at start by --workflows: the same file again changes nothing.
  auto [code, out] = shell(cli + " apply '" + file + "' 2>&1");
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out,
            "unchanged planning-retrieve version 1\nunchanged planning-load version 1\n"
            "unchanged planning-feed version 1\n");
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
