// escalate_after: and escalation: levels, and what is refused (with where).
#include <gtest/gtest.h>

#include "spec/spec_test_util.h"

namespace keel::spec {
namespace {

using testing::hasProblem;
using testing::parse;
using testing::plus;
using testing::problemsOf;

TEST(ParseEscalation, DefaultsToTheOwnerAfterThreeMinutes) {
  auto wf = parse(testing::kMinimal);
  ASSERT_TRUE(wf.ok()) << wf.error().toString();
  EXPECT_EQ((*wf)->escalateAfter, Millis(3 * 60 * 1000));
  ASSERT_EQ((*wf)->escalation.size(), 1u);
  EXPECT_EQ((*wf)->escalation[0].after, Millis(3 * 60 * 1000));
  EXPECT_EQ((*wf)->escalation[0].notify, "owner");
}

TEST(ParseEscalation, EscalateAfterMovesTheDefaultLevel) {
  auto wf = parse(plus("escalate_after: 90s\n"));
  ASSERT_TRUE(wf.ok()) << wf.error().toString();
  EXPECT_EQ((*wf)->escalateAfter, Millis(90'000));
  ASSERT_EQ((*wf)->escalation.size(), 1u);
  EXPECT_EQ((*wf)->escalation[0].after, Millis(90'000));
}

TEST(ParseEscalation, Levels) {
  auto wf =
      parse(plus("escalation:\n  - {after: 3m, notify: owner}\n"
                 "  - {after: 15m, notify: ops-leads}\n"));
  ASSERT_TRUE(wf.ok()) << wf.error().toString();
  ASSERT_EQ((*wf)->escalation.size(), 2u);
  EXPECT_EQ((*wf)->escalation[1].after, Millis(15 * 60 * 1000));
  EXPECT_EQ((*wf)->escalation[1].notify, "ops-leads");
  EXPECT_NE(explainWorkflow(**wf).find("then channel ops-leads at 15m"), std::string::npos)
      << explainWorkflow(**wf);
}

TEST(ParseEscalation, RefusesWhatCannotWork) {
  EXPECT_TRUE(hasProblem(plus("escalate_after: 0s\n"), 8, 17, "escalate_after"));
  EXPECT_TRUE(hasProblem(plus("escalation: []\n"), 8, 13,
                         "escalation: expected a non-empty list of levels"));
  EXPECT_TRUE(hasProblem(plus("escalation: [{after: 3m}]\n"), 8, 14,
                         "escalation[0]: missing 'notify' (owner, or the name of a channel)"));
  EXPECT_TRUE(
      hasProblem(plus("escalation: [{notify: owner}]\n"), 8, 14, "escalation[0]: missing 'after'"));
  EXPECT_TRUE(hasProblem(plus("escalation: [{after: 3m, notify: 'ops leads'}]\n"), 8, 34,
                         "escalation[0]: notify \"ops leads\" is neither owner nor a valid "
                         "channel name"));
  EXPECT_TRUE(hasProblem(plus("escalation: [{after: 15m, notify: owner}, {after: 3m, notify: "
                              "owner}]\n"),
                         8, 43, "escalation[1]: after 3m must be later than the level before it"));
  EXPECT_TRUE(hasProblem(plus("escalation: [{after: 3m, notify: owner, to: x}]\n"), 8, 41,
                         "unknown key 'to' in escalation[0]"));
}

}  // namespace
}  // namespace keel::spec
