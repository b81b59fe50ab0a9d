// splitDocuments(): where a multi-document file is cut, what each document
// keeps, and that parsing a document at its firstLine reports the file's
// own line numbers.
#include "spec/documents.h"

#include <gtest/gtest.h>

#include "spec/parser.h"

namespace keel::spec {
namespace {

std::vector<std::string> texts(const std::vector<YamlDocument>& docs) {
  std::vector<std::string> out;
  for (const auto& d : docs) out.push_back(d.text);
  return out;
}

TEST(SplitDocuments, OneDocumentIsTheWholeTextUnchanged) {
  for (std::string text : {"name: a\n", "# head\n---\nname: a\n...\n# tail\n", "", "# only\n",
                           "---\n", "name: a\n---\n", "---\n---\nname: a\n"}) {
    auto docs = splitDocuments(text);
    ASSERT_EQ(docs.size(), 1u) << text;
    EXPECT_EQ(docs[0].text, text);
    EXPECT_EQ(docs[0].firstLine, 1);
  }
}

TEST(SplitDocuments, CutsAtColumnZeroMarkersKeepingLines) {
  std::string text =
      "# header\n"     // 1
      "name: a\n"      // 2
      "---\n"          // 3
      "name: b\n"      // 4
      "--- # third\n"  // 5
      "name: c\n";     // 6
  auto docs = splitDocuments(text);
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(texts(docs), (std::vector<std::string>{"# header\nname: a\n", "---\nname: b\n",
                                                   "--- # third\nname: c\n"}));
  EXPECT_EQ(docs[0].firstLine, 1);
  EXPECT_EQ(docs[1].firstLine, 3);
  EXPECT_EQ(docs[2].firstLine, 5);
}

TEST(SplitDocuments, LeadingCommentsStayWithTheFirstDocument) {
  auto docs = splitDocuments("# about this file\n\n---\nname: a\n---\nname: b\n");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].text, "# about this file\n\n---\nname: a\n");
  EXPECT_EQ(docs[0].firstLine, 1);
  EXPECT_EQ(docs[1].firstLine, 5);
}

TEST(SplitDocuments, DashesInsideABlockScalarOrMidLineAreNotMarkers) {
  std::string text =
      "name: a\n"
      "steps:\n"
      "  - run: |\n"
      "      echo one\n"
      "      ---\n"
      "      --- x\n"
      "---x: 1\n"
      "k: \"--- \"\n"
      "----\n"
      "---\n"
      "name: b\n";
  auto docs = splitDocuments(text);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[1].text, "---\nname: b\n");
  EXPECT_EQ(docs[1].firstLine, 10);
}

TEST(SplitDocuments, EndMarkersEndDocumentsAndEmptyDocumentsAreDropped) {
  std::string text =
      "name: a\n"      // 1
      "...\n"          // 2
      "# between\n"    // 3
      "---\n"          // 4
      "---\n"          // 5  (the one before is empty)
      "name: b\n"      // 6
      "... \n"         // 7
      "name: c\r\n"    // 8  (a bare document after `...`)
      "---\r\n"        // 9
      "# trailing\n";  // 10
  auto docs = splitDocuments(text);
  ASSERT_EQ(docs.size(), 3u) << ::testing::PrintToString(texts(docs));
  EXPECT_EQ(texts(docs), (std::vector<std::string>{"name: a\n", "---\nname: b\n", "name: c\r\n"}));
  EXPECT_EQ(docs[0].firstLine, 1);
  EXPECT_EQ(docs[1].firstLine, 5);
  EXPECT_EQ(docs[2].firstLine, 8);
}

TEST(SplitDocuments, ContentOnTheMarkerLineIsADocument) {
  auto docs = splitDocuments("name: a\n--- {name: b}\n");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[1].text, "--- {name: b}\n");
  EXPECT_EQ(docs[1].firstLine, 2);
}

TEST(SplitDocuments, NoTrailingNewline) {
  auto docs = splitDocuments("name: a\n---\nname: b");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[1].text, "---\nname: b");
}

constexpr char kValid[] = R"(name: NAME
owner: { team: t }
runbook: https://wiki.example.com/r
steps:
  - { name: a, run: echo hi, timeout: 1m }
)";

std::string workflow(const std::string& name) {
  std::string s = kValid;
  s.replace(s.find("NAME"), 4, name);
  return s;
}

TEST(SplitDocuments, ParsingADocumentAtItsFirstLineGivesTheFilesPositions) {
  std::string bad = workflow("b");
  bad.replace(bad.find("timeout: 1m"), 11, "timeout: 1x");
  std::string file = workflow("a") + "---\n" + bad;  // 'a' is lines 1-5, '---' line 6
  auto docs = splitDocuments(file);
  ASSERT_EQ(docs.size(), 2u);
  ParseOptions options;
  options.fileName = "f.yaml";
  options.firstLine = docs[1].firstLine;
  auto parsed = parseWorkflow(docs[1].text, options);
  ASSERT_FALSE(parsed.ok());
  ASSERT_EQ(parsed.error().details().size(), 1u);
  // The step is on line 11 of the file (line 5 of its document).
  EXPECT_EQ(parsed.error().details()[0].rfind("f.yaml:11:", 0), 0u) << parsed.error().details()[0];
  options.firstLine = docs[0].firstLine;
  auto good = parseWorkflow(docs[0].text, options);
  ASSERT_TRUE(good.ok()) << good.error().toString();
  EXPECT_EQ((*good)->name, "a");
  EXPECT_EQ((*good)->steps[0].pos.line, 5);
}

}  // namespace
}  // namespace keel::spec
