// The live copy of a running step's output (keel-shim's DIR/live, read by
// ProcessExecutor::readLive): a line the step printed is readable while the
// step still runs, and the rest once it has ended, even after its folder
// is discarded. The step blocks on a FIFO that only the test opens, so the
// first read cannot come after its end.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "exec/process_executor.h"
#include "exec/process_executor_test_util.h"
#include "testing/temp_dir.h"

namespace keel::exec {
namespace {

using namespace testutil;

AttemptRef liveRefOf(const StepRequest& req) {
  return AttemptRef{req.runId, req.step, req.attempt};
}

// Reads from `offset` until `done` says the text so far is enough.
std::string readUntil(StepExecutor& ex, const AttemptRef& ref,
                      const std::function<bool(const std::string&, bool ended)>& done) {
  std::string text;
  int64_t offset = 0;
  bool ended = false;
  waitUntil([&] {
    auto got = ex.readLive(ref, offset, 1 << 16);
    if (!got.ok()) {
      ADD_FAILURE() << got.error().message();
      return true;
    }
    text += got->data;
    offset = got->offset;
    ended = got->ended;
    return done(text, ended);
  });
  return text;
}

TEST(LiveOutputTest, ARunningStepsLineIsReadableBeforeItEndsAndTheRestAfter) {
  TempDir dir;
  const std::string fifo = dir.file("go");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  StepRequest req = shell("echo first; echo oops >&2; cat go > /dev/null; echo second", dir.path());
  ProcessExecutor ex(options(1));
  Launched l = launch(ex, req);

  std::string seen = readUntil(
      ex, liveRefOf(req), [](const std::string& t, bool) { return t.find("oops\n") != t.npos; });
  EXPECT_EQ(seen, "first\noops\n");
  // The step is blocked on the FIFO: it cannot have ended.
  EXPECT_NE(l.future.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  auto mid = ex.readLive(liveRefOf(req), static_cast<int64_t>(seen.size()), 1 << 16);
  ASSERT_TRUE(mid.ok());
  EXPECT_FALSE(mid->ended);

  int w = ::open(fifo.c_str(), O_WRONLY);  // unblocks the step's `cat`
  ASSERT_GE(w, 0);
  ::close(w);
  auto o = await(l);
  ASSERT_TRUE(o.has_value());
  EXPECT_TRUE(o->succeeded) << o->message;

  auto rest = ex.readLive(liveRefOf(req), static_cast<int64_t>(seen.size()), 1 << 16);
  ASSERT_TRUE(rest.ok()) << rest.error().message();
  EXPECT_EQ(rest->data, "second\n");
  EXPECT_TRUE(rest->ended);

  // Followed, so kept once the folder goes; an offset past the end reads nothing.
  ex.discard(liveRefOf(req));
  ASSERT_TRUE(
      waitUntil([&] { return !exists(options(1).attemptsDir + "/" + req.runId + ".step.1"); }));
  auto kept = ex.readLive(liveRefOf(req), 6, 1 << 16);
  ASSERT_TRUE(kept.ok()) << kept.error().message();
  EXPECT_EQ(kept->data, "oops\nsecond\n");
  EXPECT_TRUE(kept->ended);
  auto past = ex.readLive(liveRefOf(req), 1000, 1 << 16);
  ASSERT_TRUE(past.ok());
  EXPECT_EQ(past->data, "");
  EXPECT_TRUE(past->ended);
}

TEST(LiveOutputTest, ReadsAreBoundedAndCarryTheOffsetForward) {
  StepRequest req = shell("printf abcdefghij");
  ProcessExecutor ex(options(1));
  Launched l = launch(ex, req);
  ASSERT_TRUE(await(l).has_value());
  auto a = ex.readLive(liveRefOf(req), 0, 4);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->data, "abcd");
  EXPECT_EQ(a->offset, 4);
  EXPECT_FALSE(a->ended);  // more to read
  auto b = ex.readLive(liveRefOf(req), a->offset, 100);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->data, "efghij");
  EXPECT_TRUE(b->ended);
}

TEST(LiveOutputTest, TheLiveCopyStopsAtTwiceTheLogCapAndSaysSo) {
  StepRequest req = shell("printf '%s' 0123456789012345678901234567890123456789");
  req.logCapBytes = 8;
  ProcessExecutor ex(options(1));
  Launched l = launch(ex, req);
  ASSERT_TRUE(await(l).has_value());
  auto r = ex.readLive(liveRefOf(req), 0, 1 << 16);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data.substr(0, 16), "0123456789012345");
  EXPECT_NE(r->data.find("live output stopped after 16 bytes"), std::string::npos) << r->data;
  EXPECT_TRUE(r->ended);
}

TEST(LiveOutputTest, AnAttemptNobodyFollowedIsForgottenWithItsFolder) {
  StepRequest req = shell("echo hi");
  ProcessExecutor ex(options(1));
  Launched l = launch(ex, req);
  ASSERT_TRUE(await(l).has_value());
  ex.discard(liveRefOf(req));
  ASSERT_TRUE(
      waitUntil([&] { return !exists(options(1).attemptsDir + "/" + req.runId + ".step.1"); }));
  auto r = ex.readLive(liveRefOf(req), 0, 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
}

TEST(LiveOutputTest, AnExecutorWithoutLiveOutputSaysSo) {
  struct Bare final : StepExecutor {
    ExecHandle start(StepRequest, std::function<void(StepOutcome)>) override { return 0; }
    void stop(ExecHandle, FailureClass) override {}
    void shutdown() override {}
  } bare;
  auto r = bare.readLive(AttemptRef{"r", "s", 1}, 0, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnimplemented);
}

}  // namespace
}  // namespace keel::exec
