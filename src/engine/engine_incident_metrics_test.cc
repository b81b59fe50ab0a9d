// The incident gauges, as Prometheus scrapes them: open incidents by
// severity (every severity present, 0 included), overdue action items that
// become overdue as the clock passes their due day, and both right again
// after a restart.
#include <chrono>
#include <optional>
#include <sstream>

#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

constexpr const char* kMetricsFeed = R"(
severity: SEV2
steps:
  - { name: fetch, run: "fetch", timeout: 1m, retry: { max_attempts: 1 } }
)";

class IncidentMetricsTest : public EngineTest {
 protected:
  std::string failingIncident() {
    trigger("feed");
    exec_.fail(exec_.started.size() - 1, FailureClass::kError, 3);
    engine_->pump();
    auto list = store_->listIncidents({});
    return list.ok() && !list->empty() ? list->front().id : std::string();
  }
  std::optional<double> open(const std::string& sev) {
    return metricValue(metrics_.render(), "keel_incidents_open{severity=\"" + sev + "\"}");
  }
  std::optional<double> overdue() {
    return metricValue(metrics_.render(), "keel_action_items_overdue");
  }
};

TEST_F(IncidentMetricsTest, OpenIncidentsBySeverityAndOverdueActionItemsStayCurrent) {
  for (const char* sev : {"SEV1", "SEV2", "SEV3", "SEV4"}) EXPECT_EQ(open(sev), 0) << sev;
  EXPECT_EQ(overdue(), 0);
  apply(workflow("feed", kMetricsFeed));
  const std::string id = failingIncident();
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(open("SEV2"), 1);
  EXPECT_EQ(open("SEV3"), 0);

  // Resolved with an item due today: it is no longer open, and the item is
  // overdue from tomorrow on.
  IncidentRequest r{id, IncidentAction::kResolve};
  const std::string today = formatRfc3339(clock_.wallNow()).substr(0, 10);
  r.resolve = {"late file", {{0, "alert when late", "data", today, {}, {}}}, ""};
  auto f = engine_->incidentAction(r, RequestContext{.token = "ops", .reason = "fixed"});
  engine_->pump();
  ASSERT_TRUE(f.get().ok());
  EXPECT_EQ(open("SEV2"), 0);
  EXPECT_EQ(overdue(), 0);
  clock_.advance(std::chrono::hours(24));
  engine_->pump();
  EXPECT_EQ(overdue(), 1);

  // A restart sets both from the store again (a wrong value is put first).
  failingIncident();  // a recurrence: open again
  metrics_.gauge("keel_action_items_overdue", "").set(7);
  metrics_.gauge("keel_incidents_open", "", {{"severity", "SEV2"}}).set(7);
  stopAndRestart();
  EXPECT_EQ(overdue(), 1);
  EXPECT_EQ(open("SEV2").value_or(0) + open("SEV1").value_or(0), 1);  // fix ineffective: one up

  // Done: no longer overdue.
  IncidentRequest d{id, IncidentAction::kActionDone};
  d.actionItem = 1;
  auto g = engine_->incidentAction(d, RequestContext{.token = "ops", .reason = "shipped"});
  engine_->pump();
  ASSERT_TRUE(g.get().ok());
  EXPECT_EQ(overdue(), 0);
}

}  // namespace
}  // namespace keel::engine::test
