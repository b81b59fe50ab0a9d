#include "triggers/after_trigger.h"

#include <gtest/gtest.h>

namespace keel::triggers {
namespace {

using nlohmann::json;

spec::WorkflowSpec workflowAfter(const std::string& name, std::vector<std::string> upstreams) {
  spec::WorkflowSpec w;
  w.name = name;
  for (auto& u : upstreams) {
    spec::TriggerSpec t;
    t.kind = spec::TriggerSpec::Kind::kAfter;
    t.afterWorkflow = u;
    w.triggers.push_back(t);
  }
  return w;
}

TEST(AfterTrigger, StatesMatchTheirEndAndFinishedMatchesAny) {
  EXPECT_TRUE(afterStateMatches("succeeded", "succeeded"));
  EXPECT_FALSE(afterStateMatches("succeeded", "failed"));
  EXPECT_TRUE(afterStateMatches("failed", "failed"));
  EXPECT_FALSE(afterStateMatches("failed", "cancelled"));  // cancelled is not failed
  for (const char* end : {"succeeded", "failed", "cancelled"})
    EXPECT_TRUE(afterStateMatches("finished", end)) << end;
}

TEST(AfterTrigger, RendersUpstreamParams) {
  spec::TriggerSpec t;
  t.kind = spec::TriggerSpec::Kind::kAfter;
  t.params = {{"id", "{{ upstream.run_id }}"},
              {"from", "{{upstream.workflow}}/{{ upstream.state }}"},
              {"path", "{{ upstream.steps.fetch.output.path }}"},
              {"first", "{{ upstream.steps.fetch.output.rows.0 }}"}};
  UpstreamEnd end{
      "r1", "fetcher", "succeeded", {{"fetch", json{{"path", "/d/x.csv"}, {"rows", {7, 8}}}}}};
  auto p = renderAfterParams(t, end);
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(
      *p,
      (json{{"id", "r1"}, {"from", "fetcher/succeeded"}, {"path", "/d/x.csv"}, {"first", "7"}}));
  t.params = {{"p", "{{ upstream.steps.other.output.x }}"}};
  auto bad = renderAfterParams(t, end);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("trigger param 'p'"), std::string::npos);
  EXPECT_NE(bad.error().message().find("no output from step 'other'"), std::string::npos)
      << bad.error().message();
}

TEST(AfterTrigger, KeyAndStartedMessageRoundTrip) {
  EXPECT_EQ(afterRunKey("r1", "load", 2), "after:r1:load:2");
  std::string m = afterStartedMessage("r9", "load-all", 2);
  EXPECT_EQ(m, "started run r9 of workflow load-all (after-trigger 3)");
  auto back = parseAfterStarted(m);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->first, "load-all");
  EXPECT_EQ(back->second, 2u);
  EXPECT_FALSE(parseAfterStarted("started run r9"));
  EXPECT_FALSE(parseAfterStarted("started run r9 of workflow x (after-trigger 0)"));
  EXPECT_FALSE(parseAfterStarted("started run r9 of workflow x (after-trigger a)"));
}

TEST(AfterTrigger, FindsCyclesAgainstTheOtherWorkflows) {
  auto self = workflowAfter("a", {"a"});
  auto c = findAfterCycle(self, {});
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, (std::vector<std::string>{"a", "a"}));

  auto a = workflowAfter("a", {"b"});
  auto b = workflowAfter("b", {"a"});
  c = findAfterCycle(a, {&b});
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, (std::vector<std::string>{"a", "b", "a"}));

  // a after c, c after b, b after a: a -> b -> c -> a.
  auto a3 = workflowAfter("a", {"c"});
  auto c3 = workflowAfter("c", {"b"});
  c = findAfterCycle(a3, {&b, &c3});
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, (std::vector<std::string>{"a", "b", "c", "a"}));

  // A chain and a diamond are no cycles; an older version of `a` is ignored.
  auto oldA = workflowAfter("a", {"b"});
  auto d = workflowAfter("d", {"b", "c"});
  EXPECT_FALSE(findAfterCycle(workflowAfter("a", {"x"}), {&b, &c3, &d, &oldA}));
  EXPECT_FALSE(findAfterCycle(workflowAfter("a", {}), {&b}));
}

}  // namespace
}  // namespace keel::triggers
