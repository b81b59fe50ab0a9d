// Incidents with the real binary: a workflow whose step fails for good
// twice opens one incident that the second failure joins; it is resolved
// through the CLI (after a refusal without action items); a third failure
// opens a recurring incident that shows the first one's root cause; the
// API filters, refuses a resolve without a root cause, and lists overdue
// action items.
#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

constexpr const char* kFeed = R"(name: planning-feed
owner: { team: data-platform, contact: oncall-data@example.com }
runbook: https://wiki.example.com/runbooks/planning-feed
severity: SEV2
params: { day: }
steps:
  - name: retrieve-files
    run: echo fetching /data/in/{{ params.day }}/feed.csv; echo no file for {{ params.day }} >&2; exit 3
    timeout: 1m
    retry: { max_attempts: 1 }
)";

constexpr const char* kReport = R"(name: planning-report
owner: { team: data-platform, contact: oncall-data@example.com }
runbook: https://wiki.example.com/runbooks/planning-report
triggers:
  - after: { workflow: planning-feed }
steps:
  - { name: build, run: "true", timeout: 1m }
)";

nlohmann::json getJson(const KeelUnderTest& keel, const std::string& path) {
  auto r = keel.client()->Get(path);
  EXPECT_TRUE(r) << path;
  if (!r) return {};
  EXPECT_EQ(r->status, 200) << path << ": " << r->body;
  return nlohmann::json::parse(r->body, nullptr, false);
}

std::string failingRun(KeelUnderTest& keel, const std::string& day) {
  auto [status, run] = keel.trigger("planning-feed", {{"params", {{"day", day}}}});
  EXPECT_EQ(status, 201) << run.dump();
  const std::string id = run["id"];
  EXPECT_EQ(keel.waitForRun(id).value("state", ""), "failed");
  return id;
}

TEST(IncidentsE2e, JoinedResolvedThroughTheCliThenRecurringWithTheFirstRootCause) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(kFeed);
  keel.apply(kReport);
  auto r1 = failingRun(keel, "2026-11-26");
  auto r2 = failingRun(keel, "2026-11-28");

  auto list = getJson(keel, "/api/v1/incidents?state=open");
  ASSERT_EQ(list["incidents"].size(), 1u) << list.dump();
  auto first = list["incidents"][0];
  const std::string firstId = first["id"];
  EXPECT_EQ(first["count"], 2);
  EXPECT_EQ(first["severity"], "SEV2");
  EXPECT_EQ(first["step"], "retrieve-files");
  EXPECT_EQ(first["owner"]["team"], "data-platform");
  EXPECT_EQ(first["runbook"], "https://wiki.example.com/runbooks/planning-feed");
  EXPECT_EQ(first["recurring"], false);
  auto whole = getJson(keel, "/api/v1/incidents/" + firstId);
  EXPECT_EQ(whole["runs"], (nlohmann::json{r1, r2}));
  EXPECT_EQ(whole["downstream"], (nlohmann::json{"planning-report"}));
  EXPECT_TRUE(contains(whole.value("logs_tail", ""), "no file for 2026-11-26")) << whole.dump();

  // The API refuses a resolve without a root cause, saying what is missing.
  auto refused = keel.client()->Post("/api/v1/incidents/" + firstId + "/resolve",
                                     R"({"action_items":[]})", "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  EXPECT_TRUE(contains(refused->body, "root_cause is required")) << refused->body;

  auto acked = runKeelCli(keel, {"--as", "alice", "incident", "ack", firstId, "--note", "on it"});
  ASSERT_EQ(acked.code, 0) << acked.err;
  EXPECT_TRUE(contains(acked.out, "acknowledged")) << acked.out;
  auto noItems = runKeelCli(keel, {"incident", "resolve", firstId, "--root-cause", "late file"});
  EXPECT_EQ(noItems.code, 64) << noItems.err;
  auto resolved =
      runKeelCli(keel, {"--as", "alice", "incident", "resolve", firstId, "--root-cause",
                        "the supplier's file arrived after the run", "--action",
                        "wait for the file with a file trigger;data-platform;2020-01-01"});
  ASSERT_EQ(resolved.code, 0) << resolved.err;
  EXPECT_TRUE(contains(resolved.out, firstId + " resolved")) << resolved.out;

  failingRun(keel, "2026-11-30");
  auto recurringList = runKeelCli(keel, {"incidents", "--recurring"});
  ASSERT_EQ(recurringList.code, 0) << recurringList.err;
  EXPECT_TRUE(contains(recurringList.out, "recurring")) << recurringList.out;
  auto all = runKeelCli(keel, {"incidents"});
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_TRUE(contains(all.out, "overdue action items")) << all.out;
  EXPECT_TRUE(contains(all.out, "OVERDUE")) << all.out;
  auto recurring = getJson(keel, "/api/v1/incidents?recurring=true");
  ASSERT_EQ(recurring["incidents"].size(), 1u) << recurring.dump();
  const std::string secondId = recurring["incidents"][0]["id"];
  EXPECT_NE(secondId, firstId);
  EXPECT_EQ(recurring["incidents"][0]["previous"], (nlohmann::json{firstId}));

  auto shown = runKeelCli(keel, {"incident", "show", secondId});
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_TRUE(contains(shown.out, "RECURRING")) << shown.out;
  EXPECT_TRUE(contains(shown.out, "root cause: the supplier's file arrived after the run"))
      << shown.out;
  EXPECT_TRUE(contains(shown.out, "wait for the file with a file trigger")) << shown.out;
  auto firstShown = runKeelCli(keel, {"incident", "show", firstId});
  EXPECT_TRUE(contains(firstShown.out, "acknowledged by alice")) << firstShown.out;
  EXPECT_EQ(runKeelCli(keel, {"incident", "show", "inc-999999"}).code, 66);

  // The post-mortem of the recurring incident: Markdown, with the earlier
  // root cause in its recurrence history, through the CLI and the API.
  auto pm = runKeelCli(keel, {"incident", "postmortem", secondId});
  ASSERT_EQ(pm.code, 0) << pm.err;
  EXPECT_TRUE(contains(pm.out, "## Recurrence history")) << pm.out;
  EXPECT_TRUE(contains(pm.out, "the supplier's file arrived after the run")) << pm.out;
  auto firstPm = keel.client()->Get("/api/v1/incidents/" + firstId + "/postmortem");
  ASSERT_TRUE(firstPm);
  EXPECT_EQ(firstPm->status, 200);
  EXPECT_EQ(firstPm->get_header_value("Content-Type").rfind("text/markdown", 0), 0u);
  EXPECT_TRUE(contains(firstPm->body, "| Acknowledged (time to acknowledge) |")) << firstPm->body;
  EXPECT_TRUE(contains(firstPm->body, "wait for the file with a file trigger")) << firstPm->body;
  EXPECT_EQ(runKeelCli(keel, {"incident", "postmortem", "inc-999999"}).code, 66);

  // Statistics: two incidents of one fingerprint, one resolved.
  auto stats = getJson(keel, "/api/v1/incidents/stats?since=3650d");
  EXPECT_EQ(stats["total"], 2) << stats.dump();
  ASSERT_EQ(stats["recurring"].size(), 1u) << stats.dump();
  EXPECT_EQ(stats["recurring"][0]["incidents"], 2);
  EXPECT_EQ(stats["by_workflow"][0]["resolved"], 1) << stats.dump();
  EXPECT_TRUE(stats["by_workflow"][0]["mttr_seconds"].is_number()) << stats.dump();
  auto statsText = runKeelCli(keel, {"incidents", "stats", "--since", "3650d"});
  ASSERT_EQ(statsText.code, 0) << statsText.err;
  EXPECT_TRUE(contains(statsText.out, "top recurring failures")) << statsText.out;
  EXPECT_EQ(runKeelCli(keel, {"incidents", "stats", "--since", "soon"}).code, 65);
}

}  // namespace
}  // namespace keel::e2e
