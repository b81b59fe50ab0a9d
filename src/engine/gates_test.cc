#include "engine/gates.h"

#include <gtest/gtest.h>

namespace keel::engine {
namespace {

spec::StepSpec stepOf(spec::StepKind kind) {
  spec::StepSpec s;
  s.name = "a";
  s.kind = kind;
  return s;
}

TEST(GatesTest, ARunStepIsHeldWhileEverySlotIsBusyAndOtherKindsAreNot) {
  GateChain gates = defaultStepGates();
  auto run = stepOf(spec::StepKind::kRun);
  auto sleep = stepOf(spec::StepKind::kSleep);
  GateDecision held = gates.check(GateInput{run, true, false, 4, 4});
  EXPECT_FALSE(held.admit);
  EXPECT_EQ(held.kind, "max_parallel");
  EXPECT_EQ(held.reason, "queued: all 4 step slots are busy");
  EXPECT_FALSE(held.until.has_value());
  EXPECT_TRUE(gates.check(GateInput{run, true, false, 3, 4}).admit);
  EXPECT_TRUE(gates.check(GateInput{sleep, false, false, 4, 4}).admit);
}

TEST(GatesTest, StoppingIsCheckedBeforeTheSlotsAndHoldsOnlyStepsWithARunner) {
  GateChain gates = defaultStepGates();
  auto run = stepOf(spec::StepKind::kRun);
  auto noop = stepOf(spec::StepKind::kNoop);
  GateDecision held = gates.check(GateInput{run, true, true, 4, 4});
  EXPECT_FALSE(held.admit);
  EXPECT_EQ(held.kind, "stopping");
  EXPECT_EQ(held.reason, "queued: keel is stopping");
  EXPECT_TRUE(gates.check(GateInput{noop, false, true, 0, 4}).admit);
}

TEST(GatesTest, TheFirstGateThatHoldsDecides) {
  int secondCalls = 0;
  GateChain gates({{"first", [](const GateInput&) { return GateDecision::hold("first", "one"); }},
                   {"second", [&](const GateInput&) {
                      ++secondCalls;
                      return GateDecision::hold("second", "two");
                    }}});
  auto run = stepOf(spec::StepKind::kRun);
  GateDecision d = gates.check(GateInput{run, true, false, 0, 1});
  EXPECT_EQ(d.kind, "first");
  EXPECT_EQ(secondCalls, 0);
  EXPECT_TRUE(GateChain().check(GateInput{run, true, false, 0, 1}).admit);
}

}  // namespace
}  // namespace keel::engine
