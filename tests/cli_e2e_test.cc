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

// Starts `keel ARGS...` with its stdout and stderr in files; its pid.
pid_t startCli(const std::vector<std::string>& args, const std::string& token,
               const std::string& out, const std::string& err) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("KEEL_TOKEN", token.c_str(), 1);
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(o, 1);
    ::dup2(e, 2);
    std::vector<char*> argv{const_cast<char*>(KEEL_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(KEEL_BINARY, argv.data());
    ::_exit(127);
  }
  return pid;
}

// The exit code of `pid` once it has ended (within `seconds`), or -1.
int exitCodeOf(pid_t pid, int seconds) {
  int status = 0;
  bool ended = waitFor([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, seconds);
  if (!ended) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(CliE2e, RunWaitRidesOutAKill9AndRestartOfKeel) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kGated);
  const std::string gate = keel.dir().file("gate");
  const std::string out = keel.dir().file("cli.out"), err = keel.dir().file("cli.err");
  pid_t cli = startCli({"--server", keel.url(), "run", "gated", "--param", "gate=" + gate, "--wait",
                        "--timeout", "2m"},
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
  pid_t cli = startCli({"--server", keel.url(), "run", "gated", "--param", "gate=" + gate, "--wait",
                        "--timeout", "2m"},
                       keel.token(), out, err);
  ASSERT_TRUE(waitFor([&] {
    return testing::readFile(err).find("trying again") != std::string::npos;
  })) << testing::readFile(err);
  keel.start();
  EXPECT_EQ(exitCodeOf(cli, 90), 0) << testing::readFile(out) << testing::readFile(err);
  EXPECT_EQ(app::queryText(keel.db(), "SELECT count(*) FROM runs"), "1");
  EXPECT_EQ(app::queryText(keel.db(), "SELECT substr(idempotency_key, 1, 4) FROM runs"), "cli-");
}

}  // namespace
}  // namespace keel::e2e
