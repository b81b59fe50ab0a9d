#include "spec/template.h"

#include <gtest/gtest.h>

namespace keel::spec {
namespace {

using nlohmann::json;

TEST(TemplateRefs, FindsEveryReferenceWithOptionalSpaces) {
  auto refs = templateRefs("cp {{params.src}} {{ steps.fetch.output.path }}/{{  run.id  }}");
  ASSERT_TRUE(refs.ok()) << refs.error().message();
  ASSERT_EQ(refs->size(), 3u);
  EXPECT_EQ((*refs)[0].root, "params");
  EXPECT_EQ((*refs)[0].path, std::vector<std::string>{"src"});
  EXPECT_EQ((*refs)[0].column, 4);
  EXPECT_EQ((*refs)[1].root, "steps");
  EXPECT_EQ((*refs)[1].path, (std::vector<std::string>{"fetch", "output", "path"}));
  EXPECT_EQ((*refs)[1].text, "steps.fetch.output.path");
  EXPECT_EQ((*refs)[2].root, "run");
  EXPECT_EQ((*refs)[2].text, "run.id");
  EXPECT_TRUE(templateRefs("no templates } here {")->empty());
  EXPECT_TRUE(templateRefs("")->empty());
}

TEST(TemplateRefs, SyntaxErrorsNameTheColumn) {
  struct Case {
    const char* tmpl;
    const char* fragment;
  } cases[] = {
      {"echo {{ params.x", "'{{' at column 6 has no closing '}}'"},
      {"a {{ }} b", "empty expression '{{ }}' at column 3"},
      {"{{}}", "empty expression '{{ }}' at column 1"},
      {"{{ params..x }}", "bad expression 'params..x' at column 1"},
      {"{{ params.x y }}", "bad expression 'params.x y'"},
      {"{{ .x }}", "bad expression '.x'"},
      {"{{ x. }}", "bad expression 'x.'"},
      {"{{ a {{ b }}", "bad expression 'a {{ b'"},
      {"{{ \"{{\" }}", "bad expression"},
  };
  for (const Case& c : cases) {
    auto r = templateRefs(c.tmpl);
    ASSERT_FALSE(r.ok()) << c.tmpl;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find(c.fragment), std::string::npos)
        << c.tmpl << ": " << r.error().message();
  }
}

class RenderTest : public ::testing::Test {
 protected:
  RenderTest() {
    params_ = json{{"date", "2026-01-02"}, {"n", 3}, {"flag", true}};
    outputs_["fetch"] = json{{"path", "/tmp/x"},
                             {"rows", 12},
                             {"meta", {{"a", 1}, {"b", {1, 2}}}},
                             {"list", {"x", "y"}},
                             {"none", nullptr}};
    outputs_["plain"] = "just text";
    ctx_.params = &params_;
    ctx_.stepOutputs = &outputs_;
    ctx_.runId = "r-123";
    ctx_.workflow = "planning-feed";
  }
  std::string render(std::string_view t) {
    auto r = renderTemplate(t, ctx_);
    return r.ok() ? *r : "ERROR: " + r.error().message();
  }
  json params_;
  std::map<std::string, json> outputs_;
  TemplateContext ctx_;
};

TEST_F(RenderTest, SubstitutesValues) {
  EXPECT_EQ(render("load {{ params.date }} now"), "load 2026-01-02 now");
  EXPECT_EQ(render("{{params.n}}/{{ params.flag }}"), "3/true");
  EXPECT_EQ(render("{{ steps.fetch.output.path }}"), "/tmp/x");
  EXPECT_EQ(render("{{ steps.fetch.output.rows }}"), "12");
  EXPECT_EQ(render("{{ steps.fetch.output.meta }}"), R"({"a":1,"b":[1,2]})");
  EXPECT_EQ(render("{{ steps.fetch.output.list.1 }}"), "y");
  EXPECT_EQ(render("{{ steps.fetch.output.none }}"), "null");
  EXPECT_EQ(render("{{ steps.plain.output }}"), "just text");
  EXPECT_EQ(render("{{ run.id }}@{{ run.workflow }}"), "r-123@planning-feed");
  EXPECT_EQ(render("no templates, a lone }} and {"), "no templates, a lone }} and {");
  EXPECT_EQ(render(""), "");
}

TEST_F(RenderTest, MissingValuesAreErrorsNotEmptyStrings) {
  EXPECT_EQ(render("{{ params.region }}"), "ERROR: missing param 'region'");
  EXPECT_EQ(render("{{ steps.load.output }}"),
            "ERROR: {{ steps.load.output }}: no output from step 'load'");
  EXPECT_EQ(render("{{ steps.fetch.output.nope }}"),
            "ERROR: {{ steps.fetch.output.nope }}: the output of step 'fetch' has no key 'nope'");
  EXPECT_NE(render("{{ steps.fetch.output.path.deeper }}").find("has no key 'deeper'"),
            std::string::npos);
  EXPECT_NE(render("{{ steps.fetch.output.list.5 }}").find("has no key '5' (it is a list)"),
            std::string::npos);
  EXPECT_NE(render("{{ steps.fetch }}").find("write steps.NAME.output"), std::string::npos);
  EXPECT_NE(render("{{ run.nope }}").find("unknown reference"), std::string::npos);
  EXPECT_NE(render("{{ event.x }}").find("there is no event here"), std::string::npos);
  EXPECT_NE(render("{{ params.x").find("has no closing"), std::string::npos);

  TemplateContext empty;
  auto r = renderTemplate("{{ params.date }}", empty);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "missing param 'date'");
}

TEST_F(RenderTest, ShellModeQuotesEveryValueAsOneWord) {
  params_["hostile"] = "x; touch F'$(id)`id`\n";
  auto r = renderTemplate("printf %s {{ params.hostile }} {{ params.n }}>/tmp/{{ run.id }}.txt",
                          ctx_, Escape::kShell);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, "printf %s 'x; touch F'\\''$(id)`id`\n' '3'>/tmp/'r-123'.txt");
  EXPECT_EQ(*renderTemplate("{{ steps.fetch.output.meta }}", ctx_, Escape::kShell),
            R"('{"a":1,"b":[1,2]}')");
  // Literal text is the workflow author's shell code: never touched.
  EXPECT_EQ(*renderTemplate("echo \"$HOME\" 'a'", ctx_, Escape::kShell), "echo \"$HOME\" 'a'");
  // The default mode inserts values as they are.
  EXPECT_EQ(render("{{ params.hostile }}"), "x; touch F'$(id)`id`\n");
}

TEST_F(RenderTest, AValueWithANulByteIsRefusedNotCutShort) {
  outputs_["evil"] = json{{"v", std::string("ab\0; touch F", 12)}};
  params_["nul"] = std::string("a\0b", 3);
  for (Escape e : {Escape::kNone, Escape::kShell}) {
    auto r = renderTemplate("cat {{ steps.evil.output.v }}", ctx_, e);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().message(),
              "{{ steps.evil.output.v }}: the value contains a NUL byte at offset 2");
    EXPECT_FALSE(renderTemplate("{{ params.nul }}", ctx_, e).ok());
  }
}

TEST(CheckParamValue, RefusesNulInvalidUtf8AndOversizedValues) {
  EXPECT_TRUE(checkParamValue("d", "").ok());
  EXPECT_TRUE(checkParamValue("d", "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80").ok());
  EXPECT_TRUE(checkParamValue("d", std::string(kMaxParamBytes, 'x')).ok());
  struct Case {
    std::string value;
    std::string message;
  } cases[] = {
      {std::string("sub\0x", 5), "param 'p': contains a NUL byte at offset 3"},
      {"ab\xC3", "param 'p': is not valid UTF-8 (bad byte at offset 2)"},
      {"\xC0\x80", "param 'p': is not valid UTF-8 (bad byte at offset 0)"},          // overlong
      {"a\xED\xA0\x80", "param 'p': is not valid UTF-8 (bad byte at offset 1)"},     // surrogate
      {"\xF4\x90\x80\x80", "param 'p': is not valid UTF-8 (bad byte at offset 0)"},  // > U+10FFFF
      {"\xFF", "param 'p': is not valid UTF-8 (bad byte at offset 0)"},
      {"a\x80", "param 'p': is not valid UTF-8 (bad byte at offset 1)"},
      {std::string(kMaxParamBytes + 1, 'x'),
       "param 'p': is 65537 bytes long; the limit is 65536 bytes"},
  };
  for (const Case& c : cases) {
    auto st = checkParamValue("p", c.value);
    ASSERT_FALSE(st.ok()) << c.message;
    EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(st.error().message(), c.message);
  }
}

TEST(StepOutputEnvName, UpperCaseWithUnderscores) {
  EXPECT_EQ(stepOutputEnvName("fetch"), "KEEL_OUTPUT_FETCH");
  EXPECT_EQ(stepOutputEnvName("load-db.v2"), "KEEL_OUTPUT_LOAD_DB_V2");
}

TEST(ParamEnvName, UpperCaseWithUnderscores) {
  EXPECT_EQ(paramEnvName("date"), "KEEL_PARAM_DATE");
  EXPECT_EQ(paramEnvName("run-id"), "KEEL_PARAM_RUN_ID");
  EXPECT_EQ(paramEnvName("a.b c9"), "KEEL_PARAM_A_B_C9");
  EXPECT_EQ(paramEnvName(""), "KEEL_PARAM_");
}

}  // namespace
}  // namespace keel::spec
