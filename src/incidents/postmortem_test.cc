// The post-mortem of a fixed incident: every section, the times people are
// measured by, and values that cannot break the document's structure.
#include "incidents/postmortem.h"

#include <gtest/gtest.h>

namespace keel::incidents {
namespace {

using namespace std::chrono_literals;

const WallTime kPmT0 = WallTime(std::chrono::seconds(1'767'225'600));  // 2026-01-01T00:00:00.000Z

Incident fixed() {
  Incident i;
  i.id = "inc-000002";
  i.state = IncidentState::kResolved;
  i.severity = 2;
  i.recurring = true;
  i.workflow = "planning-feed";
  i.step = "fetch";
  i.failureClass = "error";
  i.message = "HTTP 503 | upstream";
  i.symptom = "run_failed";
  i.ownerTeam = "data";
  i.ownerContact = "data@example.com";
  i.runbook = "https://wiki/runbooks/feed";
  i.firstSeen = kPmT0;
  i.runs = {"run-1", "run-2"};
  i.rootCause = "# not a heading\nthe supplier | was late";
  i.actionItems = {{1, "alert when late", "data", "2026-02-01", kPmT0 + 48h, "bob"}};
  i.resolvedAt = kPmT0 + 2h;
  i.timeline = {
      {1, kPmT0, "opened", "", "open", "", ""},
      {2, kPmT0 + 3min, "acknowledged", "open", "acknowledged", "alice", "on it"},
      {3, kPmT0 + 30min, "mitigated", "acknowledged", "mitigated", "", "run run-2 recovered"},
      {4, kPmT0 + 2h, "resolved", "mitigated", "resolved", "alice", "fixed"}};
  PreviousIncident p;
  p.id = "inc-000001";
  p.rootCause = "supplier late";
  p.resolvedAt = kPmT0 - 48h;
  i.previous = {p};
  return i;
}

bool has(const std::string& md, const std::string& part) {
  return md.find(part) != std::string::npos;
}

TEST(PostmortemTest, EverySectionFromTheRecord) {
  std::string md = renderPostmortem(fixed(), kPmT0 + 72h);
  for (const char* h :
       {"# Post-mortem: inc\\-000002 (SEV2, resolved)", "## Summary", "## Impact", "## Times",
        "## Timeline", "## Root cause", "## Action items", "## Recurrence history"})
    EXPECT_TRUE(has(md, h)) << h << "\n" << md;
  EXPECT_TRUE(has(md, "- Affected runs: 2")) << md;
  EXPECT_TRUE(has(md, "- Delay: 30m 00s (first seen to mitigated)")) << md;
  EXPECT_TRUE(has(md,
                  "| Acknowledged (time to acknowledge) | 2026-01-01T00:03:00.000Z (3m 00s after "
                  "first seen) |"))
      << md;
  EXPECT_TRUE(has(md,
                  "| Resolved (time to resolve) | 2026-01-01T02:00:00.000Z (2h 00m after first "
                  "seen) |"))
      << md;
  EXPECT_TRUE(has(md, "| Escalated | not yet |")) << md;
  EXPECT_TRUE(
      has(md, "| 1 | alert when late | data | 2026\\-02\\-01 | 2026-01-03T00:00:00.000Z by bob |"))
      << md;
  EXPECT_TRUE(has(md, "| inc\\-000001 | 2025-12-30T00:00:00.000Z | supplier late | - |")) << md;
}

TEST(PostmortemTest, ValuesCannotBreakTheStructure) {
  std::string md = renderPostmortem(fixed(), kPmT0);
  // The root cause stays one paragraph: no heading, its pipe escaped.
  EXPECT_TRUE(has(md, "\\# not a heading the supplier \\| was late")) << md;
  EXPECT_FALSE(has(md, "\n# not a heading")) << md;
  // The message's pipe cannot open a column.
  EXPECT_TRUE(has(md, "HTTP 503 \\| upstream")) << md;
  // Every table row keeps its column count.
  Incident i = fixed();
  i.timeline[1].note = "a | b\n| c";
  md = renderPostmortem(i, kPmT0);
  EXPECT_TRUE(has(md, "| 2 | 2026-01-01T00:03:00.000Z | acknowledged | alice | a \\| b \\| c |"))
      << md;
}

TEST(PostmortemTest, TheFirstFailingStepWithEveryAttemptAndItsLogTail) {
  Incident i = fixed();
  i.attemptsJson =
      R"([{"n":1,"of":2,"class":"error","message":"exit 1","exit_code":1,)"
      R"("started_at":"2026-01-01T00:00:00.000Z","finished_at":"2026-01-01T00:00:05.000Z"},)"
      R"({"n":2,"of":2,"class":"timeout","message":"timed | out",)"
      R"("started_at":"2026-01-01T00:01:00.000Z"}])";
  i.logsTail = "fetching\n```\nHTTP 503";
  std::string md = renderPostmortem(i, kPmT0 + 72h);
  EXPECT_TRUE(has(md, "## First failing step: fetch\n")) << md;
  EXPECT_TRUE(has(md,
                  "| 1 | 2026\\-01\\-01T00:00:00\\.000Z | 2026\\-01\\-01T00:00:05\\.000Z | error | "
                  "1 | exit 1 |\n"))
      << md;
  EXPECT_TRUE(has(md, "| 2 | 2026\\-01\\-01T00:01:00\\.000Z | - | timeout | - | timed \\| out |\n"))
      << md;
  // A fence longer than the backticks inside the logs.
  EXPECT_TRUE(has(md, "\n````\nfetching\n```\nHTTP 503\n````\n")) << md;

  i.step.clear();
  EXPECT_FALSE(has(renderPostmortem(i, kPmT0), "## First failing step"));
}

TEST(PostmortemTest, HumanDurations) {
  EXPECT_EQ(humanDuration(42s), "42s");
  EXPECT_EQ(humanDuration(185s), "3m 05s");
  EXPECT_EQ(humanDuration(3720s), "1h 02m");
  EXPECT_EQ(humanDuration(52h), "2d 04h");
  EXPECT_EQ(humanDuration(-5s), "0s");
}

}  // namespace
}  // namespace keel::incidents
