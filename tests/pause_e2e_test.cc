// keel pause, resume, disable and enable with the real binary and CLI: a
// run triggered while its workflow is paused holds (keel show says why)
// and finishes once resumed; a disabled workflow refuses triggers.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

constexpr const char* kHeld = R"(name: held
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/held
steps:
  - { name: hello, run: echo hello, timeout: 1m }
)";

TEST(PauseE2e, ARunTriggeredWhilePausedHoldsUntilResumed) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kHeld);

  auto paused = aliceCli(keel, {"pause", "held", "--reason", "deploy window"});
  ASSERT_EQ(paused.code, 0) << paused.err;
  EXPECT_TRUE(contains(paused.out, "workflow held: paused by alice")) << paused.out;
  EXPECT_TRUE(contains(paused.out, ": deploy window")) << paused.out;
  auto again = aliceCli(keel, {"pause", "held"});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_TRUE(contains(again.out, "(no change)")) << again.out;

  auto [status, run] = keel.trigger("held", nlohmann::json::object());
  ASSERT_EQ(status, 201) << run.dump();
  const std::string id = run["id"];
  ASSERT_TRUE(waitFor([&] { return keel.getRun(id).value("state", "") == "paused"; }))
      << keel.getRun(id).dump();
  auto show = aliceCli(keel, {"show", id});
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_TRUE(contains(show.out, "paused")) << show.out;
  EXPECT_TRUE(contains(show.out, "workflow held paused by alice")) << show.out;
  auto list = aliceCli(keel, {"workflows"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_TRUE(contains(list.out, "PAUSED")) << list.out;
  EXPECT_TRUE(contains(list.out, "by alice")) << list.out;
  EXPECT_EQ(keel.getRun(id).value("state", ""), "paused") << "it ran while paused";

  auto resumed = aliceCli(keel, {"resume", "held", "--reason", "deploy done"});
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_TRUE(contains(resumed.out, "workflow held: not paused")) << resumed.out;
  auto done = keel.waitForRun(id);
  EXPECT_EQ(done.value("state", ""), "succeeded") << done.dump();
  auto timeline = aliceCli(keel, {"show", id});
  EXPECT_TRUE(contains(timeline.out, "run_resumed")) << timeline.out;

  // A finished run cannot be paused (409: exit 65).
  auto late = aliceCli(keel, {"pause", id});
  EXPECT_EQ(late.code, 65) << late.out << late.err;
}

TEST(PauseE2e, ADisabledWorkflowRefusesTriggersUntilEnabled) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kHeld);
  auto disabled = aliceCli(keel, {"disable", "held", "--reason", "retired"});
  ASSERT_EQ(disabled.code, 0) << disabled.err;
  auto [status, body] = keel.trigger("held", nlohmann::json::object());
  EXPECT_EQ(status, 409) << body.dump();
  EXPECT_EQ(body["error"]["code"], "conflict");
  EXPECT_TRUE(contains(body["error"]["message"].get<std::string>(),
                       "workflow held is disabled by alice (token admin) since "))
      << body.dump();
  auto cli = aliceCli(keel, {"run", "held"});
  EXPECT_EQ(cli.code, 65) << cli.out << cli.err;
  ASSERT_EQ(aliceCli(keel, {"enable", "held"}).code, 0);
  auto [ok, run] = keel.trigger("held", nlohmann::json::object());
  ASSERT_EQ(ok, 201) << run.dump();
  EXPECT_EQ(keel.waitForRun(run["id"]).value("state", ""), "succeeded");
}

}  // namespace
}  // namespace keel::e2e
