// SLO symptoms with the real binary: a run still unfinished at its
// finish_by opens an incident (while the run is still running), counted on
// /metrics, and the run's success afterwards mitigates the incident.
#include <fstream>

#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

// The step holds until the test writes the gate file, so the run is
// unfinished for as long as the test wants, whatever the machine's speed.
constexpr const char* kLateFeed = R"(name: late-feed
owner: { team: data-platform, contact: oncall-data@example.com }
runbook: https://wiki.example.com/runbooks/late-feed
severity: SEV2
params: { gate: }
slo: { finish_by: 1s }
steps:
  - name: load
    run: while [ ! -f {{ params.gate }} ]; do sleep 0.05; done
    timeout: 5m
)";

// The incidents of the late-feed workflow, as the API lists them.
nlohmann::json lateFeedIncidents(const KeelUnderTest& keel) {
  auto r = keel.client()->Get("/api/v1/incidents");
  if (!r || r->status != 200) return nlohmann::json::array();
  auto body = nlohmann::json::parse(r->body, nullptr, false);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& i : body.value("incidents", nlohmann::json::array()))
    if (i.value("workflow", "") == "late-feed") out.push_back(i);
  return out;
}

TEST(SloE2e, ARunUnfinishedAtItsFinishByOpensAnIncidentThatItsSuccessMitigates) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kLateFeed);
  const std::string gate = keel.dir().file("gate");
  auto [status, run] = keel.trigger("late-feed", {{"params", {{"gate", gate}}}});
  ASSERT_EQ(status, 201) << run.dump();
  const std::string runId = run["id"];

  ASSERT_TRUE(waitFor([&] { return lateFeedIncidents(keel).size() == 1; }, 60))
      << lateFeedIncidents(keel).dump();
  // Opened while the run is still running: lateness, not a failure.
  EXPECT_EQ(keel.getRun(runId).value("state", ""), "running");
  auto incident = lateFeedIncidents(keel)[0];
  EXPECT_EQ(incident["class"], "slo_finish_by");
  EXPECT_EQ(incident["state"], "open");
  EXPECT_EQ(incident["step"], "");
  EXPECT_EQ(incident["severity"], "SEV2");
  EXPECT_EQ(incident["owner"]["team"], "data-platform");
  EXPECT_EQ(incident["runbook"], "https://wiki.example.com/runbooks/late-feed");
  auto whole = keel.client()->Get("/api/v1/incidents/" + incident["id"].get<std::string>());
  ASSERT_TRUE(whole);
  auto detail = nlohmann::json::parse(whole->body, nullptr, false);
  EXPECT_EQ(detail["runs"], (nlohmann::json{runId})) << whole->body;
  EXPECT_TRUE(contains(scrapeMetrics(keel),
                       "keel_slo_misses_total{kind=\"finish_by\",workflow=\"late-feed\"} 1\n"));

  std::ofstream(gate) << "go\n";
  EXPECT_EQ(keel.waitForRun(runId).value("state", ""), "succeeded");
  EXPECT_TRUE(waitFor([&] {
    auto list = lateFeedIncidents(keel);
    return list.size() == 1 && list[0].value("state", "") == "mitigated";
  })) << lateFeedIncidents(keel).dump();
}

}  // namespace
}  // namespace keel::e2e
