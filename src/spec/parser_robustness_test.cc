// parseWorkflow must never throw or crash, whatever it is given: every
// prefix of a valid workflow, byte flips, hostile YAML, oversize input.
#include <gtest/gtest.h>

#include "core/random.h"
#include "spec/spec_test_util.h"

namespace keel::spec {
namespace {

using testing::kPlanningFeed;
using testing::parse;

// Every outcome is fine as long as it is a value; an error must carry details
// in the FILE:LINE:COL form.
void expectWellFormed(std::string_view yaml) {
  Result<std::shared_ptr<const WorkflowSpec>> r = Error(ErrorCode::kInternal, "not run");
  ASSERT_NO_THROW(r = parse(yaml)) << yaml;
  if (r.ok()) {
    ASSERT_TRUE(*r != nullptr);
    (void)explainWorkflow(**r);
    return;
  }
  ASSERT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << r.error().toString();
  ASSERT_FALSE(r.error().details().empty()) << r.error().toString();
  for (const auto& d : r.error().details()) {
    ASSERT_TRUE(d.starts_with("f.yaml:")) << d;
    ASSERT_NE(d.find(": ", 7), std::string::npos) << d;
  }
}

TEST(ParserRobustness, EveryPrefixOfAValidWorkflow) {
  for (size_t n = 0; n <= kPlanningFeed.size(); ++n) expectWellFormed(kPlanningFeed.substr(0, n));
}

TEST(ParserRobustness, EverySuffixOfAValidWorkflow) {
  for (size_t n = 0; n <= kPlanningFeed.size(); n += 3) expectWellFormed(kPlanningFeed.substr(n));
}

TEST(ParserRobustness, RandomByteMutations) {
  SeededRandom rnd(20260101);
  const std::string interesting = "{}[]:,-&*!|>'\"%@`#?\n\t {{}}0x";
  for (int i = 0; i < 3000; ++i) {
    std::string text(kPlanningFeed);
    int edits = 1 + static_cast<int>(rnd.next64() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = rnd.next64() % text.size();
      switch (rnd.next64() % 4) {
        case 0:
          text[at] = static_cast<char>(rnd.next64() % 256);
          break;
        case 1:
          text[at] = interesting[rnd.next64() % interesting.size()];
          break;
        case 2:
          text.erase(at, 1 + rnd.next64() % 8);
          break;
        default:
          text.insert(at, 1, interesting[rnd.next64() % interesting.size()]);
      }
      if (text.empty()) text = "x";
    }
    expectWellFormed(text);
  }
}

TEST(ParserRobustness, HostileYaml) {
  expectWellFormed(std::string(5000, '[') + std::string(5000, ']'));
  expectWellFormed(std::string(5000, '{'));
  // An alias that contains itself, and an alias bomb, in the http block.
  std::string base(testing::kMinimal);
  expectWellFormed(base +
                   "  - name: b\n    timeout: 1s\n    http: &h {url: \"http://x\", json: *h}\n");
  std::string bomb = base +
                     "  - name: b\n    timeout: 1s\n    http:\n      url: \"http://x\"\n"
                     "      json:\n        l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n";
  for (int i = 1; i < 9; ++i) {
    std::string prev = "*l" + std::to_string(i - 1);
    bomb += "        l" + std::to_string(i) + ": &l" + std::to_string(i) + " [" + prev + ", " +
            prev + ", " + prev + ", " + prev + ", " + prev + ", " + prev + ", " + prev + ", " +
            prev + ", " + prev + ", " + prev + "]\n";
  }
  auto r = parse(bomb);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().toString().find("too large"), std::string::npos) << r.error().toString();
  expectWellFormed("? [a, b]\n: c\n");
  expectWellFormed("name: wf\nsteps:\n  - ? {a: 1}\n    : x\n");
  expectWellFormed(std::string("name: \0wf\n", 10));
  expectWellFormed("\xEF\xBB\xBFname: wf\n");
  expectWellFormed("!!binary aGVsbG8=\n");
  expectWellFormed("name: &a wf\nnamespace: *a\nsteps: *b\n");
  expectWellFormed("%YAML 1.2\n---\nname: wf\n...\n");
  expectWellFormed(std::string(kPlanningFeed) + "\t\n");
}

TEST(ParserRobustness, ManyStepsInAChainStayFast) {
  std::string yaml = "name: wf\nowner: {team: t}\nrunbook: https://x/rb\nsteps:\n";
  for (int i = 0; i < 5000; ++i) {
    yaml += "  - name: s" + std::to_string(i) + "\n    noop: true\n";
    if (i > 0) yaml += "    needs: s" + std::to_string(i - 1) + "\n";
  }
  yaml +=
      "  - name: last\n    run: echo {{ steps.s0.output }}\n    timeout: 1s\n    needs: s4999\n";
  auto r = parse(yaml);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_EQ((*r)->steps.size(), 5001u);
}

TEST(ParserRobustness, OversizeInputIsRefusedWithSizeAndLimit) {
  std::string big(kMaxWorkflowBytes + 1, '#');
  auto r = parse(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kTooLarge);
  EXPECT_NE(r.error().message().find(std::to_string(kMaxWorkflowBytes + 1) + " bytes"),
            std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("limit is " + std::to_string(kMaxWorkflowBytes)),
            std::string::npos)
      << r.error().message();
  // Exactly at the limit is read (and here found empty).
  auto atLimit = parse(std::string(kMaxWorkflowBytes, '#'));
  ASSERT_FALSE(atLimit.ok());
  EXPECT_EQ(atLimit.error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace keel::spec
