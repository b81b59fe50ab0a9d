// An unclean close: a child process applies batches until it is killed
// with SIGKILL part way through; the parent reopens the file and finds it
// intact, with every batch the child saw committed.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/store_test_util.h"
#include "testing/temp_dir.h"

namespace keel::store {
namespace {

using testutil::at;
using testutil::makeAttempt;
using testutil::makeEvent;
using testutil::makeRun;
using testutil::makeStep;

constexpr int kKillAfter = 150;  // batches reported before the parent kills the child

std::string runId(int n) { return fmt::format("r{:08}", n); }

// Batch n creates run n with three steps, an attempt, events and a log, and
// finishes run n-1: inserts and updates, like the engine's.
Batch batchFor(int n) {
  Batch b;
  std::string id = runId(n);
  b.mutations.push_back(PutRun{makeRun(id, "wf", RunState::kRunning, n)});
  for (const char* step : {"a", "b", "c"}) b.mutations.push_back(PutStep{makeStep(id, step)});
  b.mutations.push_back(PutAttempt{makeAttempt(id, "a", 1)});
  b.mutations.push_back(AppendEvent{makeEvent(id, "run_created")});
  b.mutations.push_back(AppendEvent{makeEvent(id, "step_started", "a")});
  b.mutations.push_back(PutLog{{id, "a", 1, std::string(2000, 'x'), "", 2000, 0}});
  if (n > 1) {
    RunRow previous = makeRun(runId(n - 1), "wf", RunState::kSucceeded, n - 1);
    previous.finishedAt = at(n);
    b.mutations.push_back(PutRun{previous});
  }
  return b;
}

[[noreturn]] void childWrites(const std::string& path, int reportFd) {
  auto store = openSqliteStore(path);
  if (!store.ok()) _exit(2);
  for (int n = 1;; ++n) {
    if (!(*store)->apply(batchFor(n)).ok()) _exit(3);
    // Reported only once apply() returned: the batch is committed.
    if (write(reportFd, &n, sizeof n) != static_cast<ssize_t>(sizeof n)) _exit(4);
  }
}

// Reads reports until the child has committed kKillAfter batches, kills it,
// then drains what it reported before dying. Returns the last one.
int killMidWay(pid_t child, int reportFd) {
  int last = 0;
  bool killed = false;
  while (true) {
    int n = 0;
    ssize_t got = read(reportFd, &n, sizeof n);
    if (got < 0 && errno == EINTR) continue;
    if (got != static_cast<ssize_t>(sizeof n)) break;  // EOF: the child is gone
    EXPECT_EQ(n, last + 1);
    last = n;
    if (!killed && last >= kKillAfter) {
      kill(child, SIGKILL);
      killed = true;
    }
  }
  return last;
}

TEST(SqliteCrashTest, ReopenAfterSigkillFindsEveryReportedBatch) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    childWrites(path, fds[1]);
  }
  close(fds[1]);
  int last = killMidWay(child, fds[0]);
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  ASSERT_GE(last, kKillAfter);

  // The kernel dropped the dead child's lock, so this open succeeds.
  auto store = openSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.error().toString();
  auto integrity = (*store)->integrityCheck();
  ASSERT_TRUE(integrity.ok());
  EXPECT_EQ(*integrity, "ok");

  for (int n = 1; n <= last; ++n) {
    auto run = (*store)->getRun(runId(n));
    ASSERT_TRUE(run.ok()) << run.error().toString();
    ASSERT_TRUE(run->has_value()) << "batch " << n << " was reported committed but is missing";
    EXPECT_EQ((*run)->steps.size(), 3u);
    EXPECT_EQ((*run)->attempts.size(), 1u);
    auto events = (*store)->runEvents(runId(n));
    ASSERT_TRUE(events.ok());
    EXPECT_EQ(events->size(), 2u);
    if (n < last) {
      EXPECT_EQ((*run)->run.state, RunState::kSucceeded);
    }
  }
  // The batch in flight at the kill is either wholly there or wholly absent.
  auto runs = (*store)->listRuns(testutil::limitOnly(1000));
  ASSERT_TRUE(runs.ok());
  ASSERT_TRUE(runs->size() == static_cast<size_t>(last) ||
              runs->size() == static_cast<size_t>(last) + 1)
      << runs->size() << " runs after " << last << " reported batches";
  if (runs->size() == static_cast<size_t>(last) + 1) {
    auto inFlight = (*store)->getRun(runId(last + 1));
    ASSERT_TRUE(inFlight.ok() && inFlight->has_value());
    EXPECT_EQ((*inFlight)->steps.size(), 3u);
  }

  // And the store keeps working: new steps still come after old ones.
  int next = static_cast<int>(runs->size()) + 1;
  Status s = (*store)->apply(batchFor(next));
  ASSERT_TRUE(s.ok()) << s.error().toString();
  s = (*store)->apply({{PutStep{makeStep(runId(next), "d")}}});
  ASSERT_TRUE(s.ok()) << s.error().toString();
  auto run = (*store)->getRun(runId(next));
  ASSERT_TRUE(run.ok() && run->has_value());
  ASSERT_EQ((*run)->steps.size(), 4u);
  EXPECT_EQ((*run)->steps.back().name, "d");
}

}  // namespace
}  // namespace keel::store
