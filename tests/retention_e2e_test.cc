// Retention in a running keel serve: a workflow's `retention:` deletes its
// old finished runs even without --retain, leaves the others, and the count
// reaches /metrics.
#include <sqlite3.h>

#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

constexpr char kWorkflow[] = R"(name: {NAME}
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/rb
{RETENTION}steps:
  - { name: a, run: "echo hi", timeout: 1m }
)";

std::string workflow(const std::string& name, const std::string& retention) {
  std::string yaml = kWorkflow;
  yaml.replace(yaml.find("{NAME}"), 6, name);
  yaml.replace(yaml.find("{RETENTION}"), 11, retention);
  return yaml;
}

TEST(Retention, AWorkflowsRetentionDeletesItsOldRunsWithoutRetain) {
  KeelUnderTest keel;
  keel.start();
  keel.apply(workflow("brief", "retention: 1h\n"));
  keel.apply(workflow("kept", ""));
  auto brief = keel.trigger("brief", nlohmann::json::object());
  auto kept = keel.trigger("kept", nlohmann::json::object());
  ASSERT_EQ(brief.first, 201);
  ASSERT_EQ(kept.first, 201);
  std::string briefId = brief.second.value("id", "");
  std::string keptId = kept.second.value("id", "");
  EXPECT_EQ(keel.waitForRun(briefId).value("state", ""), "succeeded");
  EXPECT_EQ(keel.waitForRun(keptId).value("state", ""), "succeeded");
  keel.stop();

  // Both runs finished two hours ago, as far as the database knows.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(keel.db().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE runs SET finished_at = finished_at - 7200000", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  keel.start();  // no --retain: the pass at start applies brief's retention: 1h only
  std::string text;
  for (int i = 0; i < 600 && !contains(text, "keel_retention_passes_total 1\n"); ++i)
    text = scrapeMetrics(keel);  // each call is a round trip; no sleep
  ASSERT_TRUE(contains(text, "keel_retention_passes_total 1\n")) << text;
  EXPECT_TRUE(contains(text, "keel_retention_runs_deleted_total 1\n")) << text;
  EXPECT_EQ(keel.client()->Get("/api/v1/runs/" + briefId)->status, 404);
  EXPECT_EQ(keel.client()->Get("/api/v1/runs/" + keptId)->status, 200);
  EXPECT_EQ(queryText(keel.db(), "SELECT count(*) FROM events WHERE run_id = '" + briefId + "'"),
            "0");
  // The deletion is keel's own entry in the audit log, and the chain holds.
  auto audit = keel.client()->Get("/api/v1/audit?actor=keel");
  ASSERT_TRUE(audit);
  auto entries = nlohmann::json::parse(audit->body)["entries"];
  ASSERT_EQ(entries.size(), 1u) << audit->body;
  EXPECT_EQ(entries[0]["action"], "retention.delete");
  EXPECT_EQ(entries[0]["target"], "finished runs");
  EXPECT_EQ(entries[0]["detail"]["runs"], 1) << audit->body;
  EXPECT_EQ(entries[0]["detail"]["workflows"][0]["workflow"], "brief") << audit->body;
  auto verified = keel.client()->Get("/api/v1/audit/verify");
  ASSERT_TRUE(verified);
  EXPECT_TRUE(contains(verified->body, "\"intact\":true")) << verified->body;
}

}  // namespace
}  // namespace keel::e2e
