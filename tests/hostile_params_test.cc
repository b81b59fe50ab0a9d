// G13 against a real `keel serve`: hostile params and step outputs reach a
// step as data, never as shell code; values that cannot be data (a NUL
// byte, invalid UTF-8, too long) are refused before a run exists; and a
// step does not see the server's own environment unless it asks.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

namespace fs = std::filesystem;

std::string slurpPath(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

constexpr const char* kHeader = R"(
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/rb
)";

class HostileParams : public ::testing::Test {
 protected:
  void SetUp() override {
    // As if exported in the shell that started keel.
    ::setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value", 1);
    keel_.start();
    ::unsetenv("AWS_SECRET_ACCESS_KEY");
    work_ = keel_.dir().file("work");
    fs::create_directories(work_);
  }

  // A workflow whose steps start in work_.
  void apply(const std::string& name, const std::string& rest) {
    keel_.apply("name: " + name + kHeader + "workdir: " + work_.string() + "\n" + rest);
  }

  // Triggers `workflow` and waits for the end; returns the run.
  nlohmann::json runToEnd(const std::string& workflow, nlohmann::json params) {
    auto [status, body] = keel_.trigger(workflow, {{"params", params}});
    EXPECT_EQ(status, 201) << body.dump();
    if (status != 201) return nullptr;
    return keel_.waitForRun(body["id"]);
  }

  bool pwned() const { return fs::exists(work_ / "F") || fs::exists(keel_.dir().file("F")); }

  KeelUnderTest keel_;
  fs::path work_;
};

TEST_F(HostileParams, EveryValueReachesTheStepAsExactlyItsBytes) {
  apply("hostile", R"(params: { v: }
steps:
  - name: echo
    run: printf '%s' {{ params.v }} > out-{{ run.id }}; printf '%s' "$KEEL_PARAM_V" > env-{{ run.id }}
    timeout: 1m
)");
  std::string big;
  while (big.size() < 64 * 1024) big += "'; touch F; \"$(touch F)\" ";
  big.resize(64 * 1024);
  const std::string values[] = {
      "x; touch F",
      "$(touch F)",
      "`touch F`",
      "'",
      "'; touch F; '",
      "\"; touch F; \"",
      "| touch F",
      "&& touch F",
      "*",
      "$HOME",
      "a\ntouch F\n",
      "\\'; touch F",
      "",
      "-n",
      "h\xC3\xA9llo",
      big,
  };
  for (const std::string& v : values) {
    auto run = runToEnd("hostile", {{"v", v}});
    ASSERT_EQ(run.value("state", ""), "succeeded") << v.substr(0, 40) << "\n" << run.dump(2);
    std::string id = run["id"];
    EXPECT_EQ(slurpPath(work_ / ("out-" + id)), v) << v.substr(0, 40);
    EXPECT_EQ(slurpPath(work_ / ("env-" + id)), v) << v.substr(0, 40);
    EXPECT_FALSE(pwned()) << "the value ran as code: " << v.substr(0, 40);
  }
}

TEST_F(HostileParams, ValuesThatCannotBeDataAreRefusedWith400NamingTheParam) {
  apply("strict", R"(params: { v: }
steps:
  - { name: a, run: "printf '%s' {{ params.v }}", timeout: 1m }
)");
  struct Case {
    std::string value;
    std::string detail;
  } cases[] = {
      {std::string("a\0; touch F", 11), "param 'v': contains a NUL byte at offset 1"},
      {std::string(65 * 1024 + 1, 'x'), "param 'v': is 66561 bytes long; the limit is 65536 bytes"},
  };
  for (const Case& c : cases) {
    auto [status, body] = keel_.trigger("strict", {{"params", {{"v", c.value}}}});
    EXPECT_EQ(status, 400) << body.dump();
    EXPECT_EQ(body["error"]["code"], "invalid_argument");
    EXPECT_EQ(body["error"]["details"], nlohmann::json::array({c.detail})) << body.dump();
  }
  // Invalid UTF-8 never gets past the JSON reader.
  auto res = keel_.client()->Post("/api/v1/workflows/strict/runs",
                                  "{\"params\": {\"v\": \"a\xFF\"}}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  EXPECT_EQ(queryText(keel_.db(), "SELECT count(*) FROM runs"), "0");
  EXPECT_FALSE(pwned());
}

TEST_F(HostileParams, AHostileUpstreamOutputIsDataToo) {
  apply("chain", R"Y(steps:
  - name: up
    run: |
      printf '%s' '{"v": "x; touch F", "w": "$(touch F)", "q": "'"'"'; touch F"}' > "$KEEL_OUTPUT"
    timeout: 1m
  - name: down
    needs: [up]
    run: |
      printf '%s|%s|%s' {{ steps.up.output.v }} {{ steps.up.output.w }} {{ steps.up.output.q }} > down-{{ run.id }}
      printf '%s' "$KEEL_OUTPUT_UP" > env-{{ run.id }}
    timeout: 1m
)Y");
  auto run = runToEnd("chain", nlohmann::json::object());
  ASSERT_EQ(run.value("state", ""), "succeeded") << run.dump(2);
  std::string id = run["id"];
  EXPECT_EQ(slurpPath(work_ / ("down-" + id)), "x; touch F|$(touch F)|'; touch F");
  EXPECT_EQ(nlohmann::json::parse(slurpPath(work_ / ("env-" + id)), nullptr, false),
            (nlohmann::json{{"v", "x; touch F"}, {"w", "$(touch F)"}, {"q", "'; touch F"}}));
  EXPECT_FALSE(pwned());
}

TEST_F(HostileParams, ATemplateInsideQuotesIsRefusedAtApply) {
  std::string yaml = std::string("name: quoted") + kHeader + R"(steps:
  - name: a
    run: echo "hello, {{ params.who }}"
    timeout: 1m
)";
  auto res = keel_.client()->Post("/api/v1/workflows", yaml, "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  EXPECT_NE(res->body.find(":6:23: step 'a': run: {{ params.who }} is inside double quotes; "
                           "write {{ params.who }} without quotes"),
            std::string::npos)
      << res->body;
}

TEST_F(HostileParams, StepsDoNotSeeTheServersEnvironmentUnlessPassedThrough) {
  apply("envs", R"(steps:
  - { name: plain, run: "env > plain-{{ run.id }}", timeout: 1m }
  - name: passed
    run: env > passed-{{ run.id }}
    pass_env: [AWS_SECRET_ACCESS_KEY]
    timeout: 1m
)");
  auto run = runToEnd("envs", nlohmann::json::object());
  ASSERT_EQ(run.value("state", ""), "succeeded") << run.dump(2);
  std::string id = run["id"];
  std::string plain = slurpPath(work_ / ("plain-" + id));
  EXPECT_NE(plain.find("KEEL_RUN_ID=" + id), std::string::npos) << plain;
  EXPECT_NE(plain.find("PATH="), std::string::npos) << plain;
  EXPECT_EQ(plain.find("s3cr3t-value"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("AWS_SECRET_ACCESS_KEY"), std::string::npos) << plain;
  std::string passed = slurpPath(work_ / ("passed-" + id));
  EXPECT_NE(passed.find("AWS_SECRET_ACCESS_KEY=s3cr3t-value\n"), std::string::npos) << passed;
}

}  // namespace
}  // namespace keel::e2e
