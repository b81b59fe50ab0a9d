// Tests of the step supervisor (keel-shim) through ProcessExecutor, with
// real processes: steps that outlive keel's watch, what they leave, and
// re-attaching them. Every wait has a generous deadline that only guards
// against a hang; nothing asserts on speed.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "exec/process_executor.h"
#include "exec/process_executor_test_util.h"
#include "testing/temp_dir.h"

namespace keel::exec {
namespace {

using namespace testutil;

std::string folderOf(const StepRequest& req) {
  return options(1).attemptsDir + "/" + req.runId + "." + req.step + "." +
         std::to_string(req.attempt);
}

AttemptRef refOf(const StepRequest& req) { return AttemptRef{req.runId, req.step, req.attempt}; }

Launched reattach(StepExecutor& ex, AttemptRef ref) {
  auto promise = std::make_shared<std::promise<StepOutcome>>();
  Launched l;
  l.future = promise->get_future();
  l.handle =
      ex.attach(std::move(ref), [promise](StepOutcome o) { promise->set_value(std::move(o)); });
  return l;
}

// Starts `req` on a fresh executor, waits until the step has written
// `marker` in its workdir, then detaches: the step runs on.
void startAndDetach(const StepRequest& req, const std::string& marker) {
  ProcessExecutor ex(options(1));
  Launched l = launch(ex, req);
  ASSERT_TRUE(waitUntil([&] { return exists(marker); }));
  ex.detach();
  auto o = await(l);
  ASSERT_TRUE(o.has_value());
  EXPECT_TRUE(o->detached) << o->message;
}

int countLines(const std::string& path) {
  std::istringstream in(readFile(path));
  int n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

TEST(ProcessExecutorTest, ASetsidGrandchildIsKilledAtTheTimeout) {
  TempDir dir;
  StepRequest req =
      shell("setsid sleep 300 & echo $! > gc.tmp && mv gc.tmp gc.pid; sleep 300", dir.path());
  req.timeout = milliseconds(300);
  req.killGrace = milliseconds(200);
  ProcessExecutor ex(options(1));
  Launched l = launch(ex, req);
  auto o = await(l);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->failureClass, FailureClass::kTimeout) << o->message;
  const pid_t grandchild = readPid(dir.file("gc.pid"));
  // Left its group and session, but not its supervisor: dead before the outcome.
  EXPECT_TRUE(processGone(grandchild)) << grandchild;
  killIfSleep(grandchild);
}

TEST(ProcessExecutorTest, ASetsidDaemonLeftBehindIsKilledWhenTheStepEnds) {
  TempDir dir;
  auto o = runOne(
      shell("setsid sleep 300 & echo $! > gc.tmp && mv gc.tmp gc.pid; echo done", dir.path()));
  EXPECT_TRUE(o.succeeded) << o.message;
  const pid_t daemon = readPid(dir.file("gc.pid"));
  EXPECT_TRUE(processGone(daemon)) << daemon;
  killIfSleep(daemon);
}

TEST(ProcessExecutorTest, ADetachedStepRunsOnAndIsReattached) {
  TempDir dir;
  StepRequest req = shell(
      "echo run >> runs; touch started; while [ ! -e go ]; do sleep 0.02; done; "
      "echo finished; printf '{\"n\": 1}' > \"$KEEL_OUTPUT\"",
      dir.path());
  startAndDetach(req, dir.file("started"));
  // keel is "down": the step still runs, under its supervisor.
  EXPECT_FALSE(exists(folderOf(req) + "/status"));
  ProcessExecutor ex(options(1));
  Launched l = reattach(ex, refOf(req));
  writeFile(dir.file("go"), "");
  auto o = await(l);
  ASSERT_TRUE(o.has_value());
  EXPECT_TRUE(o->succeeded) << o->message;
  EXPECT_EQ(o->stdoutText, "finished\n");
  EXPECT_EQ(o->outputJson, R"({"n":1})");
  EXPECT_EQ(countLines(dir.file("runs")), 1);  // one execution
}

TEST(ProcessExecutorTest, AStepThatEndedWhileNobodyWatchedIsCollected) {
  TempDir dir;
  StepRequest req =
      shell("touch started; while [ ! -e go ]; do sleep 0.02; done; echo late; exit 3", dir.path());
  startAndDetach(req, dir.file("started"));
  writeFile(dir.file("go"), "");
  ASSERT_TRUE(waitUntil([&] { return exists(folderOf(req) + "/status"); }));
  ProcessExecutor ex(options(1));
  Launched l = reattach(ex, refOf(req));
  auto o = await(l);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->failureClass, FailureClass::kError);
  EXPECT_EQ(o->exitCode, 3);
  EXPECT_EQ(o->stdoutText, "late\n");
}

TEST(ProcessExecutorTest, TheSupervisorEnforcesTheTimeoutWhileNobodyWatches) {
  TempDir dir;
  StepRequest req = shell("touch started; sleep 300", dir.path());
  req.timeout = milliseconds(500);
  req.killGrace = milliseconds(200);
  startAndDetach(req, dir.file("started"));
  ASSERT_TRUE(waitUntil([&] { return exists(folderOf(req) + "/status"); }));
  ProcessExecutor ex(options(1));
  Launched l = reattach(ex, refOf(req));
  auto o = await(l);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->failureClass, FailureClass::kTimeout) << o->message;
}

TEST(ProcessExecutorTest, AStepWhoseSupervisorWasKilledIsLostAndItsProcessesKilled) {
  TempDir dir;
  StepRequest req = shell(
      "sleep 300 & echo $! > bg.tmp && mv bg.tmp bg.pid; "
      "setsid sleep 300 & echo $! > gc.tmp && mv gc.tmp gc.pid; sleep 300",
      dir.path());
  startAndDetach(req, dir.file("gc.pid"));
  // The supervisor dies with keel (kill -9 of both): its step is orphaned.
  pid_t shim = readPid(folderOf(req) + "/lock");
  ASSERT_EQ(::kill(shim, SIGKILL), 0);
  ASSERT_TRUE(waitUntil([&] {
    std::string stat = readFile("/proc/" + std::to_string(shim) + "/stat");
    return stat.empty() || stat.find(") Z ") != std::string::npos;  // gone, or a zombie
  }));
  const pid_t background = readPid(dir.file("bg.pid"));
  const pid_t grandchild = readPid(dir.file("gc.pid"));
  EXPECT_FALSE(processGone(background));
  ProcessExecutor ex(options(1));
  Launched l = reattach(ex, refOf(req));
  auto o = await(l);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->failureClass, FailureClass::kLost) << o->message;
  EXPECT_NE(o->message.find("leftover process"), std::string::npos) << o->message;
  // Nothing of the attempt is alive once it is reported lost: a retry
  // never overlaps it.
  EXPECT_TRUE(processGone(background));
  EXPECT_TRUE(processGone(grandchild));
  EXPECT_TRUE(exists(folderOf(req) + "/abandoned")) << o->message;
  killIfSleep(background);
  killIfSleep(grandchild);
}

TEST(ProcessExecutorTest, AnAttemptWithNoFolderIsLostWithNothingRun) {
  ProcessExecutor ex(options(1));
  Launched l = reattach(ex, AttemptRef{"never-started", "step", 1});
  auto o = await(l);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->failureClass, FailureClass::kLost);
  EXPECT_NE(o->message.find("nothing ran"), std::string::npos) << o->message;
}

TEST(ProcessExecutorTest, StoppingAReattachedStepStopsIt) {
  TempDir dir;
  StepRequest req = shell("touch started; sleep 300", dir.path());
  startAndDetach(req, dir.file("started"));
  ProcessExecutor ex(options(1));
  Launched l = reattach(ex, refOf(req));
  ex.stop(l.handle, FailureClass::kCancelled);
  auto o = await(l);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->failureClass, FailureClass::kCancelled) << o->message;
}

TEST(ProcessExecutorTest, SweepRemovesFoldersOfNoRunningAttempt) {
  const std::string root = options(1).attemptsDir;
  StepRequest kept = shell("true");
  StepRequest stale = shell("true");
  runOne(kept);
  runOne(stale);
  ASSERT_TRUE(exists(folderOf(kept)));
  ASSERT_TRUE(exists(folderOf(stale)));
  ProcessExecutor ex(options(1));
  ex.sweep({refOf(kept)});
  EXPECT_TRUE(waitUntil([&] { return !exists(folderOf(stale)); }));  // in the background
  EXPECT_TRUE(exists(folderOf(kept)));
}

}  // namespace
}  // namespace keel::exec
