// The `keel` CLI against a real `keel serve` that crashes: `keel run --wait`
// rides out a kill -9 and restart of keel and exits by the run's end.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

constexpr const char* kGated = R"(name: gated
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/gated
params: { gate: { description: a file the step waits for } }
steps:
  - name: wait-for-gate
    run: while [ ! -e {{ params.gate }} ]; do sleep 0.05; done; echo through
    timeout: 2m
)";

TEST(CliE2e, RunWaitRidesOutAKill9AndRestartOfKeel) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kGated);
  const std::string gate = keel.dir().file("gate");
  const std::string out = keel.dir().file("cli.out"), err = keel.dir().file("cli.err");
  pid_t cli = startKeelCli({"--server", keel.url(), "run", "gated", "--param", "gate=" + gate,
                            "--wait", "--timeout", "2m"},
                           keel.token(), out, err);
  // The run is running: its id is the CLI's first line.
  std::string runId;
  ASSERT_TRUE(waitFor([&] {
    std::string text = testing::readFile(out);
    if (text.find('\n') == std::string::npos) return false;
    runId = text.substr(0, text.find('\n'));
    return keel.getRun(runId).value("state", "") == "running";
  })) << testing::readFile(err);

  keel.kill9();
  // Down for longer than the CLI's longest pause between two polls (1 s),
  // so that it meets the outage.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  keel.keepPort();
  keel.start();
  testing::writeFile(gate, "");

  int code = exitCodeOf(cli, 90);
  const std::string cliOut = testing::readFile(out), cliErr = testing::readFile(err);
  EXPECT_EQ(code, 0) << cliOut << cliErr;
  EXPECT_NE(cliOut.find("run " + runId + " succeeded"), std::string::npos) << cliOut;
  EXPECT_NE(cliErr.find("note: waiting for run " + runId + ": cannot reach keel"),
            std::string::npos)
      << cliErr;
  EXPECT_EQ(app::queryText(keel.db(), "SELECT count(*) FROM runs"), "1");
}

// A `keel run` started while keel is down triggers once keel is up, with
// the key it made up: one run, not one per try.
TEST(CliE2e, RunStartedWhileKeelIsDownTriggersOnceItIsUp) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kGated);
  const std::string gate = keel.dir().file("gate");
  testing::writeFile(gate, "");
  keel.stop();
  keel.keepPort();
  const std::string out = keel.dir().file("cli.out"), err = keel.dir().file("cli.err");
  pid_t cli = startKeelCli({"--server", keel.url(), "run", "gated", "--param", "gate=" + gate,
                            "--wait", "--timeout", "2m"},
                           keel.token(), out, err);
  ASSERT_TRUE(waitFor([&] {
    return testing::readFile(err).find("trying again") != std::string::npos;
  })) << testing::readFile(err);
  keel.start();
  EXPECT_EQ(exitCodeOf(cli, 90), 0) << testing::readFile(out) << testing::readFile(err);
  EXPECT_EQ(app::queryText(keel.db(), "SELECT count(*) FROM runs"), "1");
  EXPECT_EQ(app::queryText(keel.db(), "SELECT substr(idempotency_key, 1, 4) FROM runs"), "cli-");
}

constexpr const char* kTalky = R"(name: talky
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/talky
params: { gate: { description: a file the step waits for } }
steps:
  - name: say
    run: echo first; while [ ! -e {{ params.gate }} ]; do sleep 0.05; done; echo second >&2; echo third
    timeout: 2m
  - name: after
    needs: [say]
    run: echo done
    timeout: 1m
)";

bool stillRunning(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == 0;
}

// `keel logs RUN STEP -f` prints what a running step wrote before the step
// ends (the step cannot end before the test makes its gate), then the
// rest, and exits 0 once the attempt has ended.
TEST(CliE2e, LogsFollowPrintsARunningStepsOutputBeforeItEndsAndTheRestAfter) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kTalky);
  const std::string gate = keel.dir().file("gate");
  auto [status, run] = keel.trigger("talky", {{"params", {{"gate", gate}}}});
  ASSERT_EQ(status, 201) << run.dump();
  const std::string runId = run["id"];
  const std::string out = keel.dir().file("logs.out"), err = keel.dir().file("logs.err");
  pid_t cli =
      startKeelCli({"--server", keel.url(), "logs", runId, "say", "-f"}, keel.token(), out, err);
  ASSERT_TRUE(waitFor([&] { return testing::readFile(out) == "first\n"; }))
      << testing::readFile(out) << testing::readFile(err);
  EXPECT_TRUE(stillRunning(cli));  // the attempt goes on: so does the follow
  testing::writeFile(gate, "");
  EXPECT_EQ(exitCodeOf(cli, 90), 0) << testing::readFile(err);
  const std::string all = testing::readFile(out);
  // stdout and stderr interleaved as the supervisor read them.
  EXPECT_EQ(all.substr(0, 6), "first\n") << all;
  EXPECT_TRUE(contains(all, "second\n")) << all;
  EXPECT_TRUE(contains(all, "third\n")) << all;
  EXPECT_EQ(all.size(), std::string("first\nsecond\nthird\n").size()) << all;
  EXPECT_EQ(keel.waitForRun(runId)["state"], "succeeded");
}

// `keel show RUN --watch` draws the run, then one line per change, and
// exits with `keel run --wait`'s code once the run ends; --graph and --dot
// draw its steps.
TEST(CliE2e, ShowWatchFollowsARunToItsEndAndExitsByItsState) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kTalky);
  const std::string gate = keel.dir().file("gate");
  auto [status, run] = keel.trigger("talky", {{"params", {{"gate", gate}}}});
  ASSERT_EQ(status, 201) << run.dump();
  const std::string runId = run["id"];
  ASSERT_TRUE(waitFor([&] { return keel.getRun(runId).value("state", "") == "running"; }));

  const std::string out = keel.dir().file("watch.out"), err = keel.dir().file("watch.err");
  pid_t cli = startKeelCli({"--server", keel.url(), "show", runId, "--watch", "--graph"},
                           keel.token(), out, err);
  ASSERT_TRUE(waitFor([&] { return contains(testing::readFile(out), "<- say"); }))
      << testing::readFile(out) << testing::readFile(err);
  EXPECT_TRUE(stillRunning(cli));
  testing::writeFile(gate, "");
  EXPECT_EQ(exitCodeOf(cli, 90), 0) << testing::readFile(err);
  const std::string watched = testing::readFile(out);
  EXPECT_TRUE(contains(watched, "step after: pending -> ")) << watched;
  EXPECT_TRUE(contains(watched, "run " + runId + ": running -> succeeded")) << watched;
  EXPECT_FALSE(contains(watched, "\x1b[")) << "no screen control when stdout is a file";

  const std::string dotOut = keel.dir().file("dot.out");
  pid_t dot =
      startKeelCli({"--server", keel.url(), "show", runId, "--dot"}, keel.token(), dotOut, err);
  EXPECT_EQ(exitCodeOf(dot, 60), 0) << testing::readFile(err);
  EXPECT_TRUE(contains(testing::readFile(dotOut), "  \"say\" -> \"after\";\n"))
      << testing::readFile(dotOut);
}

// Who acted and why reach the timeline through the real CLI and server:
// `--as` names the person the admin token acts for, `--reason` says why;
// `keel show` prints both. A hostile --as never reaches the server.
TEST(CliE2e, CancelAndRetryRecordWhoAndWhyInTheTimeline) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kGated);
  auto [status, run] = keel.trigger("gated", {{"params", {{"gate", keel.dir().file("never")}}}});
  ASSERT_EQ(status, 201) << run.dump();
  const std::string runId = run["id"];
  const std::string out = keel.dir().file("cli.out"), err = keel.dir().file("cli.err");
  pid_t cancel = startKeelCli({"--server", keel.url(), "cancel", runId, "--as", "alice", "--reason",
                               "warehouse down; INC-231 $(touch PWNED)"},
                              keel.token(), out, err);
  ASSERT_EQ(exitCodeOf(cancel, 60), 0) << testing::readFile(err);
  ASSERT_TRUE(waitFor([&] { return keel.getRun(runId).value("state", "") == "cancelled"; }));
  pid_t retry =
      startKeelCli({"--server", keel.url(), "retry", runId, "--as", "bob"}, keel.token(), out, err);
  ASSERT_EQ(exitCodeOf(retry, 60), 0) << testing::readFile(err);
  pid_t bad = startKeelCli({"--server", keel.url(), "cancel", runId, "--as", "mallory\nroot"},
                           keel.token(), out, err);
  EXPECT_EQ(exitCodeOf(bad, 60), 64) << testing::readFile(err);

  pid_t show = startKeelCli({"--server", keel.url(), "show", runId}, keel.token(), out, err);
  ASSERT_EQ(exitCodeOf(show, 60), 0) << testing::readFile(err);
  const std::string shown = testing::readFile(out);
  EXPECT_TRUE(contains(shown, "by alice (token admin): warehouse down; INC-231 $(touch PWNED)"))
      << shown;
  EXPECT_TRUE(contains(shown, "by bob (token admin)")) << shown;
  EXPECT_FALSE(contains(shown, "mallory")) << shown;
  EXPECT_NE(::access(keel.dir().file("PWNED").c_str(), F_OK), 0);
  // Cancel it again so that the retried run's step does not outlive the test.
  pid_t last = startKeelCli({"--server", keel.url(), "cancel", runId}, keel.token(), out, err);
  EXPECT_EQ(exitCodeOf(last, 60), 0) << testing::readFile(err);
}

}  // namespace
}  // namespace keel::e2e
