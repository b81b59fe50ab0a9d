// Incident statistics over a window: counts and MTTR by workflow and by
// class (unresolved incidents count but have no time to resolve), and the
// fingerprints that recur, most first.
#include "incidents/stats.h"

#include <gtest/gtest.h>

namespace keel::incidents {
namespace {

using namespace std::chrono_literals;

const WallTime kStatsT0 = WallTime(std::chrono::seconds(1'767'225'600));

Incident inc(std::string wf, std::string cls, std::string fp, WallTime first,
             std::optional<WallTime::duration> resolvedAfter) {
  Incident i;
  i.workflow = std::move(wf);
  i.failureClass = std::move(cls);
  i.fingerprint = fp;
  i.normalized = "text of " + fp;
  i.firstSeen = first;
  if (resolvedAfter) {
    i.state = IncidentState::kResolved;
    i.resolvedAt = first + *resolvedAfter;
  }
  return i;
}

TEST(IncidentStatsTest, CountsAndMttrByWorkflowAndClassAndTopRecurringFingerprints) {
  std::vector<Incident> all = {
      inc("feed", "error", "f1", kStatsT0, 1h),
      inc("feed", "error", "f1", kStatsT0 + 48h, 3h),
      inc("feed", "timeout", "f2", kStatsT0 + 50h, std::nullopt),
      inc("report", "error", "f3", kStatsT0 + 10h, 30min),
      inc("old", "error", "f1", kStatsT0 - 24h, 1h),  // before the window
  };
  auto s = incidentStats(all, kStatsT0);
  EXPECT_EQ(s.total, 4);
  ASSERT_EQ(s.byWorkflow.size(), 2u);
  EXPECT_EQ(s.byWorkflow[0].key, "feed");
  EXPECT_EQ(s.byWorkflow[0].count, 3);
  EXPECT_EQ(s.byWorkflow[0].resolved, 2);
  EXPECT_EQ(s.byWorkflow[0].mttr, WallTime::duration(2h));
  EXPECT_EQ(s.byWorkflow[1].key, "report");
  EXPECT_EQ(s.byWorkflow[1].mttr, WallTime::duration(30min));
  ASSERT_EQ(s.byClass.size(), 2u);
  EXPECT_EQ(s.byClass[0].key, "error");
  EXPECT_EQ(s.byClass[0].count, 3);
  EXPECT_EQ(s.byClass[0].mttr, WallTime::duration(90min));  // (1h + 3h + 30m) / 3
  EXPECT_EQ(s.byClass[1].key, "timeout");
  EXPECT_FALSE(s.byClass[1].mttr.has_value());
  ASSERT_EQ(s.recurring.size(), 1u);
  EXPECT_EQ(s.recurring[0].fingerprint, "f1");
  EXPECT_EQ(s.recurring[0].incidents, 2);
  EXPECT_EQ(s.recurring[0].normalized, "text of f1");
  EXPECT_EQ(incidentStats(all, kStatsT0 - 48h).recurring[0].incidents, 3);
  EXPECT_EQ(incidentStats(all, kStatsT0 + 100h).total, 0);
}

}  // namespace
}  // namespace keel::incidents
