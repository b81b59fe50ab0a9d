// Listing, claiming and workflow versions on the SQLite store.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "core/ids.h"
#include "core/random.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/store_test_util.h"
#include "store/workflow_digest.h"
#include "testing/temp_dir.h"

namespace keel::store {
namespace {

using testutil::at;
using testutil::limitOnly;
using testutil::makeAttempt;
using testutil::makeRun;
using testutil::makeStep;
using testutil::runFilter;

class SqliteQueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = openSqliteStore(dir_.file("keel.db"), testutil::nodeOptions("node-a"));
    ASSERT_TRUE(s.ok()) << s.error().toString();
    store_ = std::move(*s);
  }

  void applyOk(Batch batch) {
    Status s = store_->apply(batch);
    ASSERT_TRUE(s.ok()) << s.error().toString();
  }

  std::vector<std::string> ids(const RunFilter& filter) {
    auto runs = store_->listRuns(filter);
    EXPECT_TRUE(runs.ok()) << runs.error().toString();
    std::vector<std::string> out;
    if (runs.ok()) {
      for (const auto& r : *runs) out.push_back(r.id);
    }
    return out;
  }

  WorkflowVersionRow workflow(const std::string& name, const std::string& yaml,
                              const std::string& workdir, int64_t createdMs) {
    WorkflowVersionRow row;
    row.name = name;
    row.ns = "supply";
    row.yaml = yaml;
    row.workdir = workdir;
    row.createdAt = at(createdMs);
    return row;
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

using Ids = std::vector<std::string>;

TEST_F(SqliteQueriesTest, ListRunsFiltersNewestFirst) {
  // r0..r9: even ids belong to "a", odd to "b"; every third one succeeded.
  Batch batch;
  for (int i = 0; i < 10; ++i) {
    RunState state = i % 3 == 0 ? RunState::kSucceeded : RunState::kRunning;
    batch.mutations.push_back(PutRun{makeRun(fmt::format("r{}", i), i % 2 ? "b" : "a", state)});
  }
  applyOk(batch);

  EXPECT_EQ(ids(RunFilter()), (Ids{"r9", "r8", "r7", "r6", "r5", "r4", "r3", "r2", "r1", "r0"}));
  EXPECT_EQ(ids(runFilter("a")), (Ids{"r8", "r6", "r4", "r2", "r0"}));
  EXPECT_EQ(ids(runFilter("", RunState::kSucceeded)), (Ids{"r9", "r6", "r3", "r0"}));
  EXPECT_EQ(ids(runFilter("b", RunState::kSucceeded)), (Ids{"r9", "r3"}));
  EXPECT_EQ(ids(runFilter("b", RunState::kRunning, 50, "r7")), (Ids{"r5", "r1"}));
  EXPECT_EQ(ids(runFilter("nope")), Ids{});
  EXPECT_EQ(ids(limitOnly(0)), Ids{"r9"});  // clamped up to 1
  EXPECT_EQ(ids(limitOnly(-5)), Ids{"r9"});
  EXPECT_EQ(ids(limitOnly(1'000'000)).size(), 10u);  // clamped down to 1000
}

// Thousands of runs over two days: several states and a time window are
// filtered by the store, and pages of 100 visit each match once, newest
// first.
TEST_F(SqliteQueriesTest, SeveralStatesAndATimeWindowPageThroughThousandsOfRuns) {
  const RunState cycle[] = {RunState::kSucceeded, RunState::kFailed, RunState::kCancelled,
                            RunState::kRunning};
  const WallTime start = at(1'767'225'600'000);  // 2026-01-01T00:00:00Z
  const WallTime since = start + std::chrono::hours(36);
  SeededRandom random(3);
  Batch batch;
  std::set<std::string> expected;
  for (int i = 0; i < 3000; ++i) {
    const WallTime created = start + std::chrono::minutes(i);  // 50 hours in all
    RunRow run = makeRun(newRunId(created, random), "w", cycle[i % 4]);
    run.createdAt = created;
    if (created >= since && (run.state == RunState::kFailed || run.state == RunState::kCancelled))
      expected.insert(run.id);
    batch.mutations.push_back(PutRun{run});
  }
  applyOk(batch);
  ASSERT_EQ(expected.size(), 420u);  // 14 hours = 840 minutes, half failed or cancelled

  RunFilter filter;
  filter.states = {RunState::kFailed, RunState::kCancelled};
  filter.since = since;
  filter.limit = 100;
  Ids all;
  for (int page = 0; page < 10; ++page) {
    Ids ids = this->ids(filter);
    ASSERT_LE(ids.size(), 100u);
    all.insert(all.end(), ids.begin(), ids.end());
    if (ids.size() < 100) break;
    filter.cursor = ids.back();
  }
  EXPECT_EQ(all.size(), expected.size());
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()), expected);
  EXPECT_TRUE(std::is_sorted(all.rbegin(), all.rend())) << "newest first";
}

TEST_F(SqliteQueriesTest, CursorPaginationVisitsEveryRunOnce) {
  Batch batch;
  for (int i = 0; i < 25; ++i) {
    batch.mutations.push_back(PutRun{makeRun(fmt::format("r{:02}", i))});
  }
  applyOk(batch);
  Ids all;
  RunFilter filter = limitOnly(7);
  int pages = 0;
  while (true) {
    Ids page = ids(filter);
    if (page.empty()) break;
    ++pages;
    ASSERT_LE(page.size(), 7u);
    all.insert(all.end(), page.begin(), page.end());
    filter.cursor = page.back();
  }
  EXPECT_EQ(pages, 4);
  ASSERT_EQ(all.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(all[i], fmt::format("r{:02}", 24 - i));
}

TEST_F(SqliteQueriesTest, ClaimRunsReturnsActiveRunsWithLatestAttempts) {
  // Created out of id order, so "oldest first" is checked on created_at.
  applyOk({{
      PutRun{makeRun("r1", "wf", RunState::kRunning, 300)},
      PutRun{makeRun("r2", "wf", RunState::kPending, 100)},
      PutRun{makeRun("r3", "wf", RunState::kWaiting, 200)},
      PutRun{makeRun("r4", "wf", RunState::kPaused, 400)},
      PutRun{makeRun("r5", "wf", RunState::kSucceeded, 0)},
      PutRun{makeRun("r6", "wf", RunState::kFailed, 0)},
      PutRun{makeRun("r7", "wf", RunState::kCancelled, 0)},
      PutStep{makeStep("r1", "fetch", StepState::kSucceeded)},
      PutStep{makeStep("r1", "load", StepState::kRetrying)},
      PutAttempt{makeAttempt("r1", "fetch", 1, AttemptState::kSucceeded)},
      PutAttempt{makeAttempt("r1", "load", 1, AttemptState::kFailed)},
      PutAttempt{makeAttempt("r1", "load", 3, AttemptState::kRunning)},
      PutAttempt{makeAttempt("r1", "load", 2, AttemptState::kFailed)},
      PutStep{makeStep("r5", "done", StepState::kSucceeded)},
      PutAttempt{makeAttempt("r5", "done", 1, AttemptState::kSucceeded)},
  }});
  auto claimed = store_->claimRuns();
  ASSERT_TRUE(claimed.ok()) << claimed.error().toString();
  ASSERT_EQ(claimed->size(), 4u);
  EXPECT_EQ((*claimed)[0].run.id, "r2");
  EXPECT_EQ((*claimed)[1].run.id, "r3");
  EXPECT_EQ((*claimed)[2].run.id, "r1");
  EXPECT_EQ((*claimed)[3].run.id, "r4");

  const ActiveRun& r1 = (*claimed)[2];
  EXPECT_EQ(r1.run, makeRun("r1", "wf", RunState::kRunning, 300));
  ASSERT_EQ(r1.steps.size(), 2u);
  EXPECT_EQ(r1.steps[0].name, "fetch");
  EXPECT_EQ(r1.steps[1].name, "load");
  ASSERT_EQ(r1.attempts.size(), 2u);
  EXPECT_EQ(r1.attempts[0], makeAttempt("r1", "fetch", 1, AttemptState::kSucceeded));
  EXPECT_EQ(r1.attempts[1], makeAttempt("r1", "load", 3, AttemptState::kRunning));
  EXPECT_TRUE((*claimed)[0].steps.empty());

  // Claiming again (a restart) returns the same.
  auto again = store_->claimRuns();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *claimed);
}

TEST_F(SqliteQueriesTest, PutWorkflowMakesAVersionOnlyWhenTheTextChanges) {
  auto v1 = store_->putWorkflow(workflow("feed", "name: feed\n", "/srv", 1));
  ASSERT_TRUE(v1.ok()) << v1.error().toString();
  EXPECT_EQ(v1->version, 1);
  EXPECT_EQ(v1->sha256, workflowSha256("name: feed\n", "/srv"));

  auto same = store_->putWorkflow(workflow("feed", "name: feed\n", "/srv", 2));
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, *v1);  // unchanged, created_at included

  auto v2 = store_->putWorkflow(workflow("feed", "name: feed\n# changed\n", "/srv", 3));
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->version, 2);
  auto v3 = store_->putWorkflow(workflow("feed", "name: feed\n# changed\n", "/opt", 4));
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(v3->version, 3);
  auto v4 = store_->putWorkflow(workflow("feed", "name: feed\n", "/srv", 5));
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->version, 4);  // only the latest version is compared
  EXPECT_EQ(v4->createdAt, at(5));
  auto other = store_->putWorkflow(workflow("alpha", "name: alpha\n", "/srv", 6));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->version, 1);

  auto latest = store_->getWorkflow("feed", 0);
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ(**latest, *v4);
  auto second = store_->getWorkflow("feed", 2);
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ(**second, *v2);
  auto missing = store_->getWorkflow("feed", 9);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  auto versions = store_->workflowVersions("feed");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ((*versions)[i].version, i + 1);
  auto all = store_->listWorkflows();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0], *other);
  EXPECT_EQ((*all)[1], *v4);

  auto unnamed = store_->putWorkflow(workflow("", "x", "", 0));
  ASSERT_FALSE(unnamed.ok());
  EXPECT_EQ(unnamed.error().code(), ErrorCode::kInvalidArgument);
}

TEST(WorkflowDigestTest, IsSha256OfYamlNulWorkdir) {
  EXPECT_EQ(workflowSha256("name: x\n", "/srv"),
            "3a165d175735dcc762adbbbb9e360b87518a9fc8bf6cdd83b784ee44e53a8f79");
  EXPECT_EQ(workflowSha256("", ""),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  EXPECT_NE(workflowSha256("ab", "c"), workflowSha256("a", "bc"));
}

// Readers on several threads while the writer commits: every read succeeds
// and sees whole batches (a run and its step together, or neither).
TEST_F(SqliteQueriesTest, ReadsRunConcurrentlyWithTheWriter) {
  constexpr int kBatches = 200;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!done.load()) {
        auto runs = store_->listRuns(limitOnly(5));
        if (!runs.ok()) {
          ++failures;
          continue;
        }
        for (const auto& r : *runs) {
          auto d = store_->getRun(r.id);
          if (!d.ok() || !d->has_value() || (*d)->steps.size() != 1) ++failures;
        }
      }
    });
  }
  for (int i = 0; i < kBatches; ++i) {
    std::string id = fmt::format("r{:04}", i);
    applyOk({{PutRun{makeRun(id)}, PutStep{makeStep(id, "a")}}});
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ids(limitOnly(1000)).size(), static_cast<size_t>(kBatches));
}

}  // namespace
}  // namespace keel::store
