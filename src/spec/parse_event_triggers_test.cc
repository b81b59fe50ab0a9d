// Event triggers: topic, match and params parsed; event.* allowed only in
// a trigger's params, and only event.* there.
#include <gtest/gtest.h>

#include "spec/parser.h"
#include "spec/spec_test_util.h"

namespace keel::spec {
namespace {

using testing::kMinimal;
using testing::problemsOf;

using testing::anyProblemHas;
using testing::plus;

TEST(EventTriggers, MatchAndParamsAreParsed) {
  auto spec = testing::parse(plus(R"(triggers:
  - event: files.arrived
    match: { region: eu, file.kind: csv }
    params: { path: "{{ event.payload.file.path }}", id: "{{ event.id }}" }
)"));
  ASSERT_TRUE(spec.ok()) << spec.error().toString();
  const auto& t = (*spec)->triggers.at(0);
  EXPECT_EQ(t.kind, TriggerSpec::Kind::kEvent);
  EXPECT_EQ(t.event, "files.arrived");
  EXPECT_EQ(t.match, (std::map<std::string, std::string>{{"file.kind", "csv"}, {"region", "eu"}}));
  EXPECT_EQ(t.params.at("path"), "{{ event.payload.file.path }}");
  auto runnable = checkRunnable(**spec, "f.yaml");
  for (const auto& w : runnable.warnings)
    EXPECT_EQ(w.find("trigger is stored but not fired"), std::string::npos) << w;
}

TEST(EventTriggers, EventReferencesAreRefusedOutsideTriggerParams) {
  EXPECT_TRUE(anyProblemHas(plus("    env: { X: \"{{ event.id }}\" }\n"),
                            "event.* can be used only in the params: of an event trigger"));
  EXPECT_TRUE(anyProblemHas(plus(R"(triggers:
  - event: t
    params: { p: "{{ params.x }}" }
)"),
                            "a trigger's params can use only event.id, event.topic"));
  EXPECT_TRUE(anyProblemHas(plus(R"(triggers:
  - event: t
    params: { p: "{{ event.nope }}" }
)"),
                            "use event.id, event.topic, event.payload"));
  EXPECT_TRUE(anyProblemHas(plus("triggers:\n  - event: \"bad topic\"\n"), "not a valid topic"));
  EXPECT_TRUE(anyProblemHas(plus("triggers:\n  - event: t\n    match: { a: [1] }\n"),
                            "trigger: match.a: expected a value"));
}

// Apply refuses a cron no calendar date matches; a stored version with one
// still parses. Feb 29 fires, and so does day 31 with a weekday restricted
// too (the two fields combine with OR).
TEST(CronTriggers, ACronThatNeverFiresIsRefusedAtApply) {
  auto problemsOfCron = [](const std::string& cron) {
    auto spec = testing::parse(plus("triggers:\n  - cron: \"" + cron + "\"\n"));
    EXPECT_TRUE(spec.ok()) << cron;
    return spec.ok() ? checkRunnable(**spec, "f.yaml").problems : std::vector<std::string>{};
  };
  auto never = problemsOfCron("0 0 30 2 *");
  ASSERT_EQ(never.size(), 1u);
  EXPECT_EQ(never[0],
            "f.yaml:9:5: cron trigger \"0 0 30 2 *\" never fires: no calendar date has that day "
            "of the month in those months");
  EXPECT_EQ(problemsOfCron("0 0 31 apr,jun,sep,nov *").size(), 1u);
  EXPECT_TRUE(problemsOfCron("0 0 29 2 *").empty());
  EXPECT_TRUE(problemsOfCron("0 0 31 2 mon").empty());
}

// Cron triggers: misfire defaults to run_once, catch_up_limit and params
// (schedule.* only) are parsed; they fire, so no warning, overlap: queue
// included.
TEST(CronTriggers, DefaultsLimitAndScheduleParams) {
  auto spec = testing::parse(plus(R"(triggers:
  - cron: "0 5 * * *"
  - cron: "0 6 * * *"
    misfire: catch_up
    catch_up_limit: 3
    params: { day: "{{ schedule.date }}", at: "{{ schedule.time }}" }
)"));
  ASSERT_TRUE(spec.ok()) << spec.error().toString();
  const auto& t = (*spec)->triggers;
  EXPECT_EQ(t.at(0).misfire, "run_once");
  EXPECT_EQ(t.at(0).overlap, "skip");
  EXPECT_EQ(t.at(0).catchUpLimit, 10);
  EXPECT_EQ(t.at(1).catchUpLimit, 3);
  EXPECT_EQ(t.at(1).params.at("day"), "{{ schedule.date }}");
  auto runnable = checkRunnable(**spec, "f.yaml");
  EXPECT_TRUE(runnable.problems.empty());
  for (const auto& w : runnable.warnings)
    EXPECT_EQ(w.find("trigger is stored but not fired"), std::string::npos) << w;
  auto queued = testing::parse(plus("triggers:\n  - { cron: \"0 5 * * *\", overlap: queue }\n"));
  ASSERT_TRUE(queued.ok());
  EXPECT_EQ((*queued)->triggers.at(0).overlap, "queue");
  auto accepted = checkRunnable(**queued, "f.yaml");
  EXPECT_TRUE(accepted.problems.empty());
  EXPECT_TRUE(accepted.warnings.empty());
}

TEST(CronTriggers, ScheduleReferencesOnlyInCronParams) {
  EXPECT_TRUE(anyProblemHas(plus("triggers:\n  - cron: \"0 5 * * *\"\n"
                                 "    params: { x: \"{{ event.id }}\" }\n"),
                            "can use only schedule.time and schedule.date"));
  EXPECT_TRUE(anyProblemHas(plus("triggers:\n  - cron: \"0 5 * * *\"\n"
                                 "    params: { x: \"{{ schedule.hour }}\" }\n"),
                            "can use only schedule.time and schedule.date"));
  EXPECT_TRUE(anyProblemHas(plus("triggers:\n  - event: t\n"
                                 "    params: { x: \"{{ schedule.date }}\" }\n"),
                            "a trigger's params can use only event.id"));
  EXPECT_TRUE(anyProblemHas(plus("    env: { X: \"{{ schedule.date }}\" }\n"),
                            "schedule.* can be used only in the params: of a cron trigger"));
  EXPECT_TRUE(anyProblemHas(plus("triggers:\n  - { cron: \"0 5 * * *\", catch_up_limit: 0 }\n"),
                            "catch_up_limit"));
}

}  // namespace
}  // namespace keel::spec
