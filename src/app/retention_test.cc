// Retainer: each workflow's latest `retention:` overrides --retain both
// ways, workflows with retention: are cleaned without --retain, the counts
// reach /metrics, and the background thread runs at start and stops.
#include "app/retention.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "audit/record.h"
#include "audit/verify.h"

#include "store/sqlite/sqlite_store.h"
#include "store/workflow_digest.h"
#include "testing/temp_dir.h"

namespace keel::app {
namespace {

using std::chrono::hours;

std::string workflowYaml(const std::string& name, const std::string& retention) {
  return fmt::format(
      "name: {}\nowner: {{team: t}}\nrunbook: https://wiki.example.com/rb\n{}steps:\n"
      "  - {{name: a, run: echo a, timeout: 1m}}\n",
      name, retention.empty() ? "" : "retention: " + retention + "\n");
}

class RetainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::openSqliteStore(dir_.file("keel.db"));
    ASSERT_TRUE(s.ok()) << s.error().toString();
    store_ = std::move(*s);
  }

  void putWorkflow(const std::string& name, const std::string& retention) {
    store::WorkflowVersionRow row;
    row.name = name;
    row.yaml = workflowYaml(name, retention);
    row.sha256 = store::workflowSha256(row.yaml, row.workdir);
    row.createdAt = clock_.wallNow();
    auto put = store_->putWorkflow(row);
    ASSERT_TRUE(put.ok()) << put.error().toString();
  }

  // A run of `workflow` that finished `age` ago (active when age is unset).
  void putRun(const std::string& id, const std::string& workflow, std::optional<hours> age) {
    store::RunRow run;
    run.id = id;
    run.workflow = workflow;
    run.version = 1;
    run.createdAt = clock_.wallNow() - hours(24 * 400);
    run.state = age ? RunState::kSucceeded : RunState::kRunning;
    if (age) run.finishedAt = clock_.wallNow() - *age;
    store::Batch batch;
    batch.mutations.push_back(store::PutRun{run});
    batch.mutations.push_back(store::AppendEvent{{0, id, run.createdAt, "run_created", "", 0, ""}});
    ASSERT_TRUE(store_->apply(batch).ok());
  }

  bool exists(const std::string& id) {
    auto run = store_->getRun(id);
    EXPECT_TRUE(run.ok());
    return run.ok() && run->has_value();
  }

  testing::TempDir dir_;
  ManualClock clock_;
  observe::MetricsRegistry metrics_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(RetainerTest, AWorkflowsLatestRetentionOverridesRetainBothWays) {
  putWorkflow("plain", "");
  putWorkflow("brief", "7d");  // a first version kept longer...
  putWorkflow("brief", "1h");  // ...the latest counts
  putWorkflow("archive", "90d");
  for (const char* wf : {"plain", "brief", "archive"}) {
    putRun(std::string(wf) + "-2h", wf, hours(2));
    putRun(std::string(wf) + "-40d", wf, hours(24 * 40));
    putRun(std::string(wf) + "-100d", wf, hours(24 * 100));
    putRun(std::string(wf) + "-active", wf, std::nullopt);
  }
  RetentionOptions options;
  options.defaultAge = hours(24 * 30);  // --retain 30d
  options.runsPerTransaction = 2;
  Retainer retainer(*store_, clock_, options, metrics_);
  auto pass = retainer.runPass();
  ASSERT_TRUE(pass.ok()) << pass.error().toString();

  EXPECT_TRUE(exists("plain-2h"));
  EXPECT_FALSE(exists("plain-40d"));
  EXPECT_FALSE(exists("plain-100d"));
  EXPECT_FALSE(exists("brief-2h"));
  EXPECT_FALSE(exists("brief-40d"));
  EXPECT_TRUE(exists("archive-2h"));
  EXPECT_TRUE(exists("archive-40d"));
  EXPECT_FALSE(exists("archive-100d"));
  for (const char* wf : {"plain", "brief", "archive"})
    EXPECT_TRUE(exists(std::string(wf) + "-active"));
  EXPECT_EQ(pass->runs, 6);
  EXPECT_EQ(retainer.runsDeleted(), 6);
  EXPECT_NE(metrics_.render().find("\nkeel_retention_runs_deleted_total 6\n"), std::string::npos)
      << metrics_.render();

  // Time passes: the next pass deletes what has aged since.
  clock_.advance(hours(24 * 31));
  ASSERT_TRUE(retainer.runPass().ok());
  EXPECT_FALSE(exists("plain-2h"));
  EXPECT_TRUE(exists("archive-2h"));
  EXPECT_EQ(retainer.runsDeleted(), 7);
}

TEST_F(RetainerTest, WithoutRetainOnlyWorkflowsWithRetentionAreCleaned) {
  putWorkflow("plain", "");
  putWorkflow("brief", "1d");
  putRun("plain-old", "plain", hours(24 * 1000));
  putRun("brief-old", "brief", hours(48));
  Retainer retainer(*store_, clock_, RetentionOptions{}, metrics_);
  auto pass = retainer.runPass();
  ASSERT_TRUE(pass.ok()) << pass.error().toString();
  EXPECT_EQ(pass->runs, 1);
  EXPECT_TRUE(exists("plain-old"));
  EXPECT_FALSE(exists("brief-old"));
}

TEST_F(RetainerTest, TheThreadRunsAPassAtStartAndStopsWithoutWaitingForTheNext) {
  putWorkflow("plain", "");
  putRun("old", "plain", hours(24 * 60));
  RetentionOptions options;
  options.defaultAge = hours(24 * 30);
  options.interval = hours(24);  // stop() must not wait for it
  Retainer retainer(*store_, clock_, options, metrics_);
  retainer.start();
  retainer.waitForPasses(1);
  EXPECT_FALSE(exists("old"));
  retainer.stop();
  std::string text = metrics_.render();
  EXPECT_NE(text.find("\nkeel_retention_passes_total 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nkeel_retention_failures_total 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# HELP keel_retention_failures_total "), std::string::npos) << text;
}

TEST(RetentionOptionsTest, RetainZeroIsOff) {
  cli::ServeOptions serve;
  EXPECT_FALSE(retentionOptions(serve).defaultAge.has_value());
  serve.retainMs = 3'600'000;
  EXPECT_EQ(retentionOptions(serve).defaultAge.value_or(Millis(0)), Millis(3'600'000));
}

// Each transaction of a pass that deletes runs appends one entry (actor
// keel) in that transaction, with the count and the cutoffs; a pass that
// deletes nothing appends none, and the chain stays whole.
TEST_F(RetainerTest, APassThatDeletesRunsIsAuditedAsKeel) {
  store::Batch first;
  RequestContext ops;
  ops.token = "ops";
  first.mutations.push_back(
      store::AppendAudit{audit::record(ops, "token.create", "ci", clock_.wallNow())});
  ASSERT_TRUE(store_->apply(first).ok());
  putWorkflow("plain", "");
  putWorkflow("brief", "1d");
  putRun("plain-old", "plain", hours(24 * 40));
  putRun("brief-old", "brief", hours(48));
  putRun("brief-new", "brief", hours(1));
  RetentionOptions options;
  options.defaultAge = hours(24 * 30);
  Retainer retainer(*store_, clock_, options, metrics_);
  ASSERT_TRUE(retainer.runPass().ok());

  auto log = store_->auditEntries(0, 100);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 2u);
  const audit::Entry& e = (*log)[1];
  EXPECT_EQ(e.seq, 2);
  EXPECT_EQ(e.actor, "keel");
  EXPECT_EQ(e.action, "retention.delete");
  EXPECT_EQ(e.target, "finished runs");
  auto detail = nlohmann::json::parse(e.detailJson);
  EXPECT_EQ(detail["runs"], 2);
  EXPECT_EQ(detail["finished_before"], formatRfc3339(clock_.wallNow() - hours(24 * 30)));
  ASSERT_EQ(detail["workflows"].size(), 2u);
  EXPECT_EQ(detail["workflows"][0]["workflow"], "brief");
  EXPECT_EQ(detail["workflows"][0]["runs"], 1);
  EXPECT_EQ(detail["workflows"][0]["finished_before"], formatRfc3339(clock_.wallNow() - hours(24)));
  EXPECT_EQ(detail["workflows"][1]["workflow"], "plain");

  // Nothing more to delete: no entry.
  ASSERT_TRUE(retainer.runPass().ok());
  log = store_->auditEntries(0, 100);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->size(), 2u);
  EXPECT_TRUE(audit::verify(*log).intact()) << audit::verify(*log).problem;
  auto head = store_->auditHead();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->seq, 2);
}

// The outbox of deleted runs is walked on the first pass, then once every
// outboxInterval: a pass in between leaves a settled event for later.
TEST_F(RetainerTest, TheOutboxIsWalkedAtTheFirstPassThenOnceAnInterval) {
  putWorkflow("plain", "");
  RetentionOptions options;
  options.defaultAge = hours(24);
  Retainer retainer(*store_, clock_, options, metrics_);
  auto emitted = [&](const std::string& runId, const std::string& id) {
    putRun(runId, "plain", hours(48));
    store::OutboxEventRow e;
    e.id = id;
    e.topic = "jobs";
    e.runId = runId;
    e.source = "step a";
    e.emittedAt = clock_.wallNow();
    e.state = "delivered";
    store::Batch batch;
    batch.mutations.push_back(store::PutOutboxEvent{e});
    ASSERT_TRUE(store_->apply(batch).ok());
  };
  auto outboxLeft = [&] {
    auto rows = store_->outboxOnTopic("jobs", 0, 100);
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? rows->size() : size_t{999};
  };
  emitted("r1", "e1");
  auto first = retainer.runPass();
  ASSERT_TRUE(first.ok()) << first.error().toString();
  EXPECT_EQ(first->runs, 1);
  EXPECT_EQ(first->outboxEvents, 1);
  EXPECT_EQ(outboxLeft(), 0u);

  emitted("r2", "e2");
  clock_.advance(std::chrono::minutes(59));
  auto second = retainer.runPass();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->runs, 1);
  EXPECT_EQ(second->outboxEvents, 0) << "walked the outbox again within the hour";
  EXPECT_EQ(outboxLeft(), 1u);

  clock_.advance(std::chrono::minutes(1));
  auto third = retainer.runPass();
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->outboxEvents, 1);
  EXPECT_EQ(outboxLeft(), 0u);
}

}  // namespace
}  // namespace keel::app
