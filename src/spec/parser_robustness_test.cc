// parseWorkflow must never throw or crash, whatever it is given: every
// prefix of a valid workflow, byte flips, hostile YAML, oversize input.
#include <sys/resource.h>

#include <gtest/gtest.h>

#include "core/random.h"
#include "spec/spec_test_util.h"

namespace keel::spec {
namespace {

using testing::hasProblem;
using testing::kPlanningFeed;
using testing::parse;

// The peak resident set of this process so far, in KiB.
long peakRssKb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// Parses `yaml` and checks it is refused with `fragment` at LINE:COL while
// the process's peak memory grows by less than 64 MiB (an expanded bomb
// takes gigabytes).
::testing::AssertionResult refusedCheaply(const std::string& yaml, int line, int col,
                                          std::string_view fragment) {
  long before = peakRssKb();
  auto result = hasProblem(yaml, line, col, fragment);
  long grewKb = peakRssKb() - before;
  if (!result) return result;
  if (grewKb > 64 * 1024)
    return ::testing::AssertionFailure() << "peak memory grew by " << grewKb << " KiB";
  return ::testing::AssertionSuccess();
}

// `depth` nested lists in flow style: [[[...]]].
std::string flowLists(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

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

TEST(ParserLimits, OneAnchorReusedThousandsOfTimesIsRefusedBeforeExpansion) {
  // ~175 KB: a 9,990-value list anchored once and used by 2,000 steps; with
  // every alias expanded that is 20 million values.
  std::string yaml = "name: wf\nowner: {team: t}\nrunbook: https://x/rb\nsteps:\n";
  yaml += "  - name: s0\n    timeout: 1s\n    http: {url: \"http://x\", json: &big [a";
  for (int i = 1; i < 9990; ++i) yaml += ", a";
  yaml += "]}\n";
  for (int i = 1; i <= 2000; ++i)
    yaml += "  - name: s" + std::to_string(i) +
            "\n    timeout: 1s\n    http: {url: \"http://x\", json: *big}\n";
  ASSERT_GT(yaml.size(), 170'000u);
  // The anchor and nine aliases, with their steps' keys, pass 100,000 values
  // at step s9's alias: line 5 + 3 * 9 + 2, column 35.
  EXPECT_TRUE(
      refusedCheaply(yaml, 34, 35, "too large with its aliases expanded: more than 100000 values"));
  auto r = parse(yaml);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

TEST(ParserLimits, NestedAliasBombIsRefused) {
  // Billion laughs: nine levels of ten aliases each to the level below.
  std::string yaml(testing::kMinimal);
  yaml += "x-laughs:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 9; ++i) {
    std::string prev = "*l" + std::to_string(i - 1);
    yaml += "  l" + std::to_string(i) + ": &l" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 10; ++k) yaml += ", " + prev;
    yaml += "]\n";
  }
  // l3 holds 11,111 values, so the eighth alias on l4's line (13) passes
  // 100,000.
  EXPECT_TRUE(refusedCheaply(yaml, 13, 47, "more than 100000 values"));
}

TEST(ParserLimits, TextRepeatedByAliasesIsRefusedPastTheByteLimit) {
  std::string yaml(testing::kMinimal);
  yaml += "    env:\n      A0: &text \"" + std::string(64 * 1024, 'x') + "\"\n";
  for (int i = 1; i < 80; ++i) yaml += "      A" + std::to_string(i) + ": *text\n";
  // The anchor and 63 aliases of 64 KiB, with their keys, pass 4 MiB at
  // A63 (line 9 + 63).
  EXPECT_TRUE(refusedCheaply(yaml, 72, 12, "more than 4194304 bytes of text"));
}

TEST(ParserLimits, AliasInsideItsOwnAnchorIsRefused) {
  std::string yaml(testing::kMinimal);
  yaml += "    env: &e {A: *e}\n";
  EXPECT_TRUE(hasProblem(yaml, 8, 17, "alias refers to the list or mapping that contains it"));
}

TEST(ParserLimits, DeepFlowNestingIsRefusedAtTheFirstLevelPastTheLimit) {
  EXPECT_TRUE(refusedCheaply(flowLists(10'000), 1, 65, "nesting too deep: more than 64 levels"));
  std::string maps;
  for (int i = 0; i < 10'000; ++i) maps += "{a: ";
  maps += "1" + std::string(10'000, '}');
  EXPECT_TRUE(refusedCheaply(maps, 1, 4 * 64 + 1, "nesting too deep"));
}

TEST(ParserLimits, DeepBlockNestingIsRefused) {
  // "- - - x": each "- " opens a list inside the one before.
  std::string lists;
  for (int i = 0; i < 10'000; ++i) lists += "- ";
  EXPECT_TRUE(refusedCheaply(lists + "x\n", 1, 2 * 64 + 1, "nesting too deep"));
  // Mappings indented one more space each level.
  std::string maps;
  for (int i = 0; i < 200; ++i) maps += std::string(i, ' ') + "k:\n";
  EXPECT_TRUE(refusedCheaply(maps, 65, 65, "nesting too deep"));
}

TEST(ParserLimits, DepthReachedThroughAnAliasCounts) {
  // 40 levels anchored at the top, used 40 levels down: 80 once expanded.
  std::string yaml = "a: &deep " + flowLists(40) + "\nb: ";
  for (int i = 0; i < 40; ++i) yaml += "[";
  yaml += "*deep" + std::string(40, ']') + "\n";
  EXPECT_TRUE(hasProblem(yaml, 2, 44, "nesting too deep"));
}

TEST(ParserLimits, NestingAtTheLimitIsRead) {
  // The top mapping, steps, the step and http are 4 levels; json adds 60.
  std::string yaml(testing::kMinimal);
  yaml +=
      "  - name: b\n    timeout: 1s\n    http: {url: \"http://x\", json: " + flowLists(60) + "}\n";
  auto r = parse(yaml);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  yaml = std::string(testing::kMinimal) +
         "  - name: b\n    timeout: 1s\n    http: {url: \"http://x\", json: " + flowLists(61) +
         "}\n";
  EXPECT_TRUE(hasProblem(yaml, 10, 95, "nesting too deep"));
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
