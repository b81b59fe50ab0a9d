#include "spec/shell.h"

#include <sys/wait.h>

#include <cstdio>

#include <gtest/gtest.h>

namespace keel::spec {
namespace {

TEST(ShellQuote, SingleQuotesAndEscapesTheQuote) {
  EXPECT_EQ(shellQuote(""), "''");
  EXPECT_EQ(shellQuote("abc"), "'abc'");
  EXPECT_EQ(shellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(shellQuote("'"), "''\\'''");
  EXPECT_EQ(shellQuote("a\nb"), "'a\nb'");
  EXPECT_EQ(shellQuote("$HOME"), "'$HOME'");
  EXPECT_EQ(shellQuote("a\\b"), "'a\\b'");
  EXPECT_EQ(shellQuote("x; touch F"), "'x; touch F'");
  EXPECT_EQ(shellQuote("h\xC3\xA9llo \xE2\x82\xAC"), "'h\xC3\xA9llo \xE2\x82\xAC'");
}

// What /bin/sh prints for `printf %s WORD`.
std::string shellPrints(const std::string& word) {
  std::string command = "/bin/sh -c " + shellQuote("printf %s " + word);
  FILE* p = popen(command.c_str(), "r");
  if (!p) return "<popen failed>";
  std::string out;
  char buf[256];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

TEST(ShellQuote, TheShellReadsExactlyTheValue) {
  const std::string values[] = {
      "",
      "'",
      "''",
      "a'b\"c",
      "x; touch F",
      "$(id)",
      "`id`",
      "a\nb\n",
      "$HOME",
      "a\\b",
      "\\",
      "*",
      "-n",
      "| cat",
      "&& echo x",
      "h\xC3\xA9llo",
      "  two  spaces ",
      "%s%d",
  };
  for (const auto& v : values) EXPECT_EQ(shellPrints(shellQuote(v)), v) << v;
}

TEST(MisquotedTemplates, AcceptsTemplatesWhereAWordIsRead) {
  const char* accepted[] = {
      "echo {{ params.x }}",
      "cp {{ params.a }} /tmp/{{ params.b }}.txt",
      "printf '%s\\n' {{ params.x }} > \"$KEEL_OUTPUT\"",
      "echo \"quoted text\" {{ params.x }} 'more'",
      "x=$(cat {{ params.f }}) && echo \"$x\"",
      "echo $(( 1 + 2 )) {{ params.x }}",
      "echo a#b {{ params.x }}",
      "echo it\\'s {{ params.x }}",
      "cat <<'EOF'\nliteral text\nEOF\necho {{ params.x }}",
      "cat <<-EOF\n\thello\n\tEOF\nwc -l {{ params.f }}",
      "cat <<< {{ params.x }}",
      "echo \"${HOME}\" {{ params.x }}",
      "echo {{ params.x }}{{ params.y }}",
      "# a comment: it's fine\necho {{ params.x }}",
      "echo \"$(echo \")\")\" {{ params.x }}",
      "echo done",
      "",
  };
  for (const char* c : accepted) {
    auto found = misquotedTemplates(c);
    EXPECT_TRUE(found.empty()) << c << ": " << (found.empty() ? "" : found[0].where);
  }
}

TEST(MisquotedTemplates, RefusesTemplatesInsideQuotesAndTheLike) {
  struct Case {
    const char* command;
    const char* where;
  } refused[] = {
      {"echo \"{{ params.x }}\"", "inside double quotes"},
      {"echo '{{ params.x }}'", "inside single quotes"},
      {"echo \"hello, {{ params.x }}!\"", "inside double quotes"},
      {"echo '{\"a\": \"{{ params.x }}\"}'", "inside single quotes"},
      {"echo \"$(cat {{ params.x }})\"", "inside double quotes"},
      {"echo `cat {{ params.x }}`", "inside backticks"},
      {"echo $(echo `cat {{ params.x }}`)", "inside backticks"},
      {"echo ${X:-{{ params.x }}}", "inside ${...}"},
      {"echo \\{{ params.x }}", "right after a backslash"},
      {"echo \"\\{{ params.x }}\"", "inside double quotes"},
      {"echo ${{ params.x }}", "right after a '$'"},
      {"echo $'a' {{ params.x }}", "after $'...' quoting"},
      {"echo hi # {{ params.x }}", "inside a comment"},
      {"# {{ params.x }}\necho hi", "inside a comment"},
      {"echo a\\ #'\n{{ params.x }}'", "inside single quotes"},
      {"cat <<EOF\n{{ params.x }}\nEOF", "inside a here-document"},
      {"cat <<'EOF' > f\nv={{ params.x }}\nEOF\n", "inside a here-document"},
      {"cat <<-END\n\t{{ params.x }}\n\tEND", "inside a here-document"},
      {"cat <<{{ params.x }}\nx\n", "in a here-document delimiter"},
      {"echo \"a\nb {{ params.x }}\"", "inside double quotes"},
  };
  for (const Case& c : refused) {
    auto found = misquotedTemplates(c.command);
    ASSERT_EQ(found.size(), 1u) << c.command;
    EXPECT_EQ(found[0].expr, "params.x") << c.command;
    EXPECT_NE(found[0].where.find(c.where), std::string::npos)
        << c.command << ": " << found[0].where;
    EXPECT_FALSE(found[0].fix.empty());
  }
}

TEST(MisquotedTemplates, ReportsEachTemplateAtItsOffset) {
  auto found = misquotedTemplates("echo {{ params.a }} \"{{ params.b }}\" '{{params.c}}'");
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].offset, 21u);
  EXPECT_EQ(found[0].expr, "params.b");
  EXPECT_EQ(found[0].fix,
            "write {{ params.b }} without quotes: keel quotes every value for the shell");
  EXPECT_EQ(found[1].offset, 38u);
  EXPECT_EQ(found[1].expr, "params.c");
  // An unclosed template is for templateRefs() to report.
  EXPECT_TRUE(misquotedTemplates("echo \"{{ params.a").empty());
}

}  // namespace
}  // namespace keel::spec
