// Applying a file of several workflows: each document its own version, in
// file order, and nothing stored when any document is refused.
#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

class EngineApplyFileTest : public EngineTest {
 protected:
  Result<std::vector<ApplyResult>> applyFile(const std::string& text) {
    return engine_->applyWorkflows(text, "/etc/keel/chain.yaml").get();
  }
  bool stored(const std::string& name) {
    auto row = store_->getWorkflow(name, 0);
    return row.ok() && row->has_value();
  }
  static std::string after(const std::string& upstream) {
    return "triggers:\n  - after: { workflow: " + upstream +
           " }\nsteps:\n  - { name: s, noop: true }\n";
  }
  static constexpr const char* kSteps = "steps:\n  - { name: s, noop: true }\n";
};

TEST_F(EngineApplyFileTest, EachDocumentIsAVersionOfItsOwnInFileOrder) {
  std::string second = "---\n" + workflow("b", after("a"));
  std::string third = "--- # the last one\n" + workflow("c", after("b"));
  std::string file = "# a chain\n" + workflow("a", kSteps) + second + third;
  auto applied = applyFile(file);
  ASSERT_TRUE(applied.ok()) << applied.error().toString();
  ASSERT_EQ(applied->size(), 3u);
  EXPECT_EQ((*applied)[0].workflow.name, "a");
  EXPECT_EQ((*applied)[1].workflow.name, "b");
  EXPECT_EQ((*applied)[2].workflow.name, "c");
  for (const auto& r : *applied) {
    EXPECT_TRUE(r.changed);
    // b and c name workflows of the same file: not "does not exist yet".
    EXPECT_TRUE(r.warnings.empty()) << r.warnings[0];
  }
  // Each version holds its own document's text.
  auto b = store_->getWorkflow("b", 0);
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->yaml, second);
  EXPECT_EQ((*b)->workdir, "/etc/keel");
  auto a = store_->getWorkflow("a", 0);
  EXPECT_EQ((*a)->yaml, "# a chain\n" + workflow("a", kSteps));

  // The same file again: nothing new.
  auto again = applyFile(file);
  ASSERT_TRUE(again.ok()) << again.error().toString();
  for (const auto& r : *again) {
    EXPECT_FALSE(r.changed) << r.workflow.name;
    EXPECT_EQ(r.workflow.version, 1);
  }
}

TEST_F(EngineApplyFileTest, OneInvalidDocumentStoresNothingAndIsNamedWithItsLine) {
  std::string first = workflow("a", kSteps);  // 5 lines
  std::string bad = workflow("b", "steps:\n  - { name: s, run: echo, timeout: 1x }\n");
  auto applied = applyFile(first + "---\n" + bad);  // '---' is line 6, the step line 11
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.error().code(), ErrorCode::kInvalidArgument);
  const auto& message = applied.error().message();
  EXPECT_NE(message.find("/etc/keel/chain.yaml, document 2 of 2 (from line 6)"), std::string::npos)
      << message;
  EXPECT_NE(message.find("nothing from the file was applied"), std::string::npos) << message;
  ASSERT_EQ(applied.error().details().size(), 1u);
  EXPECT_EQ(applied.error().details()[0].rfind("/etc/keel/chain.yaml:11:", 0), 0u)
      << applied.error().details()[0];
  EXPECT_FALSE(stored("a"));
  EXPECT_FALSE(stored("b"));
}

TEST_F(EngineApplyFileTest, ACycleBetweenDocumentsStoresNothing) {
  auto applied = applyFile(workflow("a", after("b")) + "---\n" + workflow("b", after("a")));
  ASSERT_FALSE(applied.ok());
  EXPECT_NE(applied.error().message().find("document 2 of 2"), std::string::npos);
  EXPECT_NE(applied.error().message().find("after-trigger cycle: b -> a -> b"), std::string::npos)
      << applied.error().message();
  EXPECT_FALSE(stored("a"));
  EXPECT_FALSE(stored("b"));
}

TEST_F(EngineApplyFileTest, TwoDocumentsWithOneNameAreRefused) {
  auto applied = applyFile(workflow("a", kSteps) + "---\n" + workflow("a", kSteps));
  ASSERT_FALSE(applied.ok());
  EXPECT_NE(applied.error().message().find("workflow 'a' is also document 1 (from line 1)"),
            std::string::npos)
      << applied.error().message();
  EXPECT_FALSE(stored("a"));
}

TEST_F(EngineApplyFileTest, AFileOfOneDocumentIsAppliedAsBefore) {
  std::string text = "---\n" + workflow("a", kSteps) + "...\n# end\n";
  auto applied = applyFile(text);
  ASSERT_TRUE(applied.ok()) << applied.error().toString();
  ASSERT_EQ(applied->size(), 1u);
  EXPECT_EQ((*store_->getWorkflow("a", 0))->yaml, text);
}

}  // namespace
}  // namespace keel::engine::test
