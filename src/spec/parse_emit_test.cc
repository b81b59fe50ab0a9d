// `emit:` on steps and `on_end:` on workflows: parsed, and refused with
// the place and the reason when wrong.
#include <gtest/gtest.h>

#include "spec/spec_test_util.h"

namespace keel::spec {
namespace {

using testing::anyProblemHas;
using testing::plus;

constexpr const char* kEmitting = R"(name: wf
owner: { team: t, contact: t@example.com }
runbook: https://wiki.example.com/rb
params: { region: { default: eu } }
steps:
  - name: a
    run: "true"
    timeout: 1m
    emit: { topic: loads.done, payload: { rows: "{{ steps.a.output.rows }}", r: "{{ params.region }}" } }
  - { name: b, noop: true, needs: [a], emit: b.done }
on_end:
  - state: failed
    emit: { topic: runs.failed, payload: { run: "{{ run.id }}", rows: "{{ steps.a.output.rows }}" } }
)";

TEST(ParseEmit, StepsAndOnEndEmitAreParsed) {
  auto spec = testing::parse(kEmitting);
  ASSERT_TRUE(spec.ok()) << spec.error().toString();
  const auto& a = (*spec)->steps[0];
  ASSERT_TRUE(a.emit.has_value());
  EXPECT_EQ(a.emit->topic, "loads.done");
  EXPECT_EQ(a.emit->payload["r"], "{{ params.region }}");
  ASSERT_TRUE((*spec)->steps[1].emit.has_value());
  EXPECT_EQ((*spec)->steps[1].emit->payload, nlohmann::json::object());
  ASSERT_EQ((*spec)->onEnd.size(), 1u);
  EXPECT_EQ((*spec)->onEnd[0].state, "failed");
  EXPECT_EQ((*spec)->onEnd[0].emit.topic, "runs.failed");
}

TEST(ParseEmit, BadEmitsAreRefusedWithTheirPlace) {
  EXPECT_TRUE(anyProblemHas(plus("    emit: \"bad topic\"\n"), "topic \"bad topic\" is invalid"));
  EXPECT_TRUE(anyProblemHas(plus("    emit: { payload: {} }\n"), "`topic` is required"));
  EXPECT_TRUE(anyProblemHas(plus("    emit: { topic: t, payload: [1] }\n"), "expected a mapping"));
  EXPECT_TRUE(anyProblemHas(plus("    emit: { topic: t, extra: 1 }\n"), "extra"));
  EXPECT_TRUE(
      anyProblemHas(plus("    emit: { topic: t, payload: { x: \"{{ steps.nope.output }}\" } }\n"),
                    "no step named 'nope'"));
  EXPECT_TRUE(anyProblemHas(plus("    emit: { topic: t, payload: { x: \"{{ event.id }}\" } }\n"),
                            "event.* can be used only"));
  EXPECT_TRUE(anyProblemHas(plus("on_end:\n  - { state: done, emit: t }\n"), "state"));
  EXPECT_TRUE(anyProblemHas(plus("on_end:\n  - { state: failed }\n"), "`emit` is required"));
  EXPECT_TRUE(anyProblemHas(plus("on_end: t\n"), "on_end: expected a list"));
}

}  // namespace
}  // namespace keel::spec
