// /metrics of a running keel serve is valid Prometheus text: every family
// once, with HELP and TYPE before its samples, every metric operations.md
// lists present; and, where promtool is installed, `promtool check
// metrics` accepts it.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

constexpr char kMetricsWorkflow[] = R"(name: hello
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/rb
steps:
  - { name: a, run: "echo hi", timeout: 1m }
)";

bool validName(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (!(std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
          (i > 0 && std::isdigit(static_cast<unsigned char>(c)))))
      return false;
  }
  return true;
}

// `{a="x",b="y"}` from `pos` (at '{'); returns the index after '}', or
// npos with a problem.
size_t parseLabels(const std::string& line, size_t pos, std::string& problem) {
  ++pos;
  while (pos < line.size() && line[pos] != '}') {
    size_t eq = line.find('=', pos);
    if (eq == std::string::npos || !validName(line.substr(pos, eq - pos)) ||
        eq + 1 >= line.size() || line[eq + 1] != '"') {
      problem = "bad label";
      return std::string::npos;
    }
    pos = eq + 2;
    while (pos < line.size() && line[pos] != '"') {
      if (line[pos] == '\\') {
        if (pos + 1 >= line.size() ||
            std::string("\\\"n").find(line[pos + 1]) == std::string::npos) {
          problem = "bad escape in a label value";
          return std::string::npos;
        }
        ++pos;
      }
      ++pos;
    }
    if (pos >= line.size()) {
      problem = "unterminated label value";
      return std::string::npos;
    }
    ++pos;  // the closing quote
    if (pos < line.size() && line[pos] == ',') ++pos;
  }
  if (pos >= line.size()) {
    problem = "unterminated labels";
    return std::string::npos;
  }
  return pos + 1;
}

// The problems of an exposition, one per line; and the families seen.
std::vector<std::string> lint(const std::string& text, std::set<std::string>& families) {
  std::vector<std::string> problems;
  std::set<std::string> help;
  std::map<std::string, std::string> type;
  std::set<std::string> closed;
  std::string current;
  auto enter = [&](const std::string& family, int n) {
    if (family == current) return;
    if (closed.contains(family))
      problems.push_back(std::to_string(n) + ": family " + family + " appears twice");
    if (!current.empty()) closed.insert(current);
    current = family;
    families.insert(family);
  };
  if (text.empty() || text.back() != '\n') problems.push_back("the text does not end in a newline");
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    auto bad = [&](const std::string& what) {
      problems.push_back(std::to_string(n) + ": " + what + ": " + line);
    };
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name, rest;
      words >> name >> rest;
      if (!validName(name)) bad("bad metric name");
      enter(name, n);
      if (line[2] == 'H') {
        if (!help.insert(name).second) bad("second HELP");
        if (rest.empty()) bad("empty HELP");
      } else {
        if (type.contains(name)) bad("second TYPE");
        if (rest != "counter" && rest != "gauge" && rest != "histogram") bad("unexpected TYPE");
        type[name] = rest;
      }
      continue;
    }
    if (line.empty() || line[0] == '#') {
      bad("an empty line or an unexpected comment");
      continue;
    }
    size_t end = line.find_first_of("{ ");
    std::string name = line.substr(0, end);
    if (!validName(name)) bad("bad metric name");
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      std::string s = suffix;
      if (name.size() > s.size() && name.ends_with(s)) {
        std::string base = name.substr(0, name.size() - s.size());
        if (type.contains(base) && type[base] == "histogram") family = base;
      }
    }
    if (!help.contains(family)) bad("a sample before its family's HELP");
    if (!type.contains(family)) bad("a sample before its family's TYPE");
    enter(family, n);
    size_t pos = end;
    if (pos != std::string::npos && line[pos] == '{') {
      std::string problem;
      pos = parseLabels(line, pos, problem);
      if (pos == std::string::npos) {
        bad(problem);
        continue;
      }
    }
    if (pos == std::string::npos || pos >= line.size() || line[pos] != ' ') {
      bad("no value");
      continue;
    }
    std::string value = line.substr(pos + 1);
    char* stop = nullptr;
    std::strtod(value.c_str(), &stop);
    if (value.empty() || *stop != '\0') bad("the value is not a number");
  }
  return problems;
}

// `promtool check metrics` (scripts/install-deps.sh installs it, package
// prometheus) accepts `text`, scraped from `keel`.
void expectPromtoolAccepts(KeelUnderTest& keel, const std::string& text) {
  ASSERT_EQ(std::system("command -v promtool >/dev/null 2>&1"), 0)
      << "promtool is missing: run ./scripts/install-deps.sh (package prometheus)";
  std::string file = keel.dir().file("metrics.txt");
  std::ofstream(file) << text;
  std::string out = keel.dir().file("promtool.out");
  int rc = std::system(("promtool check metrics < '" + file + "' > '" + out + "' 2>&1").c_str());
  std::ifstream report(out);
  std::string said((std::istreambuf_iterator<char>(report)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << said << "\n" << text;
}

TEST(Metrics, EveryMetricIsListedOnceWithHelpAndTypeAndPromtoolAcceptsIt) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kMetricsWorkflow);
  auto run = keel.trigger("hello", nlohmann::json::object());
  ASSERT_EQ(run.first, 201);
  EXPECT_EQ(keel.waitForRun(run.second.value("id", "")).value("state", ""), "succeeded");
  // Requests are counted once answered, on the connection's thread: ask
  // again (each call a round trip, bounded) until one is.
  std::string text;
  for (int i = 0; i < 600 && !contains(text, "\nkeel_http_requests_total{"); ++i)
    text = scrapeMetrics(keel);
  ASSERT_FALSE(text.empty());

  std::set<std::string> families;
  auto problems = lint(text, families);
  EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems) << "\n" << text;
  for (const char* name :
       {"keel_up", "keel_http_requests_total", "keel_runs_created_total",
        "keel_runs_finished_total", "keel_runs_active", "keel_attempts_started_total",
        "keel_attempts_failed_total", "keel_store_commits_total",
        "keel_store_commit_failures_total", "keel_engine_timers_pending",
        "keel_retention_runs_deleted_total", "keel_retention_passes_total",
        "keel_retention_failures_total", "keel_tasks_queued", "keel_tasks_leased",
        "keel_tasks_handed_out_total", "keel_tasks_completed_total", "keel_tasks_failed_total",
        "keel_task_leases_lapsed_total"})
    EXPECT_TRUE(families.contains(name)) << name << " missing from\n" << text;
  // The metrics by workflow (operations.md, "Metrics by workflow").
  for (const char* name : {"keel_run_duration_seconds", "keel_step_attempt_duration_seconds",
                           "keel_run_trigger_to_start_seconds", "keel_attempts_succeeded_total",
                           "keel_workflow_last_success_timestamp_seconds", "keel_build_info"})
    EXPECT_TRUE(families.contains(name)) << name << " missing from\n" << text;
  EXPECT_TRUE(
      contains(text, "\nkeel_runs_finished_total{state=\"succeeded\",workflow=\"hello\"} 1\n"))
      << text;
  EXPECT_TRUE(contains(text, "\nkeel_runs_created_total 1\n")) << text;
  EXPECT_TRUE(contains(text, "\nkeel_attempts_started_total 1\n")) << text;

  expectPromtoolAccepts(keel, text);
}

// An escalation that fires is counted by workflow and level, and the
// labelled family still passes the lint and promtool.
TEST(Metrics, AnEscalationIsCountedByWorkflowAndLevel) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(
      "kind: channel\nname: qa-hook\ntype: webhook\nteams: [qa]\n"
      "url: http://127.0.0.1:9/hook\n");
  keel.apply(R"(name: broken
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/rb
steps:
  - { name: a, run: "exit 3", timeout: 1m, retry: { max_attempts: 1 } }
)");
  auto run = keel.trigger("broken", nlohmann::json::object());
  ASSERT_EQ(run.first, 201);
  EXPECT_EQ(keel.waitForRun(run.second.value("id", "")).value("state", ""), "failed");
  const std::string sample =
      "\nkeel_incident_escalations_total{level=\"1\",workflow=\"broken\"} 1\n";
  std::string text;
  EXPECT_TRUE(waitFor(
      [&] {
        text = scrapeMetrics(keel);
        return contains(text, sample);
      },
      60))
      << text;
  EXPECT_TRUE(contains(text, "# TYPE keel_incident_escalations_total counter\n")) << text;
  std::set<std::string> families;
  auto problems = lint(text, families);
  EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems) << "\n" << text;
  expectPromtoolAccepts(keel, text);
}

}  // namespace
}  // namespace keel::e2e
