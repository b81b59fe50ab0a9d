// Compensation across kill -9: the compensations of a failed run run in
// reverse order, and each one's side effect happens exactly once although
// keel is killed while each of them runs.
//
// undo.sh NAME notes that it started, waits for the file go.NAME the test
// creates (at most 60 s), then appends "undo NAME" to the ledger.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

constexpr const char* kUndoScript = R"(#!/bin/sh
echo "start $1 $KEEL_ATTEMPT" >> starts
i=0
while [ ! -e "go.$1" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
echo "undo $1" >> ledger
)";

std::string workflowYaml(const std::string& dir) {
  return "name: order\n"
         "owner: { team: qa, contact: qa@example.com }\n"
         "runbook: https://wiki.example.com/rb\n"
         "workdir: " +
         dir +
         "\n"
         "steps:\n"
         "  - { name: reserve, run: echo reserved, timeout: 1m,\n"
         "      compensate: { run: ./undo.sh reserve, timeout: 2m } }\n"
         "  - { name: charge, needs: [reserve], run: echo charged, timeout: 1m,\n"
         "      compensate: { run: ./undo.sh charge, timeout: 2m } }\n"
         "  - { name: ship, needs: [charge], run: exit 3, timeout: 1m,\n"
         "      retry: { max_attempts: 1 } }\n";
}

bool startedUndo(const std::string& dir, const std::string& name) {
  return contains(testing::readFile(dir + "/starts"), "start " + name + " ");
}

TEST(Compensate, EachCompensationRunsOnceInReverseOrderAcrossKillNine) {
  KeelUnderTest keel;
  const std::string dir = keel.dir().path();
  testing::writeFile(dir + "/undo.sh", kUndoScript);
  std::filesystem::permissions(dir + "/undo.sh", std::filesystem::perms::owner_all);
  keel.start();
  keel.apply(workflowYaml(dir));
  auto [status, body] = keel.trigger("order", nlohmann::json::object());
  ASSERT_EQ(status, 201) << body.dump();
  const std::string id = body["id"].get<std::string>();

  // The last success is undone first; keel dies while it runs.
  ASSERT_TRUE(waitFor([&] { return startedUndo(dir, "charge"); }));
  auto mid = keel.getRun(id);
  EXPECT_EQ(mid.value("state", ""), "running") << mid.dump();
  EXPECT_EQ(mid.value("compensation", nlohmann::json()), "running") << mid.dump();
  keel.kill9();
  testing::writeFile(dir + "/go.charge", "");
  keel.start();

  // Then the next one; keel dies again while it runs.
  ASSERT_TRUE(waitFor([&] { return startedUndo(dir, "reserve"); }));
  keel.kill9();
  testing::writeFile(dir + "/go.reserve", "");
  keel.start();

  auto run = keel.waitForRun(id);
  EXPECT_EQ(run.value("state", ""), "failed") << run.dump();
  EXPECT_EQ(run.value("compensation", nlohmann::json()), "done") << run.dump();
  EXPECT_EQ(testing::readFile(dir + "/ledger"), "undo charge\nundo reserve\n");
  // Each was started once: re-attached after each kill, never run again.
  EXPECT_EQ(testing::readFile(dir + "/starts"), "start charge 1\nstart reserve 1\n");
}

}  // namespace
}  // namespace keel::e2e
