// Approval steps with the real binary: a run waits at an approval step
// (`keel show` says who must decide), `keel approve` decides it through the
// real CLI, the dependant runs after it; a second decision exits 65.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

constexpr const char* kRelease = R"(name: release
owner: { team: ops, contact: ops@example.com }
runbook: https://wiki.example.com/release
params: { date: }
steps:
  - { name: load, noop: true }
  - name: go-live
    needs: [load]
    approval:
      approvers: [ops-leads]
      timeout: 4h
      message: "Load {{ params.date }} into production?"
  - name: publish
    needs: [go-live]
    run: echo published, approved by {{ steps.go-live.output.by }}
    timeout: 1m
)";

nlohmann::json stepOf(const nlohmann::json& run, const std::string& name) {
  for (const auto& s : run.value("steps", nlohmann::json::array()))
    if (s.value("name", "") == name) return s;
  return nlohmann::json::object();
}

TEST(ApprovalE2e, KeelApproveLetsTheDependantRunAndASecondDecisionExits65) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kRelease);
  auto [status, run] = keel.trigger("release", {{"params", {{"date", "2026-11-23"}}}});
  ASSERT_EQ(status, 201) << run.dump();
  const std::string id = run["id"];
  ASSERT_TRUE(waitFor([&] {
    return stepOf(keel.getRun(id), "go-live").value("state", "") == "waiting";
  })) << keel.getRun(id).dump();
  EXPECT_EQ(stepOf(keel.getRun(id), "publish").value("state", ""), "pending");

  auto shown = runKeelCli(keel, {"show", id});
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_TRUE(contains(shown.out, "approval by ops-leads: Load 2026-11-23 into production?"))
      << shown.out;

  auto approved =
      runKeelCli(keel, {"--as", "alice", "approve", id, "go-live", "--reason", "checked"});
  ASSERT_EQ(approved.code, 0) << approved.err;
  EXPECT_TRUE(contains(approved.out, "go-live approved by alice (token ")) << approved.out;

  auto done = keel.waitForRun(id);
  EXPECT_EQ(done.value("state", ""), "succeeded") << done.dump();
  EXPECT_EQ(stepOf(done, "publish").value("state", ""), "succeeded");

  auto again =
      runKeelCli(keel, {"--as", "bob", "approve", id, "go-live", "--reject", "--reason", "no"});
  EXPECT_EQ(again.code, 65) << again.out << again.err;
  EXPECT_TRUE(contains(again.err, "already approved by alice")) << again.err;

  auto events = runKeelCli(keel, {"show", id});
  EXPECT_TRUE(contains(events.out, "approval_granted")) << events.out;
  EXPECT_TRUE(contains(events.out, "by alice (token ")) << events.out;
}

}  // namespace
}  // namespace keel::e2e
