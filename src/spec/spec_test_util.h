// Test-only helpers for the spec tests: example workflows and assertions on
// "FILE:LINE:COL: message" details.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "spec/parser.h"

namespace keel::spec::testing {

// The planning-feed chain of DESIGN.md, with its http and task steps.
inline constexpr std::string_view kPlanningFeed = R"(name: planning-feed
namespace: supply
owner: { team: data-platform, contact: oncall-data@example.com }
runbook: https://wiki.example.com/runbooks/planning-feed
params:
  date:
  region: { default: eu, description: the planning region }
triggers:
  - cron: "0 5 * * *"
    timezone: Europe/Paris
dependencies:
  warehouse: { breaker: { failure_rate: 0.5, window: 20, open_for: 30s }, max_concurrent: 4 }
concurrency: { key: "{{ params.region }}", limit: 1 }
slo: { max_duration: 45m }
steps:
  - name: retrieve-files
    uses: warehouse
    run: ./scripts/retrieve.sh {{ params.date }}
    timeout: 10m
    retry: { max_attempts: 5, backoff: exponential, initial: 2s, max: 5m, jitter: full }
  - name: load-staging
    needs: [retrieve-files]
    http: { method: POST, url: "http://127.0.0.1:8081/jobs", json: { date: "{{ params.date }}" } }
    timeout: 2m
  - name: feed-planning
    needs: [load-staging]
    task: planning.feed          # done by an external worker that polls keel
    timeout: 30m
    heartbeat: 1m
    compensate: ./scripts/undo-feed.sh
)";

// The smallest valid workflow; tests append lines to it. Lines:
// 1 name, 2 owner, 3 runbook, 4 steps, 5 "  - name: a", 6 run, 7 timeout.
inline constexpr std::string_view kMinimal = R"(name: wf
owner: {team: t}
runbook: https://wiki.example.com/rb
steps:
  - name: a
    run: echo a
    timeout: 1m
)";

// kMinimal with `extra` appended.
inline std::string plus(std::string_view extra) {
  return std::string(kMinimal) + std::string(extra);
}

inline Result<std::shared_ptr<const WorkflowSpec>> parse(std::string_view yaml) {
  ParseOptions o;
  o.fileName = "f.yaml";
  return parseWorkflow(yaml, o);
}

inline std::vector<std::string> problemsOf(std::string_view yaml) {
  auto r = parse(yaml);
  if (r.ok()) return {};
  return r.error().details();
}

// Whether any problem of `yaml` contains `fragment`, wherever it is.
inline bool anyProblemHas(std::string_view yaml, std::string_view fragment) {
  for (const auto& p : problemsOf(yaml))
    if (p.find(fragment) != std::string::npos) return true;
  return false;
}

inline std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "  " + l + "\n";
  return out.empty() ? "  (no problems)\n" : out;
}

// Passes if a detail starts with "f.yaml:LINE:COL: " and contains `fragment`.
inline ::testing::AssertionResult hasProblem(std::string_view yaml, int line, int col,
                                             std::string_view fragment) {
  auto problems = problemsOf(yaml);
  std::string prefix = "f.yaml:" + std::to_string(line) + ":" + std::to_string(col) + ": ";
  for (const auto& p : problems)
    if (p.starts_with(prefix) && p.find(fragment) != std::string::npos)
      return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "no problem \"" << prefix << "..." << fragment << "...\" among:\n"
         << joined(problems);
}

}  // namespace keel::spec::testing
