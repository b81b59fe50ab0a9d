// Tests of ProcessExecutor with real processes. Every wait has a generous
// deadline that only guards against a hang; nothing asserts on speed.
#include "exec/process_executor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "exec/process_executor_test_util.h"
#include "testing/temp_dir.h"

namespace keel::exec {
namespace {

using namespace testutil;

TEST(ProcessExecutorTest, ExitZeroWithJsonOutput) {
  ProcessExecutor ex(options(1));
  StepRequest req = shell(R"(printf '{"rows": [1, 2], "ok": true}\n' > "$KEEL_OUTPUT"; )"
                          R"(echo hello; echo oops >&2; echo "$KEEL_OUTPUT")");
  AttemptRef ref{req.runId, req.step, req.attempt};
  Launched l = launch(ex, req);
  auto got = await(l);
  ASSERT_TRUE(got.has_value());
  StepOutcome o = *got;
  EXPECT_TRUE(o.succeeded) << o.message;
  EXPECT_EQ(o.failureClass, FailureClass::kNone);
  EXPECT_EQ(o.exitCode, 0);
  EXPECT_FALSE(o.signal.has_value());
  EXPECT_EQ(o.message, "exit code 0");
  EXPECT_EQ(o.outputJson, R"({"ok":true,"rows":[1,2]})");
  auto lines = o.stdoutText;
  ASSERT_EQ(lines.rfind("hello\n", 0), 0u) << lines;
  EXPECT_EQ(o.stderrText, "oops\n");
  EXPECT_EQ(o.stdoutBytes, static_cast<int64_t>(o.stdoutText.size()));
  EXPECT_EQ(o.stderrBytes, 5);
  // The attempt's folder stays until its end is committed (discard), then goes.
  std::string outputPath = lines.substr(6, lines.size() - 7);
  auto folder = std::filesystem::path(outputPath).parent_path();
  EXPECT_EQ(folder.filename(), req.runId + ".step.1");
  EXPECT_TRUE(exists(folder / "status"));
  // Steps' outputs and logs are for the owner only.
  using std::filesystem::perms;
  EXPECT_EQ(std::filesystem::status(folder).permissions() & perms::all, perms::owner_all);
  EXPECT_EQ(std::filesystem::status(folder.parent_path()).permissions() & perms::all,
            perms::owner_all);
  ex.discard(ref);
  EXPECT_TRUE(waitUntil([&] { return !exists(folder); }));
}

TEST(ProcessExecutorTest, NoOutputOrBlankOutputIsEmpty) {
  EXPECT_EQ(runOne(shell("true")).outputJson, "");
  auto o = runOne(shell(R"(printf '  \n' > "$KEEL_OUTPUT")"));
  EXPECT_TRUE(o.succeeded) << o.message;
  EXPECT_EQ(o.outputJson, "");
}

struct ExitCase {
  const char* command;
  FailureClass cls;
  std::optional<int> exitCode;
  std::optional<int> signal;
  const char* message;
};

TEST(ProcessExecutorTest, ExitStatusesAreClassified) {
  const std::vector<ExitCase> cases = {
      {"exit 3", FailureClass::kError, 3, std::nullopt, "exit code 3"},
      {"exit 65", FailureClass::kBadInput, 65, std::nullopt, "exit code 65 (EX_DATAERR)"},
      {"keel-no-such-command-xyz", FailureClass::kError, 127, std::nullopt,
       "exit code 127 (command not found)"},
      {"kill -9 $$", FailureClass::kCrash, std::nullopt, SIGKILL, "killed by signal 9 (SIGKILL)"},
  };
  for (const auto& c : cases) {
    auto o = runOne(shell(c.command));
    EXPECT_FALSE(o.succeeded) << c.command;
    EXPECT_EQ(o.failureClass, c.cls) << c.command;
    EXPECT_EQ(o.exitCode, c.exitCode) << c.command;
    EXPECT_EQ(o.signal, c.signal) << c.command;
    EXPECT_EQ(o.message, c.message) << c.command;
  }
}

TEST(ProcessExecutorTest, TimeoutKillsTheWholeGroup) {
  TempDir dir;
  ProcessExecutor ex(options(1));
  StepRequest req =
      shell("sleep 300 & echo $! > bg.tmp && mv bg.tmp bg.pid; sleep 300", dir.path());
  req.killGrace = milliseconds(100);
  Launched l = launch(ex, req);
  ASSERT_TRUE(waitUntil([&] { return exists(dir.file("bg.pid")); }));
  const pid_t background = readPid(dir.file("bg.pid"));
  ex.stop(l.handle, FailureClass::kTimeout);
  auto o = await(l);
  ASSERT_TRUE(o);
  EXPECT_FALSE(o->succeeded);
  EXPECT_EQ(o->failureClass, FailureClass::kTimeout);
  EXPECT_EQ(o->message.rfind("timed out after ", 0), 0u) << o->message;
  EXPECT_NE(o->message.find("SIGTERM sent"), std::string::npos) << o->message;
  // The background child was SIGKILLed with its group before the outcome;
  // waiting only covers the kernel finishing it off.
  EXPECT_TRUE(waitUntil([&] { return processGone(background); }));
  killIfSleep(background);
}

TEST(ProcessExecutorTest, IgnoredSigtermIsFollowedBySigkill) {
  TempDir dir;
  ProcessExecutor ex(options(1));
  StepRequest req = shell("trap '' TERM; touch ready; sleep 300", dir.path());
  req.killGrace = milliseconds(100);
  Launched l = launch(ex, req);
  ASSERT_TRUE(waitUntil([&] { return exists(dir.file("ready")); }));
  ex.stop(l.handle, FailureClass::kCancelled);
  auto o = await(l);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->failureClass, FailureClass::kCancelled);
  EXPECT_EQ(o->signal, SIGKILL);
  EXPECT_NE(o->message.find("SIGTERM sent, then SIGKILL after 100ms grace"), std::string::npos)
      << o->message;
}

TEST(ProcessExecutorTest, LeftoverBackgroundProcessDoesNotHoldTheAttempt) {
  // The shell exits at once; its background child keeps the pipes open.
  // The attempt ends after the drain period and the child is killed.
  TempDir dir;
  auto o = runOne(shell("sleep 300 & echo $! > bg.tmp && mv bg.tmp bg.pid; echo done", dir.path()));
  EXPECT_TRUE(o.succeeded) << o.message;
  EXPECT_EQ(o.stdoutText, "done\n");
  const pid_t background = readPid(dir.file("bg.pid"));
  EXPECT_TRUE(waitUntil([&] { return processGone(background); }));
  killIfSleep(background);
}

TEST(ProcessExecutorTest, EnvironmentReachesTheChild) {
  ASSERT_NE(std::getenv("PATH"), nullptr);
  StepRequest req = shell(R"(printf '%s\n%s\n%s\n' "$GREETING" "$KEEL_OUTPUT" "$PATH")");
  req.env["GREETING"] = "hello world";
  req.env["KEEL_OUTPUT"] = "/should/not/win";
  auto o = runOne(req);
  ASSERT_TRUE(o.succeeded) << o.message;
  std::istringstream in(o.stdoutText);
  std::string greeting, output, path;
  std::getline(in, greeting);
  std::getline(in, output);
  std::getline(in, path);
  EXPECT_EQ(greeting, "hello world");
  EXPECT_NE(output, "/should/not/win");
  EXPECT_NE(output.find("/steps/" + req.runId + ".step.1/"), std::string::npos) << output;
  EXPECT_EQ(std::filesystem::path(output).filename(), "output.json");
  EXPECT_EQ(path, std::getenv("PATH"));  // inherited
}

TEST(ProcessExecutorTest, InvalidEnvironmentNameIsBadInput) {
  StepRequest req = shell("true");
  req.env["A=B"] = "x";
  auto o = runOne(req);
  EXPECT_EQ(o.failureClass, FailureClass::kBadInput);
  EXPECT_NE(o.message.find("A=B"), std::string::npos) << o.message;
}

TEST(ProcessExecutorTest, StepsGetACleanEnvironmentPlusWhatTheyPassThrough) {
  // The server's own secrets, as if exported when it was started.
  ::setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t", 1);
  ::setenv("KEEL_TOKEN", "t0ken", 1);
  ::setenv("KEEL_TEST_PASSED", "passed value", 1);
  ::unsetenv("KEEL_TEST_UNSET");
  StepRequest req = shell("env");
  req.env["REGION"] = "eu";
  req.passEnv = {"KEEL_TEST_PASSED", "KEEL_TEST_UNSET"};
  auto o = runOne(req);
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ::unsetenv("KEEL_TOKEN");
  ::unsetenv("KEEL_TEST_PASSED");
  ASSERT_TRUE(o.succeeded) << o.message;
  std::set<std::string> names;
  std::istringstream in(o.stdoutText);
  for (std::string line; std::getline(in, line);) names.insert(line.substr(0, line.find('=')));
  for (const char* own : {"PWD", "OLDPWD", "SHLVL", "_"}) names.erase(own);  // the shell's own
  std::set<std::string> expected = {"PATH",         "REGION",    "KEEL_OUTPUT", "KEEL_TEST_PASSED",
                                    "KEEL_ATTEMPT", "KEEL_STEP", "KEEL_RUN_ID"};
  for (const char* base : {"HOME", "LANG", "LC_ALL", "TZ"})
    if (std::getenv(base)) expected.insert(base);
  EXPECT_EQ(names, expected) << o.stdoutText;
  EXPECT_EQ(o.stdoutText.find("s3cr3t"), std::string::npos);
  EXPECT_EQ(o.stdoutText.find("t0ken"), std::string::npos);
  EXPECT_NE(o.stdoutText.find("KEEL_TEST_PASSED=passed value\n"), std::string::npos);
}

TEST(ProcessExecutorTest, ACommandOrEnvironmentTooLongToStartIsBadInput) {
  // Linux refuses any one argument or variable over 128 KiB with E2BIG.
  StepRequest longCommand = shell(": " + std::string(256 * 1024, 'x'));
  auto o = runOne(longCommand);
  EXPECT_FALSE(o.succeeded);
  EXPECT_EQ(o.failureClass, FailureClass::kBadInput) << o.message;
  EXPECT_NE(o.message.find("E2BIG"), std::string::npos) << o.message;

  StepRequest longEnv = shell("true");
  longEnv.env["BIG"] = std::string(256 * 1024, 'x');
  o = runOne(longEnv);
  EXPECT_EQ(o.failureClass, FailureClass::kBadInput) << o.message;
}

TEST(ProcessExecutorTest, ANulByteInTheCommandOrEnvironmentIsBadInput) {
  auto o = runOne(shell(std::string("echo a\0; touch F", 16)));
  EXPECT_EQ(o.failureClass, FailureClass::kBadInput) << o.message;
  EXPECT_NE(o.message.find("NUL"), std::string::npos) << o.message;
  StepRequest req = shell("true");
  req.env["V"] = std::string("a\0b", 3);
  o = runOne(req);
  EXPECT_EQ(o.failureClass, FailureClass::kBadInput) << o.message;
  EXPECT_NE(o.message.find("environment variable V: the value contains a NUL byte at offset 1"),
            std::string::npos)
      << o.message;
}

TEST(ProcessExecutorTest, WorkdirIsHonoured) {
  TempDir dir;
  auto o = runOne(shell("pwd -P", dir.path()));
  ASSERT_TRUE(o.succeeded) << o.message;
  EXPECT_EQ(o.stdoutText, std::filesystem::canonical(dir.path()).string() + "\n");
}

TEST(ProcessExecutorTest, MissingWorkdirIsAnError) {
  TempDir dir;
  const std::string missing = dir.file("no/such/dir");
  auto o = runOne(shell("echo never", missing));
  EXPECT_FALSE(o.succeeded);
  EXPECT_EQ(o.failureClass, FailureClass::kError);
  EXPECT_EQ(o.message, "working directory " + missing + " does not exist");
  EXPECT_FALSE(o.exitCode.has_value());
  EXPECT_EQ(o.stdoutText, "");
}

TEST(ProcessExecutorTest, LogsAreCappedKeepingHeadAndTail) {
  const size_t threeMiB = 3 << 20;
  StepRequest req = shell(
      "yes e | head -c 3145728 >&2; echo BEGIN; yes abcdefghijklmno | head -c 3145728; echo END");
  req.logCapBytes = 1 << 20;
  auto o = runOne(req);
  ASSERT_TRUE(o.succeeded) << o.message << "\n" << o.stderrText.substr(0, 200);

  std::string out = "BEGIN\n";
  for (size_t i = 0; i < threeMiB / 16; ++i) out += "abcdefghijklmno\n";
  out += "END\n";
  std::string err;
  for (size_t i = 0; i < threeMiB / 2; ++i) err += "e\n";

  auto capped = [](const std::string& all) {
    const size_t head = (1 << 20) - (64 << 10), tail = 64 << 10;
    return all.substr(0, head) + "\n[... " + std::to_string(all.size() - head - tail) +
           " bytes omitted ...]\n" + all.substr(all.size() - tail);
  };
  EXPECT_EQ(o.stdoutBytes, static_cast<int64_t>(out.size()));
  EXPECT_EQ(o.stderrBytes, static_cast<int64_t>(threeMiB));
  EXPECT_TRUE(o.stdoutText == capped(out)) << "stdout differs";
  // Also shows the child's SIGPIPE is back to its default: `yes` would
  // otherwise complain about a broken pipe on stderr.
  EXPECT_TRUE(o.stderrText == capped(err)) << "stderr differs";
  EXPECT_NE(o.stdoutText.find("\n[... 2097162 bytes omitted ...]\n"), std::string::npos);
}

TEST(ProcessExecutorTest, InvalidJsonOutputFailsTheAttemptButKeepsLogs) {
  auto o = runOne(shell(R"(echo 'not json' > "$KEEL_OUTPUT"; echo logged)"));
  EXPECT_FALSE(o.succeeded);
  EXPECT_EQ(o.failureClass, FailureClass::kError);
  EXPECT_EQ(o.exitCode, 0);
  EXPECT_EQ(o.message.rfind("output file is not valid JSON: ", 0), 0u) << o.message;
  EXPECT_EQ(o.stdoutText, "logged\n");
  EXPECT_EQ(o.outputJson, "");
}

TEST(ProcessExecutorTest, OversizedOutputFailsTheAttempt) {
  StepRequest req = shell(R"(printf '{"data": "0123456789"}' > "$KEEL_OUTPUT")");
  req.outputCapBytes = 10;
  auto o = runOne(req);
  EXPECT_EQ(o.failureClass, FailureClass::kError);
  EXPECT_EQ(o.message.rfind("output file is too large", 0), 0u) << o.message;
}

size_t countEntries(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST(ProcessExecutorTest, NeverRunsMoreThanMaxParallel) {
  // Each attempt marks itself running, records how many are running, and
  // waits for its own gate. The test opens one gate at a time, so with an
  // unbounded executor a third attempt would be running beside two blocked
  // ones and record 3.
  TempDir dir;
  std::filesystem::create_directory(dir.file("running"));
  std::filesystem::create_directory(dir.file("started"));
  ProcessExecutor ex(options(2));
  std::vector<Launched> launched;
  for (int i = 0; i < 4; ++i) {
    StepRequest req = shell(
        "touch running/$ID; ls running | wc -l >> counts; touch started/$ID; "
        "while [ ! -e gate.$ID ]; do sleep 0.01; done; rm running/$ID",
        dir.path());
    req.env["ID"] = std::to_string(i);
    launched.push_back(launch(ex, req));
  }
  std::set<std::string> released;
  while (released.size() < 4) {
    const size_t want = std::min<size_t>(4, released.size() + 2);
    ASSERT_TRUE(waitUntil([&] { return countEntries(dir.file("started")) >= want; }));
    EXPECT_LE(countEntries(dir.file("started")), released.size() + 2);
    for (const auto& e : std::filesystem::directory_iterator(dir.file("started"))) {
      std::string id = e.path().filename();
      if (released.insert(id).second) {
        writeFile(dir.file("gate." + id), "");
        break;
      }
    }
  }
  for (auto& l : launched) {
    auto o = await(l);
    ASSERT_TRUE(o);
    EXPECT_TRUE(o->succeeded) << o->message << o->stderrText;
  }
  std::istringstream counts(readFile(dir.file("counts")));
  int n = 0, most = 0, lines = 0;
  while (counts >> n) {
    most = std::max(most, n);
    ++lines;
  }
  EXPECT_EQ(lines, 4);
  EXPECT_EQ(most, 2);  // two did run together, and never more
}

TEST(ProcessExecutorTest, ManyQuickAttemptsAllComplete) {
  ProcessExecutor ex(options(4));
  std::vector<Launched> launched;
  std::set<ExecHandle> handles;
  for (int i = 0; i < 50; ++i) {
    StepRequest req = shell("echo $N");
    req.env["N"] = std::to_string(i);
    launched.push_back(launch(ex, req));
    handles.insert(launched.back().handle);
  }
  EXPECT_EQ(handles.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    auto o = await(launched[i]);
    ASSERT_TRUE(o) << "attempt " << i << " never completed";
    EXPECT_TRUE(o->succeeded) << o->message;
    EXPECT_EQ(o->stdoutText, std::to_string(i) + "\n");
  }
  EXPECT_EQ(ex.inFlight(), 0u);
}

TEST(ProcessExecutorTest, StopAfterCompletionIsANoOp) {
  ProcessExecutor ex(options(1));
  std::atomic<int> calls{0};
  std::promise<void> done;
  ExecHandle h = ex.start(shell("true"), [&](StepOutcome) {
    if (++calls == 1) done.set_value();
  });
  ASSERT_EQ(done.get_future().wait_for(kGuard), std::future_status::ready);
  ex.stop(h, FailureClass::kTimeout);
  ex.stop(h + 1000, FailureClass::kTimeout);  // never issued
  Launched next = launch(ex, shell("echo after"));
  auto o = await(next);
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->succeeded);
  EXPECT_EQ(o->stdoutText, "after\n");
  EXPECT_EQ(calls.load(), 1);
}

TEST(ProcessExecutorTest, StopWhileQueuedDoesNotWaitForASlot) {
  TempDir dir;
  ProcessExecutor ex(options(1));
  Launched blocker = launch(ex, shell("while [ ! -e gate ]; do sleep 0.01; done", dir.path()));
  Launched queued = launch(ex, shell("echo never"));
  ex.stop(queued.handle, FailureClass::kCancelled);
  auto o = await(queued);  // delivered while the only slot is still taken
  ASSERT_TRUE(o);
  EXPECT_EQ(o->failureClass, FailureClass::kCancelled);
  EXPECT_NE(o->message.find("before the process started"), std::string::npos) << o->message;
  EXPECT_EQ(o->stdoutText, "");
  writeFile(dir.file("gate"), "");
  auto b = await(blocker);
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->succeeded) << b->message;
}

TEST(ProcessExecutorTest, ShutdownCancelsRunningAndQueued) {
  TempDir dir;
  ProcessExecutor ex(options(1));
  StepRequest running = shell("touch started; sleep 300", dir.path());
  running.killGrace = milliseconds(100);
  Launched a = launch(ex, running);
  Launched b = launch(ex, shell("echo never"));
  ASSERT_TRUE(waitUntil([&] { return exists(dir.file("started")); }));
  ex.shutdown();
  // shutdown() returns only after every callback ran.
  ASSERT_EQ(a.future.wait_for(milliseconds(0)), std::future_status::ready);
  ASSERT_EQ(b.future.wait_for(milliseconds(0)), std::future_status::ready);
  EXPECT_EQ(a.future.get().failureClass, FailureClass::kCancelled);
  EXPECT_EQ(b.future.get().failureClass, FailureClass::kCancelled);
  Launched late = launch(ex, shell("echo never"));
  ASSERT_EQ(late.future.wait_for(milliseconds(0)), std::future_status::ready);
  EXPECT_EQ(late.future.get().failureClass, FailureClass::kCancelled);
  ex.shutdown();  // a second call is harmless
}

TEST(ProcessExecutorTest, ChildInheritsNoDescriptors) {
  TempDir dir;
  writeFile(dir.file("marker"), "x");
  // Opened the careless way, without close-on-exec.
  int file = ::open(dir.file("marker").c_str(), O_RDONLY);
  int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(file, 0);
  ASSERT_GE(sock, 0);
  ProcessExecutor ex(options(2));
  // A second attempt runs alongside, so its pipes and the executor's
  // eventfds and pidfds exist while the first one lists its descriptors.
  Launched other = launch(ex, shell("while [ ! -e gate ]; do sleep 0.01; done", dir.path()));
  Launched lister = launch(ex, shell("ls -l /proc/$$/fd; true"));
  auto o = await(lister);
  writeFile(dir.file("gate"), "");
  ASSERT_TRUE(await(other));
  ::close(file);
  ::close(sock);
  ASSERT_TRUE(o);
  ASSERT_TRUE(o->succeeded) << o->message << o->stderrText;

  std::map<int, std::string> fds;  // the shell's descriptors and their targets
  std::istringstream in(o->stdoutText);
  for (std::string line; std::getline(in, line);) {
    auto arrow = line.find(" -> ");
    if (arrow == std::string::npos) continue;
    auto start = line.rfind(' ', arrow - 1) + 1;
    fds[std::stoi(line.substr(start, arrow - start))] = line.substr(arrow + 4);
  }
  ASSERT_EQ(fds.count(0), 1u) << o->stdoutText;
  EXPECT_EQ(fds[0], "/dev/null");
  EXPECT_EQ(fds[1].rfind("pipe:", 0), 0u) << fds[1];
  EXPECT_EQ(fds[2].rfind("pipe:", 0), 0u) << fds[2];
  for (const auto& [fd, target] : fds) {
    if (fd <= 2) continue;
    // The shell may open files of its own; nothing of the server's may be there.
    EXPECT_EQ(target.find("marker"), std::string::npos) << fd << " -> " << target;
    EXPECT_EQ(target.find("socket:"), std::string::npos) << fd << " -> " << target;
    EXPECT_EQ(target.find("pipe:"), std::string::npos) << fd << " -> " << target;
    EXPECT_EQ(target.find("anon_inode:"), std::string::npos) << fd << " -> " << target;
  }
}

}  // namespace
}  // namespace keel::exec
