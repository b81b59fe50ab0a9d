// `approval:` steps: parsed, explained, and refused with the place and the
// reason when wrong.
#include <gtest/gtest.h>

#include "spec/spec_test_util.h"

namespace keel::spec {
namespace {

using testing::anyProblemHas;
using testing::hasProblem;
using testing::plus;

// Lines 8-14.
constexpr const char* kGoLive = R"(  - name: go-live
    needs: [a]
    approval:
      approvers: [ops-leads, alice]
      timeout: 4h
      on_timeout: approve
      message: "Load {{ params.date }} into production?"
params: { date: }
)";

TEST(ParseApproval, TheApprovalKindIsParsed) {
  auto spec = testing::parse(plus(kGoLive));
  ASSERT_TRUE(spec.ok()) << spec.error().toString();
  const auto& s = (*spec)->steps[1];
  EXPECT_EQ(s.kind, StepKind::kApproval);
  EXPECT_EQ(toString(s.kind), "approval");
  EXPECT_EQ(s.approval.approvers, (std::vector<std::string>{"ops-leads", "alice"}));
  EXPECT_EQ(s.approval.timeout, std::chrono::hours(4));
  EXPECT_TRUE(s.approval.approveOnTimeout);
  EXPECT_EQ(s.approval.message, "Load {{ params.date }} into production?");
  EXPECT_FALSE(s.timeout.has_value());
}

TEST(ParseApproval, OnTimeoutDefaultsToFailAndOneApproverMayBeAString) {
  auto spec = testing::parse(plus("  - { name: b, approval: { approvers: ops, timeout: 30m } }\n"));
  ASSERT_TRUE(spec.ok()) << spec.error().toString();
  const auto& s = (*spec)->steps[1];
  EXPECT_FALSE(s.approval.approveOnTimeout);
  EXPECT_EQ(s.approval.approvers, std::vector<std::string>{"ops"});
  EXPECT_EQ(s.approval.message, "");
}

TEST(ParseApproval, MissingOrBadFieldsAreRefusedWithTheirPlace) {
  EXPECT_TRUE(hasProblem(plus("  - { name: b, approval: { timeout: 1h } }\n"), 8, 26,
                         "`approvers` is required"));
  EXPECT_TRUE(hasProblem(plus("  - { name: b, approval: { approvers: [x] } }\n"), 8, 26,
                         "`timeout` is required"));
  EXPECT_TRUE(hasProblem(plus("  - { name: b, approval: { approvers: [], timeout: 1h } }\n"), 8, 39,
                         "at least one"));
  EXPECT_TRUE(anyProblemHas(
      plus("  - { name: b, approval: { approvers: [x], timeout: 1h, on_timeout: maybe } }\n"),
      "on_timeout"));
  EXPECT_TRUE(anyProblemHas(plus("  - { name: b, approval: { approvers: [x], timeout: soon } }\n"),
                            "timeout"));
  EXPECT_TRUE(
      anyProblemHas(plus("  - { name: b, approval: { approvers: [x], timeout: 1h, who: me } }\n"),
                    "approval.who"));
  EXPECT_TRUE(hasProblem(plus("  - { name: b, approval: yes }\n"), 8, 26, "expected a mapping"));
  EXPECT_TRUE(anyProblemHas(plus("  - { name: b, approval: { approvers: [x, x], timeout: 1h } }\n"),
                            "listed twice"));
}

TEST(ParseApproval, ItIsExclusiveWithOtherKindsAndRefusesRetryAndTimeout) {
  EXPECT_TRUE(anyProblemHas(
      plus("  - { name: b, noop: true, approval: { approvers: [x], timeout: 1h } }\n"),
      "more than one kind (noop, approval)"));
  EXPECT_TRUE(hasProblem(
      plus("  - { name: b, approval: { approvers: [x], timeout: 1h }, retry: { max_attempts: 2 } "
           "}\n"),
      8, 59, "never retried"));
  EXPECT_TRUE(
      hasProblem(plus("  - { name: b, approval: { approvers: [x], timeout: 1h }, timeout: 2h }\n"),
                 8, 59, "approval.timeout"));
}

TEST(ParseApproval, TheMessageIsACheckedTemplate) {
  EXPECT_TRUE(anyProblemHas(plus("  - { name: b, approval: { approvers: [x], timeout: 1h, "
                                 "message: \"{{ params.nope }}\" } }\nparams: { date: }\n"),
                            "no param 'nope'"));
}

TEST(ParseApproval, ExplainShowsTheApprovers) {
  auto spec = testing::parse(plus(kGoLive));
  ASSERT_TRUE(spec.ok()) << spec.error().toString();
  std::string text = explainWorkflow(**spec);
  EXPECT_NE(text.find("approval: by ops-leads, alice within 4h, on timeout approve"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("any admin token may decide"), std::string::npos) << text;
  EXPECT_NE(text.find("message: Load {{ params.date }} into production?"), std::string::npos);
}

}  // namespace
}  // namespace keel::spec
