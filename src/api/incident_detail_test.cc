// completeIncident(): an incident shown with every attempt of its first
// failing step, read from its run, and the log tail a step_not_recovered
// incident could not record (its attempt's logs come after it).
#include "api/incident_detail.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing/fake_store.h"

namespace keel::api {
namespace {

WallTime at(int64_t ms) { return WallTime(std::chrono::milliseconds(ms)); }

store::AttemptRow attempt(int n, std::optional<int> exit, FailureClass cls, std::string message) {
  store::AttemptRow a;
  a.runId = "r1";
  a.step = "fetch";
  a.n = n;
  a.state = AttemptState::kFailed;
  a.startedAt = at(1'000'000 * n);
  a.finishedAt = at(1'000'000 * n + 5'000);
  a.exitCode = exit;
  a.failureClass = cls;
  a.message = std::move(message);
  return a;
}

class IncidentDetailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::RunDetail d;
    d.run.id = "r1";
    d.run.workflow = "feed";
    store::StepRow fetch;
    fetch.runId = "r1";
    fetch.name = "fetch";
    fetch.attempts = 3;
    store::StepRow other;
    other.runId = "r1";
    other.name = "load";
    other.attempts = 1;
    d.steps = {fetch, other};
    store::AttemptRow load = attempt(1, 0, FailureClass::kNone, "");
    load.step = "load";
    d.attempts = {attempt(1, 1, FailureClass::kError, "exit 1"),
                  attempt(2, 2, FailureClass::kDependencyUnavailable, "upstream 503"),
                  attempt(3, std::nullopt, FailureClass::kTimeout, "timed out after 1m"), load};
    d.attempts[2].state = AttemptState::kRunning;
    d.attempts[2].finishedAt.reset();
    store_.runs = {d};
    std::string many;
    for (int i = 1; i <= 60; ++i) many += "line " + std::to_string(i) + "\n";
    store_.logs = {{"r1", "fetch", 1, "first attempt\n", "", 14, 0},
                   {"r1", "fetch", 2, many, "503 from upstream\n", 0, 0}};
  }
  incidents::Incident notRecovered() {
    incidents::Incident i;
    i.id = "inc-000001";
    i.workflow = "feed";
    i.step = "fetch";
    i.symptom = "step_not_recovered";
    i.firstRun = "r1";
    i.attemptsJson =
        R"([{"n":2,"of":2,"class":"dependency_unavailable","message":"upstream 503"}])";
    return i;
  }
  testing::FakeStore store_;
};

TEST_F(IncidentDetailTest, EveryAttemptOfTheStepInOrderWithItsTimesClassAndExitCode) {
  auto i = notRecovered();
  completeIncident(store_, i);
  auto attempts = nlohmann::json::parse(i.attemptsJson);
  ASSERT_EQ(attempts.size(), 3u) << i.attemptsJson;
  EXPECT_EQ(attempts[0]["n"], 1);
  EXPECT_EQ(attempts[0]["of"], 3);
  EXPECT_EQ(attempts[0]["class"], "error");
  EXPECT_EQ(attempts[0]["exit_code"], 1);
  EXPECT_EQ(attempts[0]["started_at"], formatRfc3339(at(1'000'000)));
  EXPECT_EQ(attempts[0]["finished_at"], formatRfc3339(at(1'005'000)));
  EXPECT_EQ(attempts[1]["class"], "dependency_unavailable");
  EXPECT_EQ(attempts[1]["message"], "upstream 503");
  EXPECT_EQ(attempts[2]["state"], "running");
  EXPECT_FALSE(attempts[2].contains("finished_at"));
  EXPECT_FALSE(attempts[2].contains("exit_code"));
}

TEST_F(IncidentDetailTest, AnEmptyLogTailIsReadFromTheRecordedAttempt) {
  auto i = notRecovered();
  ASSERT_TRUE(i.logsTail.empty());
  completeIncident(store_, i);
  // Attempt 2's logs (the one recorded), its last 50 lines: stdout then stderr.
  EXPECT_EQ(i.logsTail.find("line 12\n"), 0u) << i.logsTail;
  EXPECT_EQ(i.logsTail.find("line 11\n"), std::string::npos);
  EXPECT_NE(i.logsTail.find("line 60\n503 from upstream"), std::string::npos) << i.logsTail;
}

TEST_F(IncidentDetailTest, ARecordedTailStaysAndAMissingRunChangesNothing) {
  auto i = notRecovered();
  i.logsTail = "as recorded\n";
  completeIncident(store_, i);
  EXPECT_EQ(i.logsTail, "as recorded\n");

  auto gone = notRecovered();
  gone.firstRun = "r-deleted";
  const std::string recorded = gone.attemptsJson;
  completeIncident(store_, gone);
  EXPECT_EQ(gone.attemptsJson, recorded);
  EXPECT_TRUE(gone.logsTail.empty());
}

}  // namespace
}  // namespace keel::api
