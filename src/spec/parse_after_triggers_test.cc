// After triggers: params parsed; upstream.* allowed only in an after
// trigger's params, and only upstream.* there; no "not fired" warning.
#include <gtest/gtest.h>

#include "spec/parser.h"
#include "spec/spec_test_util.h"

namespace keel::spec {
namespace {

using testing::kMinimal;
using testing::problemsOf;

using testing::anyProblemHas;
using testing::plus;

TEST(AfterTriggers, ParamsAreParsedAndTheyAreFired) {
  auto spec = testing::parse(plus(R"(triggers:
  - after: { workflow: fetch, state: finished }
    params:
      path: "{{ upstream.steps.get.output.path }}"
      from: "{{ upstream.run_id }} {{ upstream.workflow }} {{ upstream.state }}"
)"));
  ASSERT_TRUE(spec.ok()) << spec.error().toString();
  const auto& t = (*spec)->triggers.at(0);
  EXPECT_EQ(t.kind, TriggerSpec::Kind::kAfter);
  EXPECT_EQ(t.afterWorkflow, "fetch");
  EXPECT_EQ(t.afterState, "finished");
  EXPECT_EQ(t.params.at("path"), "{{ upstream.steps.get.output.path }}");
  for (const auto& w : checkRunnable(**spec, "f.yaml").warnings)
    EXPECT_EQ(w.find("trigger is stored but not fired"), std::string::npos) << w;
}

TEST(AfterTriggers, UpstreamReferencesAreCheckedWhereTheyAppear) {
  EXPECT_TRUE(anyProblemHas(plus("    env: { X: \"{{ upstream.run_id }}\" }\n"),
                            "upstream.* can be used only in the params: of an after trigger"));
  EXPECT_TRUE(anyProblemHas(plus(R"(triggers:
  - event: t
    params: { p: "{{ upstream.run_id }}" }
)"),
                            "a trigger's params can use only event.id"));
  EXPECT_TRUE(anyProblemHas(plus(R"(triggers:
  - after: { workflow: up }
    params: { p: "{{ event.id }}" }
)"),
                            "event.* can be used only in the params: of an event trigger"));
  EXPECT_TRUE(anyProblemHas(plus(R"(triggers:
  - after: { workflow: up }
    params: { p: "{{ params.x }}" }
)"),
                            "an after trigger's params can use only upstream.run_id"));
  for (const char* bad : {"upstream", "upstream.id", "upstream.steps.a", "upstream.steps.a.out"})
    EXPECT_TRUE(anyProblemHas(plus(std::string("triggers:\n  - after: { workflow: up }\n"
                                               "    params: { p: \"{{ ") +
                                   bad + " }}\" }\n"),
                              "use upstream.run_id, upstream.workflow, upstream.state"))
        << bad;
  EXPECT_TRUE(anyProblemHas(plus("triggers:\n  - after: { workflow: up }\n    match: { a: b }\n"),
                            "match"));
}

}  // namespace
}  // namespace keel::spec
