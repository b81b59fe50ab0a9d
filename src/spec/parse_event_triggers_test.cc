// Event triggers: topic, match and params parsed; event.* allowed only in
// a trigger's params, and only event.* there.
#include <gtest/gtest.h>

#include "spec/parser.h"
#include "spec/spec_test_util.h"

namespace keel::spec {
namespace {

using testing::kMinimal;
using testing::problemsOf;

std::string plus(std::string_view extra) { return std::string(kMinimal) + std::string(extra); }

bool anyProblemHas(const std::string& yaml, std::string_view fragment) {
  for (const auto& p : problemsOf(yaml))
    if (p.find(fragment) != std::string::npos) return true;
  return false;
}

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

TEST(EventTriggers, OtherTriggerKindsStillWarn) {
  auto spec = testing::parse(plus("triggers:\n  - cron: \"0 5 * * *\"\n"));
  ASSERT_TRUE(spec.ok()) << spec.error().toString();
  auto runnable = checkRunnable(**spec, "f.yaml");
  bool warned = false;
  for (const auto& w : runnable.warnings)
    warned = warned ||
             w.find("cron trigger is stored but not fired by this version") != std::string::npos;
  EXPECT_TRUE(warned);
}

}  // namespace
}  // namespace keel::spec
