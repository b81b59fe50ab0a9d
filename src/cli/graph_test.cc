// The step-graph renderers of `keel show --graph` and `--dot`, on the API's
// run JSON: layers by dependency depth, a diamond, unknown needs, and DOT
// quoting of a name that needs escaping.
#include "cli/graph.h"

#include <gtest/gtest.h>

namespace keel::cli {
namespace {

using nlohmann::json;

json step(const std::string& name, const std::string& state, json needs) {
  return {{"name", name}, {"state", state}, {"needs", std::move(needs)}};
}

json diamond() {
  return {
      {"id", "01KA0000000000000000000003"},
      {"steps",
       {step("extract", "succeeded", json::array()), step("load", "pending", {"clean", "enrich"}),
        step("clean", "running", {"extract"}), step("enrich", "failed", {"extract"})}}};
}

TEST(GraphTest, ADiamondIsDrawnInLayersWithItsNeeds) {
  EXPECT_EQ(renderGraph(diamond()),
            "extract   succeeded\n"
            "  clean   running    <- extract\n"
            "  enrich  failed     <- extract\n"
            "    load  pending    <- clean, enrich\n");
}

TEST(GraphTest, UnknownNeedsAndNamesOutsideTheRunDoNotBreakTheLayers) {
  json run = {{"id", "r"},
              {"steps",
               {step("a", "succeeded", nullptr), step("b", "pending", {"a", "gone"}),
                step("c", "pending", {"c"})}}};  // a cycle keel would refuse
  EXPECT_EQ(renderGraph(run),
            "a    succeeded  <- ?\n"
            "  b  pending    <- a, gone\n"
            "  c  pending    <- c\n");
  EXPECT_EQ(renderGraph(json::object()), "");
}

TEST(GraphTest, TwentyStepsInAChainIndentOneLevelEach) {
  json steps = json::array();
  for (int i = 0; i < 20; ++i)
    steps.push_back(step("s" + std::to_string(i), "pending",
                         i == 0 ? json::array() : json{"s" + std::to_string(i - 1)}));
  std::string g = renderGraph({{"id", "r"}, {"steps", steps}});
  EXPECT_NE(g.find("\n" + std::string(38, ' ') + "s19  pending  <- s18\n"), std::string::npos) << g;
}

TEST(GraphTest, DotHasANodePerStepColouredByStateAndAnEdgePerNeed) {
  EXPECT_EQ(renderDot(diamond()),
            "digraph \"run 01KA0000000000000000000003\" {\n"
            "  rankdir=LR;\n"
            "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n"
            "  \"extract\" [label=\"extract\\nsucceeded\", fillcolor=\"palegreen\"];\n"
            "  \"clean\" [label=\"clean\\nrunning\", fillcolor=\"lightskyblue\"];\n"
            "  \"enrich\" [label=\"enrich\\nfailed\", fillcolor=\"salmon\"];\n"
            "  \"load\" [label=\"load\\npending\", fillcolor=\"white\"];\n"
            "  \"extract\" -> \"clean\";\n"
            "  \"extract\" -> \"enrich\";\n"
            "  \"clean\" -> \"load\";\n"
            "  \"enrich\" -> \"load\";\n"
            "}\n");
}

TEST(GraphTest, DotQuotesAndEscapesEveryId) {
  EXPECT_EQ(dotQuote("plain"), "\"plain\"");
  EXPECT_EQ(dotQuote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
  json run = {{"id", "r"},
              {"steps",
               {step("say \"hi\" \\", "succeeded", json::array()),
                step("next", "pending", {"say \"hi\" \\"})}}};
  const std::string dot = renderDot(run);
  EXPECT_NE(dot.find("  \"say \\\"hi\\\" \\\\\" -> \"next\";\n"), std::string::npos) << dot;
  EXPECT_NE(dot.find("[label=\"say \\\"hi\\\" \\\\\\nsucceeded\""), std::string::npos) << dot;
}

}  // namespace
}  // namespace keel::cli
