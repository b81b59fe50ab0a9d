// Steps outlive keel: a step that runs across a kill -9 or a SIGTERM of
// `keel serve` runs once and is re-attached by the next start; one whose
// supervisor died too is lost, killed and retried without overlap; one that
// ended while keel was down is collected; `--stop-steps` stops steps.
//
// The step waits for a `go` file the test creates, so it runs for as long
// as the test needs and no longer (at most 60 s). It appends "START N" and
// "END N" to a ledger, with N its attempt, and its pid to pid.N; at start
// it records OVERLAP if the previous attempt's process is still alive.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

constexpr const char* kStepScript = R"(#!/bin/sh
n=$KEEL_ATTEMPT
prev=$((n - 1))
if [ -e "pid.$prev" ]; then
  state=$(cut -d' ' -f3 "/proc/$(cat pid.$prev)/stat" 2>/dev/null)
  if [ -n "$state" ] && [ "$state" != Z ]; then echo "OVERLAP $n" >> ledger; fi
fi
echo $$ > pid.tmp && mv pid.tmp "pid.$n"
echo "START $n" >> ledger
i=0
while [ ! -e go ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
echo "END $n" >> ledger
echo "done after attempt $n"
printf '{"attempt": %s}' "$n" > "$KEEL_OUTPUT"
)";

std::string restartWorkflowYaml(const std::string& dir) {
  return "name: long\n"
         "owner: { team: qa, contact: qa@example.com }\n"
         "runbook: https://wiki.example.com/rb\n"
         "workdir: " +
         dir +
         "\n"
         "steps:\n"
         "  - { name: wait, run: ./step.sh, timeout: 5m, kill_grace: 1s,\n"
         "      retry: { max_attempts: 3, backoff: fixed, initial: 100ms, jitter: none } }\n";
}

bool exists(const std::string& p) { return std::filesystem::exists(p); }

// Alive and not a zombie.
bool alive(pid_t pid) {
  std::string stat = testing::readFile("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

pid_t readPid(const std::string& path) {
  return static_cast<pid_t>(std::atol(testing::readFile(path).c_str()));
}

class Restart : public ::testing::Test {
 protected:
  void SetUp() override {
    keel_ = std::make_unique<KeelUnderTest>(std::vector<std::string>{});
    dir_ = keel_->dir().path();
    std::string script = dir_ + "/step.sh";
    testing::writeFile(script, kStepScript);
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);
    keel_->start();
    keel_->apply(restartWorkflowYaml(dir_));
    auto [status, body] = keel_->trigger("long", nlohmann::json::object());
    ASSERT_EQ(status, 201) << body.dump();
    runId_ = body["id"].get<std::string>();
    ASSERT_TRUE(waitFor([&] { return exists(dir_ + "/pid.1"); }));
  }

  std::string ledger() const { return testing::readFile(dir_ + "/ledger"); }
  void go() const { testing::writeFile(dir_ + "/go", ""); }
  // The attempt's folder beside the database.
  std::string attemptDir(int n) const {
    return keel_->db() + ".steps/" + runId_ + ".wait." + std::to_string(n);
  }
  std::vector<std::string> events() {
    auto res = keel_->client()->Get("/api/v1/runs/" + runId_ + "/events");
    std::vector<std::string> kinds;
    if (!res || res->status != 200) return kinds;
    auto body = nlohmann::json::parse(res->body, nullptr, false);
    for (const auto& e : body.value("events", nlohmann::json::array()))
      kinds.push_back(e.value("kind", ""));
    return kinds;
  }
  static int count(const std::vector<std::string>& v, const std::string& x) {
    return static_cast<int>(std::count(v.begin(), v.end(), x));
  }

  std::unique_ptr<KeelUnderTest> keel_;
  std::string dir_;
  std::string runId_;
};

TEST_F(Restart, AStepRunningAcrossKillNineRunsOnceAndIsReattached) {
  const pid_t step = readPid(dir_ + "/pid.1");
  keel_->kill9();
  // keel is gone; its step is not.
  EXPECT_TRUE(alive(step));
  keel_->start();
  go();
  auto run = keel_->waitForRun(runId_);
  ASSERT_EQ(run.value("state", ""), "succeeded") << run.dump();
  EXPECT_EQ(ledger(), "START 1\nEND 1\n");  // one execution, never two
  auto kinds = events();
  EXPECT_EQ(count(kinds, "attempt_reattached"), 1);
  EXPECT_EQ(count(kinds, "attempt_lost"), 0);
  EXPECT_EQ(count(kinds, "attempt_started"), 1);
  EXPECT_EQ(run["steps"][0].value("output", nlohmann::json()), nlohmann::json({{"attempt", 1}}))
      << run.dump();
  // Its folder goes once the end is committed.
  EXPECT_TRUE(waitFor([&] { return !exists(attemptDir(1)); }));
}

TEST_F(Restart, AStepRunningAcrossSigtermRunsOnceAndIsReattached) {
  const pid_t step = readPid(dir_ + "/pid.1");
  keel_->stop();  // SIGTERM: keel exits, the step goes on
  EXPECT_TRUE(alive(step));
  EXPECT_EQ(ledger(), "START 1\n");
  keel_->start();
  go();
  auto run = keel_->waitForRun(runId_);
  ASSERT_EQ(run.value("state", ""), "succeeded") << run.dump();
  EXPECT_EQ(ledger(), "START 1\nEND 1\n");
  EXPECT_EQ(count(events(), "attempt_reattached"), 1);
}

TEST_F(Restart, AStepThatEndsWhileKeelIsDownIsCollected) {
  keel_->kill9();
  go();
  ASSERT_TRUE(waitFor([&] { return exists(attemptDir(1) + "/status"); }));
  EXPECT_EQ(ledger(), "START 1\nEND 1\n");
  keel_->start();
  auto run = keel_->waitForRun(runId_);
  ASSERT_EQ(run.value("state", ""), "succeeded") << run.dump();
  EXPECT_EQ(ledger(), "START 1\nEND 1\n");
  EXPECT_EQ(run["steps"][0].value("output", nlohmann::json()), nlohmann::json({{"attempt", 1}}));
  auto res = keel_->client()->Get("/api/v1/runs/" + runId_ + "/steps/wait/logs?attempt=1");
  ASSERT_TRUE(res);
  EXPECT_NE(res->body.find("done after attempt 1"), std::string::npos) << res->body;
}

TEST_F(Restart, AStepWhoseSupervisorDiedTooIsLostKilledAndRetriedWithoutOverlap) {
  const pid_t step = readPid(dir_ + "/pid.1");
  const pid_t shim = readPid(attemptDir(1) + "/lock");
  keel_->kill9();
  ASSERT_EQ(::kill(shim, SIGKILL), 0);  // the machine-level crash took both
  ASSERT_TRUE(waitFor([&] { return !alive(shim); }));
  EXPECT_TRUE(alive(step));  // orphaned, still running
  keel_->start();
  // Attempt 1 is lost, its process killed before attempt 2 starts.
  ASSERT_TRUE(waitFor([&] { return exists(dir_ + "/pid.2"); }));
  EXPECT_FALSE(alive(step));
  go();
  auto run = keel_->waitForRun(runId_);
  ASSERT_EQ(run.value("state", ""), "succeeded") << run.dump();
  EXPECT_EQ(ledger(), "START 1\nSTART 2\nEND 2\n");  // no OVERLAP line
  EXPECT_EQ(count(events(), "attempt_lost"), 1);
}

TEST_F(Restart, StopStepsStopsRunningStepsAndTheyAreRetriedAtTheNextStart) {
  keel_->stop();  // the step keeps running: this start used no --stop-steps
  keel_->setExtraArgs({"--stop-steps"});
  keel_->start();  // re-attaches attempt 1
  const pid_t step = readPid(dir_ + "/pid.1");
  ASSERT_TRUE(alive(step));
  keel_->stop();  // now SIGTERM stops it
  EXPECT_TRUE(waitFor([&] { return !alive(step); }));
  keel_->start();
  ASSERT_TRUE(waitFor([&] { return exists(dir_ + "/pid.2"); }));
  go();
  auto run = keel_->waitForRun(runId_);
  ASSERT_EQ(run.value("state", ""), "succeeded") << run.dump();
  EXPECT_EQ(ledger(), "START 1\nSTART 2\nEND 2\n");
}

TEST_F(Restart, AStartThatFailsAfterRecoveryLeavesReattachedStepsRunning) {
  const pid_t step = readPid(dir_ + "/pid.1");
  keel_->kill9();
  // Recovery re-attaches the step, then the start fails on a bad workflow
  // file: keel must exit cleanly (no crash on the way out) and leave the
  // step to its supervisor.
  std::string bad = dir_ + "/bad";
  std::filesystem::create_directory(bad);
  testing::writeFile(bad + "/broken.yaml", "name: [unclosed\n");
  auto outcome = serveUntilExit(
      {"--db", keel_->db(), "--listen", "127.0.0.1:0", "--workflows", bad, "--log-level", "warn"});
  EXPECT_FALSE(outcome.served) << outcome.output;
  EXPECT_EQ(outcome.exitCode, 65) << outcome.output;  // EX_DATAERR
  EXPECT_TRUE(alive(step));
  keel_->start();
  go();
  auto run = keel_->waitForRun(runId_);
  ASSERT_EQ(run.value("state", ""), "succeeded") << run.dump();
  EXPECT_EQ(ledger(), "START 1\nEND 1\n");
}

// A run whose concurrency key is at its limit starts, but its step waits
// for the key; the wait is stored, so it is the same after a kill -9, and
// the step goes once the run holding the key ends.
class ConcurrencyRestart : public ::testing::Test {
 protected:
  void SetUp() override {
    keel_ = std::make_unique<KeelUnderTest>(std::vector<std::string>{});
    dir_ = keel_->dir().path();
    keel_->start();
    keel_->apply(
        "name: regional\n"
        "owner: { team: qa, contact: qa@example.com }\n"
        "runbook: https://wiki.example.com/rb\n"
        "workdir: " +
        dir_ +
        "\n"
        "concurrency: { key: \"{{ params.region }}\", limit: 1 }\n"
        "params: { region: }\n"
        "steps:\n"
        "  - { name: wait, timeout: 5m, run: 'echo \"$KEEL_RUN_ID\" >> started; "
        "i=0; while [ ! -e go ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done' }\n"
        "  - { name: after, noop: true, needs: [wait] }\n");
  }

  std::string trigger() {
    auto [status, body] = keel_->trigger("regional", {{"params", {{"region", "eu"}}}});
    EXPECT_EQ(status, 201) << body.dump();
    return body.value("id", "");
  }
  std::string started() const { return testing::readFile(dir_ + "/started"); }
  // The run's first step's wait, as the API shows it.
  nlohmann::json waitOf(const std::string& id) {
    auto run = keel_->getRun(id);
    if (!run.is_object() || !run["steps"].is_array() || run["steps"].empty()) return nullptr;
    return run["steps"][0]["wait"];
  }
  nlohmann::json summaryOf(const std::string& id) {
    auto res = keel_->client()->Get("/api/v1/runs?workflow=regional");
    if (!res || res->status != 200) return nullptr;
    auto body = nlohmann::json::parse(res->body, nullptr, false);
    for (const auto& r : body.value("runs", nlohmann::json::array()))
      if (r.value("id", "") == id) return r;
    return nullptr;
  }

  std::unique_ptr<KeelUnderTest> keel_;
  std::string dir_;
};

TEST_F(ConcurrencyRestart, AStepWaitingForItsKeyStillWaitsAfterKillNineAndGoesWhenTheKeyFrees) {
  const std::string a = trigger();
  ASSERT_TRUE(waitFor([&] { return contains(started(), a); }));
  const std::string b = trigger();
  const std::string reason = "concurrency key 'eu' is at its limit of 1, held by run " + a;
  ASSERT_TRUE(waitFor([&] { return waitOf(b).is_object(); })) << keel_->getRun(b).dump();
  auto run = keel_->getRun(b);
  EXPECT_EQ(run.value("state", ""), "running") << run.dump();
  EXPECT_EQ(run["steps"][0].value("state", ""), "ready") << run.dump();
  EXPECT_EQ(run["steps"][0]["wait"].value("kind", ""), "concurrency") << run.dump();
  EXPECT_EQ(run["steps"][0]["wait"].value("reason", ""), reason) << run.dump();
  EXPECT_EQ(run["steps"][1]["needs"], nlohmann::json::array({"wait"})) << run.dump();
  EXPECT_EQ(run["steps"][0]["needs"], nlohmann::json::array()) << run.dump();
  auto summary = summaryOf(b);
  ASSERT_TRUE(summary.is_object());
  EXPECT_EQ(summary["wait"].value("kind", ""), "concurrency") << summary.dump();
  EXPECT_EQ(summary["wait"].value("reason", ""), reason) << summary.dump();

  keel_->kill9();
  keel_->start();
  auto after = waitOf(b);
  ASSERT_TRUE(after.is_object()) << keel_->getRun(b).dump();
  EXPECT_EQ(after.value("kind", ""), "concurrency");
  EXPECT_EQ(after.value("reason", ""), reason);
  EXPECT_FALSE(contains(started(), b)) << "the waiting run's step started before its key freed";

  testing::writeFile(dir_ + "/go", "");
  auto endA = keel_->waitForRun(a);
  EXPECT_EQ(endA.value("state", ""), "succeeded") << endA.dump();
  auto endB = keel_->waitForRun(b);
  ASSERT_EQ(endB.value("state", ""), "succeeded") << endB.dump();
  EXPECT_TRUE(endB["steps"][0]["wait"].is_null()) << endB.dump();
  EXPECT_TRUE(endB["wait"].is_null()) << endB.dump();
  EXPECT_EQ(started(), a + "\n" + b + "\n") << "each run's step ran once, A's before B's";
}

}  // namespace
}  // namespace keel::e2e
