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

TEST(GatesTest, AConcurrencyKeyAtItsLimitHoldsAndNamesItsHolders) {
  GateChain gates = defaultStepGates();
  auto run = stepOf(spec::StepKind::kRun);
  ConcurrencySlots full{"eu", 1, false, {"01A"}, 0};
  GateDecision held = gates.check(GateInput{run, true, false, 0, 4, &full});
  EXPECT_FALSE(held.admit);
  EXPECT_EQ(held.kind, "concurrency");
  EXPECT_EQ(held.reason, "concurrency key 'eu' is at its limit of 1, held by run 01A");
  ConcurrencySlots many{"eu", 4, false, {"01A", "01B", "01C", "01D"}, 0};
  EXPECT_EQ(gates.check(GateInput{run, true, false, 0, 4, &many}).reason,
            "concurrency key 'eu' is at its limit of 4, held by runs 01A, 01B, 01C and 1 more");
  ConcurrencySlots mine{"eu", 1, true, {"01A"}, 0};
  EXPECT_TRUE(gates.check(GateInput{run, true, false, 0, 4, &mine}).admit)
      << "the run holding the slot is held by its own key";
  ConcurrencySlots free{"eu", 2, false, {"01A"}, 0};
  EXPECT_TRUE(gates.check(GateInput{run, true, false, 0, 4, &free}).admit);
}

TEST(GatesTest, ARunWaitingBehindOthersDoesNotTakeTheirFreeSlot) {
  GateChain gates = defaultStepGates();
  auto run = stepOf(spec::StepKind::kRun);
  ConcurrencySlots behind{"eu", 2, false, {"01A"}, 1};
  GateDecision held = gates.check(GateInput{run, true, false, 0, 4, &behind});
  EXPECT_FALSE(held.admit);
  EXPECT_EQ(held.kind, "concurrency");
  ConcurrencySlots first{"eu", 2, false, {"01A"}, 0};
  EXPECT_TRUE(gates.check(GateInput{run, true, false, 0, 4, &first}).admit);
}

TEST(GatesTest, TheKeyIsCheckedAfterStoppingAndPausedAndBeforeTheStepSlots) {
  GateChain gates = defaultStepGates();
  auto run = stepOf(spec::StepKind::kRun);
  ConcurrencySlots full{"eu", 1, false, {"01A"}, 0};
  EXPECT_EQ(gates.check(GateInput{run, true, true, 4, 4, &full}).kind, "stopping");
  EXPECT_EQ(gates.check(GateInput{run, true, false, 4, 4, &full}).kind, "concurrency");
  ConcurrencySlots open{"eu", 1, false, {}, 0};
  std::vector<std::string> passed;
  GateDecision d = gates.check(GateInput{run, true, false, 4, 4, &open}, &passed);
  EXPECT_EQ(d.kind, "max_parallel");
  EXPECT_EQ(passed, (std::vector<std::string>{"stopping", "paused", "concurrency"}));
}

TEST(GatesTest, APausedRunIsHeldBeforeItsConcurrencyKeyAndItsSlots) {
  GateChain gates = defaultStepGates();
  auto noop = stepOf(spec::StepKind::kNoop);
  auto run = stepOf(spec::StepKind::kRun);
  std::string why = "workflow w paused by alice: deploy";
  ConcurrencySlots full{"k", 1, false, {"R1"}, 0};
  GateInput in{run, true, false, 4, 4, &full, &why};
  std::vector<std::string> passed;
  GateDecision held = gates.check(in, &passed);
  EXPECT_FALSE(held.admit);
  EXPECT_EQ(held.kind, "paused");
  EXPECT_EQ(held.reason, why);
  EXPECT_EQ(passed, std::vector<std::string>{"stopping"});  // the key was not asked
  EXPECT_EQ(gates.check(GateInput{noop, false, false, 0, 4, nullptr, &why}).kind, "paused");
  std::string none;
  EXPECT_TRUE(gates.check(GateInput{noop, false, false, 0, 4, nullptr, &none}).admit);
}

}  // namespace
}  // namespace keel::engine
