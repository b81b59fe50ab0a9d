// Repairing a run with the real `keel` binary: a run fails at a middle
// step, the file that step reads is fixed, and `keel rerun --from` it makes
// the run succeed without running the upstream step again.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

constexpr const char* kRepair = R"(name: repair
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/repair
params: { dir: { description: where the step files live } }
steps:
  - name: extract
    run: echo ran >> {{ params.dir }}/extract.count
    timeout: 1m
  - name: check
    run: grep -q good {{ params.dir }}/input.txt
    needs: [extract]
    timeout: 1m
    retry: { max_attempts: 1 }
  - name: publish
    run: echo published > {{ params.dir }}/published
    needs: [check]
    timeout: 1m
)";

TEST(OperatorE2e, RerunFromTheFailedMiddleStepAfterFixingItsInputSucceeds) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kRepair);
  const testing::TempDir& dir = keel.dir();
  testing::writeFile(dir.file("input.txt"), "bad\n");
  auto [status, created] = keel.trigger("repair", {{"params", {{"dir", dir.path()}}}});
  ASSERT_EQ(status, 201) << created.dump();
  const std::string id = created["id"];
  auto failed = keel.waitForRun(id);
  ASSERT_EQ(failed["state"], "failed") << failed.dump();

  // A step that did not start cannot be cancelled; the run has ended.
  auto refused = runKeelCli(keel, {"cancel", id, "--step", "publish"});
  EXPECT_EQ(refused.code, 65) << refused.out << refused.err;

  testing::writeFile(dir.file("input.txt"), "good\n");
  auto rerun = runKeelCli(
      keel, {"--as", "alice", "rerun", id, "--from", "check", "--reason", "input fixed"});
  ASSERT_EQ(rerun.code, 0) << rerun.out << rerun.err;
  EXPECT_TRUE(contains(rerun.out, "re-running from step check")) << rerun.out;
  auto done = keel.waitForRun(id);
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(testing::readFile(dir.file("extract.count")), "ran\n") << "the upstream step ran again";
  EXPECT_EQ(testing::readFile(dir.file("published")), "published\n");

  auto res = keel.client()->Get("/api/v1/runs/" + id + "/events");
  ASSERT_TRUE(res);
  auto events = nlohmann::json::parse(res->body)["events"];
  bool recorded = false;
  for (const auto& e : events)
    if (e.value("kind", "") == "run_rerun_from")
      recorded = e.value("actor", "") == "alice (token admin)" &&
                 e.value("reason", "") == "input fixed" && e.value("step", "") == "check";
  EXPECT_TRUE(recorded) << events.dump();
}

}  // namespace
}  // namespace keel::e2e
