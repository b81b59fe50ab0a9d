// Retention while serving: deleteExpiredRuns() deletes whole finished runs
// past their workflow's cutoff (or the default), batch by batch, never an
// active run, and in a steady state the file stops growing.
#include <sqlite3.h>

#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "store/sqlite/connection.h"
#include "store/sqlite/retention.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/store_test_util.h"
#include "testing/temp_dir.h"

namespace keel::store {
namespace {

using testutil::at;
using testutil::makeAttempt;
using testutil::makeEvent;
using testutil::makeRun;
using testutil::makeStep;

// A run with a step, an attempt, two events and logs; finished at
// `finishedMs` when given.
void addWorkflowRun(Batch& batch, const std::string& id, const std::string& workflow,
                    RunState state, std::optional<int64_t> finishedMs,
                    const std::string& output = "out") {
  RunRow run = makeRun(id, workflow, state);
  if (finishedMs) run.finishedAt = at(*finishedMs);
  batch.mutations.push_back(PutRun{run});
  batch.mutations.push_back(PutStep{makeStep(id, "a")});
  batch.mutations.push_back(PutAttempt{makeAttempt(id, "a", 1)});
  batch.mutations.push_back(AppendEvent{makeEvent(id, "run_created")});
  batch.mutations.push_back(AppendEvent{makeEvent(id, "run_finished")});
  batch.mutations.push_back(
      PutLog{{id, "a", 1, output, "", static_cast<int64_t>(output.size()), 0}});
}

using testutil::rowsOf;

bool gone(const std::string& path, const std::string& id) {
  int64_t n = 0;
  for (const char* table : {"runs", "steps", "attempts", "events", "logs"})
    n += rowsOf(path, table, id);
  return n == 0;
}

RunState finishedState(int i) {
  return i % 3 == 0 ? RunState::kSucceeded : i % 3 == 1 ? RunState::kFailed : RunState::kCancelled;
}

TEST(SqliteRetentionTest, EachWorkflowsCutoffOverridesTheDefaultBothWays) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  auto store = testutil::openOrDie(path);
  ASSERT_NE(store, nullptr);
  // Default cutoff 50s; "brief" keeps less (cutoff 90s), "archive" more
  // (cutoff 10s). Runs finished at 5s, 30s, 70s and 95s of each workflow.
  Batch batch;
  for (const char* wf : {"plain", "brief", "archive"})
    for (int64_t s : {5, 30, 70, 95})
      addWorkflowRun(batch, fmt::format("{}-{}", wf, s), wf, finishedState(static_cast<int>(s)),
                     s * 1000);
  // Active runs never go, whatever their times say: one with a finished_at
  // left over from before it was retried.
  addWorkflowRun(batch, "plain-running", "plain", RunState::kRunning, std::nullopt);
  addWorkflowRun(batch, "brief-waiting", "brief", RunState::kWaiting, std::nullopt);
  addWorkflowRun(batch, "brief-retried", "brief", RunState::kPending, 1000);
  addWorkflowRun(batch, "archive-paused", "archive", RunState::kPaused, 2000);
  ASSERT_TRUE(store->apply(batch).ok());

  RetentionPolicy policy;
  policy.defaultCutoff = at(50'000);
  policy.workflowCutoffs = {{"brief", at(90'000)}, {"archive", at(10'000)}};
  policy.runsPerTransaction = 2;
  auto result = store->deleteExpiredRuns(policy);
  ASSERT_TRUE(result.ok()) << result.error().toString();

  std::vector<std::string> deleted = {"plain-5",  "plain-30", "brief-5",
                                      "brief-30", "brief-70", "archive-5"};
  std::vector<std::string> kept = {
      "plain-70",   "plain-95",      "brief-95",      "archive-30",    "archive-70",
      "archive-95", "plain-running", "brief-waiting", "brief-retried", "archive-paused"};
  EXPECT_EQ(result->runs, 6);
  EXPECT_EQ(result->transactions, 3);  // two runs each
  for (const auto& id : deleted) EXPECT_TRUE(gone(path, id)) << id;
  for (const auto& id : kept) {
    EXPECT_EQ(rowsOf(path, "runs", id), 1) << id;
    EXPECT_EQ(rowsOf(path, "events", id), 2) << id;
    EXPECT_EQ(rowsOf(path, "logs", id), 1) << id;
  }
  // A second pass has nothing left to do.
  auto again = store->deleteExpiredRuns(policy);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->runs, 0);
  EXPECT_EQ(again->transactions, 0);
}

TEST(SqliteRetentionTest, WithoutADefaultOnlyWorkflowsWithTheirOwnCutoffAreCleaned) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  auto store = testutil::openOrDie(path);
  ASSERT_NE(store, nullptr);
  Batch batch;
  addWorkflowRun(batch, "a-old", "a", RunState::kSucceeded, 1000);
  addWorkflowRun(batch, "b-old", "b", RunState::kFailed, 1000);
  ASSERT_TRUE(store->apply(batch).ok());
  RetentionPolicy policy;
  policy.workflowCutoffs = {{"a", at(5000)}};
  auto result = store->deleteExpiredRuns(policy);
  ASSERT_TRUE(result.ok()) << result.error().toString();
  EXPECT_EQ(result->runs, 1);
  EXPECT_TRUE(gone(path, "a-old"));
  EXPECT_EQ(rowsOf(path, "runs", "b-old"), 1);
  // An empty policy deletes nothing.
  auto none = store->deleteExpiredRuns(RetentionPolicy{});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->runs, 0);
  EXPECT_EQ(rowsOf(path, "runs", "b-old"), 1);
}

// More finished runs than one read of the walk returns (1,000): the walk
// goes on from where each read stopped and finds every expired run once.
TEST(SqliteRetentionTest, WalksPastOneReadChunk) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  auto store = testutil::openOrDie(path);
  ASSERT_NE(store, nullptr);
  Batch batch;
  for (int i = 0; i < 2500; ++i) {
    RunRow run = makeRun(fmt::format("r{:05}", i), "wf", RunState::kSucceeded);
    run.finishedAt = at(i % 2 == 0 ? 1000 : 9000);
    batch.mutations.push_back(PutRun{run});
  }
  ASSERT_TRUE(store->apply(batch).ok());
  RetentionPolicy policy;
  policy.defaultCutoff = at(5000);
  policy.runsPerTransaction = 300;
  auto result = store->deleteExpiredRuns(policy);
  ASSERT_TRUE(result.ok()) << result.error().toString();
  EXPECT_EQ(result->runs, 1250);
  EXPECT_EQ(result->transactions, 5);  // 300 x 4 + 50
  EXPECT_EQ(testutil::sqliteQueryInt(path, "SELECT COUNT(*) FROM runs"), 1250);
}

TEST(SqliteRetentionTest, AStopRequestEndsThePassBeforeTheNextTransaction) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  auto store = testutil::openOrDie(path);
  ASSERT_NE(store, nullptr);
  Batch batch;
  for (int i = 0; i < 10; ++i)
    addWorkflowRun(batch, fmt::format("r{}", i), "wf", RunState::kFailed, 1000);
  ASSERT_TRUE(store->apply(batch).ok());
  RetentionPolicy policy;
  policy.defaultCutoff = at(5000);
  policy.runsPerTransaction = 3;
  int asked = 0;
  policy.stopRequested = [&] { return ++asked > 2; };  // two transactions, then stop
  auto result = store->deleteExpiredRuns(policy);
  ASSERT_TRUE(result.ok()) << result.error().toString();
  EXPECT_EQ(result->runs, 6);
  EXPECT_EQ(result->transactions, 2);
  EXPECT_EQ(testutil::sqliteQueryInt(path, "SELECT COUNT(*) FROM runs"), 4);
}

TEST(SqliteRetentionTest, RefusesAnEmptyBatchSize) {
  testing::TempDir dir;
  auto store = testutil::openOrDie(dir.file("keel.db"));
  ASSERT_NE(store, nullptr);
  RetentionPolicy policy;
  policy.defaultCutoff = at(0);
  policy.runsPerTransaction = 0;
  auto result = store->deleteExpiredRuns(policy);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument);
}

// A run found expired, then retried by an operator before the deletion
// takes the write lock, is active again: the deletion checks again and
// leaves it.
TEST(SqliteRetentionTest, ARunActiveAgainWhenTheDeletionRunsIsKept) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  {
    auto store = testutil::openOrDie(path);
    ASSERT_NE(store, nullptr);
    Batch batch;
    addWorkflowRun(batch, "retried", "wf", RunState::kFailed, 1000);
    addWorkflowRun(batch, "done", "wf", RunState::kFailed, 1000);
    ASSERT_TRUE(store->apply(batch).ok());
  }
  RetentionPolicy policy;
  policy.defaultCutoff = at(5000);
  auto reader = sqlite::Connection::open(path, sqlite::Connection::Mode::kReadOnly, 1000);
  ASSERT_TRUE(reader.ok());
  sqlite::ExpiredRunScan scan(policy);
  auto found = scan.next(**reader, 10);
  ASSERT_TRUE(found.ok()) << found.error().toString();
  ASSERT_EQ(found->size(), 2u);
  testutil::sqliteExec(path, "UPDATE runs SET state = 'pending' WHERE id = 'retried'");
  auto writer = sqlite::Connection::open(path, sqlite::Connection::Mode::kReadWrite, 1000);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->exec("PRAGMA foreign_keys = ON").ok());
  auto deleted = sqlite::deleteExpiredBatch(**writer, *found);
  ASSERT_TRUE(deleted.ok()) << deleted.error().toString();
  EXPECT_EQ(*deleted, 1);
  EXPECT_TRUE(gone(path, "done"));
  EXPECT_EQ(rowsOf(path, "runs", "retried"), 1);
  EXPECT_EQ(rowsOf(path, "logs", "retried"), 1);
}

// Runs are created and finish in rounds while each round's pass deletes the
// previous round's: once the first rounds have sized the file, SQLite
// reuses the pages freed by the deletions and the file stops growing.
TEST(SqliteRetentionTest, TheFileStopsGrowingInASteadyState) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  auto store = testutil::openOrDie(path);
  ASSERT_NE(store, nullptr);
  const std::string output(3000, 'x');  // about a page of logs per run
  constexpr int kRounds = 30;
  constexpr int kRunsPerRound = 40;
  std::vector<int64_t> pages;
  for (int round = 0; round < kRounds; ++round) {
    Batch batch;
    for (int i = 0; i < kRunsPerRound; ++i)
      addWorkflowRun(batch, fmt::format("r{:03}-{:03}", round, i), "wf", finishedState(i),
                     round * 60'000 + i, output);
    ASSERT_TRUE(store->apply(batch).ok());
    RetentionPolicy policy;
    policy.defaultCutoff = at(round * 60'000);  // everything before this round
    policy.runsPerTransaction = 16;
    auto result = store->deleteExpiredRuns(policy);
    ASSERT_TRUE(result.ok()) << result.error().toString();
    EXPECT_EQ(result->runs, round == 0 ? 0 : kRunsPerRound) << "round " << round;
    pages.push_back(testutil::sqliteQueryInt(path, "PRAGMA page_count"));
  }
  EXPECT_EQ(testutil::sqliteQueryInt(path, "SELECT COUNT(*) FROM runs"), kRunsPerRound);
  // Every run written would take well over 1,000 pages; the file holds
  // about two rounds' worth, and no more after the fourth round.
  const int64_t settled = pages[3];
  for (int round = 4; round < kRounds; ++round)
    EXPECT_LE(pages[round], settled)
        << "round " << round << ": " << ::testing::PrintToString(pages);
  EXPECT_LT(pages.back() * 4, int64_t{kRounds} * kRunsPerRound) << ::testing::PrintToString(pages);
}

}  // namespace
}  // namespace keel::store

namespace keel::store {
namespace {

InboundEventRow inboundEvent(const std::string& id, std::vector<std::string> runs,
                             int64_t receivedMs) {
  InboundEventRow e;
  e.topic = "files.arrived";
  e.id = id;
  e.payloadJson = "{}";
  e.receivedAt = at(receivedMs);
  e.runIds = std::move(runs);
  return e;
}

int64_t eventsNamed(const std::string& path, const std::string& id) {
  return testutil::sqliteQueryInt(
      path, fmt::format("SELECT COUNT(*) FROM inbound_events WHERE id = '{}'", id));
}

TEST(SqliteRetentionTest, AnEventGoesWithTheLastOfItsRunsAndNotBefore) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  auto store = testutil::openOrDie(path);
  ASSERT_NE(store, nullptr);
  Batch batch;
  addWorkflowRun(batch, "old-1", "plain", RunState::kSucceeded, 5'000);
  addWorkflowRun(batch, "old-2", "plain", RunState::kFailed, 6'000);
  addWorkflowRun(batch, "new-1", "plain", RunState::kSucceeded, 95'000);
  batch.mutations.push_back(PutInboundEvent{inboundEvent("all-old", {"old-1", "old-2"}, 4'000)});
  batch.mutations.push_back(PutInboundEvent{inboundEvent("half-old", {"old-1", "new-1"}, 4'000)});
  batch.mutations.push_back(PutInboundEvent{inboundEvent("no-runs-old", {}, 4'000)});
  batch.mutations.push_back(PutInboundEvent{inboundEvent("no-runs-new", {}, 90'000)});
  ASSERT_TRUE(store->apply(batch).ok());

  RetentionPolicy policy;
  policy.defaultCutoff = at(50'000);
  auto result = store->deleteExpiredRuns(policy);
  ASSERT_TRUE(result.ok()) << result.error().toString();
  EXPECT_EQ(result->runs, 2);
  EXPECT_EQ(result->events, 2);
  EXPECT_EQ(eventsNamed(path, "all-old"), 0) << "its runs are all gone";
  EXPECT_EQ(eventsNamed(path, "half-old"), 1) << "new-1 is still kept";
  EXPECT_EQ(eventsNamed(path, "no-runs-old"), 0);
  EXPECT_EQ(eventsNamed(path, "no-runs-new"), 1);
  // A redelivery of the kept one still finds it, with its runs.
  auto found = store->findInboundEvent("files.arrived", "half-old");
  ASSERT_TRUE(found.ok()) << found.error().toString();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((**found).runIds, (std::vector<std::string>{"old-1", "new-1"}));
}

// An event `id` emitted by run `runId` on `topic`, in `state`.
OutboxEventRow outboxEvent(const std::string& id, const std::string& runId,
                           const std::string& topic, const std::string& state = "delivered") {
  OutboxEventRow e;
  e.id = id;
  e.topic = topic;
  e.runId = runId;
  e.source = "step a";
  e.emittedAt = at(1'000);
  e.state = state;
  return e;
}

WebhookDeliveryRow delivery(const std::string& subscription, int64_t seq, const std::string& id,
                            const std::string& topic, const std::string& state) {
  WebhookDeliveryRow d;
  d.subscription = subscription;
  d.eventSeq = seq;
  d.eventId = id;
  d.topic = topic;
  d.state = state;
  d.nextAt = at(2'000);
  d.updatedAt = at(2'000);
  return d;
}

// The events a deleted run emitted go once they are delivered everywhere,
// with their delivered webhook deliveries; an event still owed to
// someone, or whose run is kept, stays.
TEST(SqliteRetentionTest, TheOutboxOfDeletedRunsGoesOnceDeliveredEverywhere) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  auto store = testutil::openOrDie(path);
  ASSERT_NE(store, nullptr);
  SubscriptionRow hook;
  hook.name = "hook";
  hook.topic = "orders";
  hook.url = "http://127.0.0.1:1/hook";
  hook.yaml = "kind: subscription";
  hook.createdAt = at(0);
  ASSERT_TRUE(store->putSubscription(hook).ok());  // from_seq 0: every event on "orders"

  Batch batch;
  addWorkflowRun(batch, "old", "wf", RunState::kSucceeded, 5'000);
  addWorkflowRun(batch, "kept", "wf", RunState::kSucceeded, 95'000);
  // seq 1..6, in this order.
  batch.mutations.push_back(PutOutboxEvent{outboxEvent("sent", "old", "orders")});
  batch.mutations.push_back(PutOutboxEvent{outboxEvent("dead", "old", "orders")});
  batch.mutations.push_back(PutOutboxEvent{outboxEvent("to-start", "old", "jobs", "pending")});
  batch.mutations.push_back(PutOutboxEvent{outboxEvent("started", "old", "jobs")});
  batch.mutations.push_back(PutOutboxEvent{outboxEvent("of-kept", "kept", "orders")});
  batch.mutations.push_back(PutOutboxEvent{outboxEvent("newest", "old", "orders")});
  batch.mutations.push_back(PutOutboxEvent{outboxEvent("not-yet", "old", "orders")});
  ASSERT_TRUE(store->apply(batch).ok());
  Batch deliveries;
  deliveries.mutations.push_back(
      PutWebhookDelivery{delivery("hook", 1, "sent", "orders", "delivered")});
  deliveries.mutations.push_back(PutWebhookDelivery{delivery("hook", 2, "dead", "orders", "dead")});
  deliveries.mutations.push_back(
      PutWebhookDelivery{delivery("hook", 5, "of-kept", "orders", "delivered")});
  deliveries.mutations.push_back(
      PutWebhookDelivery{delivery("hook", 6, "newest", "orders", "delivered")});
  ASSERT_TRUE(store->apply(deliveries).ok());

  RetentionPolicy policy;
  policy.defaultCutoff = at(50'000);
  auto result = store->deleteExpiredRuns(policy);
  ASSERT_TRUE(result.ok()) << result.error().toString();
  EXPECT_EQ(result->runs, 1);
  auto left = [&](const std::string& table, const std::string& column) {
    std::vector<std::string> ids;
    auto conn = sqlite::Connection::open(path, sqlite::Connection::Mode::kReadOnly, 1000);
    EXPECT_TRUE(conn.ok());
    auto s = (*conn)->cached(fmt::format("SELECT {} FROM {} ORDER BY {}", column, table, column));
    EXPECT_TRUE(s.ok());
    while (true) {
      auto more = (*s)->next();
      if (!more.ok() || !*more) break;
      ids.push_back((*s)->textAt(0));
    }
    return ids;
  };
  // Gone: "sent" (delivered, not the newest) and "started" (no subscription
  // on "jobs", handed to its runs). Kept: "dead" (may be redelivered),
  // "to-start" (pending), "of-kept" (its run is kept), "newest" (marks how
  // far the subscription has gone), "not-yet" (not delivered yet).
  EXPECT_EQ(left("outbox", "id"),
            (std::vector<std::string>{"dead", "newest", "not-yet", "of-kept", "to-start"}));
  EXPECT_EQ(left("webhook_deliveries", "event_id"),
            (std::vector<std::string>{"dead", "newest", "of-kept"}));
  EXPECT_EQ(result->outboxEvents, 2);
  EXPECT_EQ(result->webhookDeliveries, 1);
  // The subscription goes on after its newest delivery: nothing is sent twice.
  auto last = store->lastWebhookSeq("hook");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 6);

  // A second pass finds nothing more to delete.
  auto again = store->deleteExpiredRuns(policy);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->outboxEvents, 0);
  EXPECT_EQ(again->webhookDeliveries, 0);
}

// More settled events than one transaction takes (and than one chunk of
// the walk reads) all go.
TEST(SqliteRetentionTest, ALongOutboxIsDeletedInSeveralTransactions) {
  testing::TempDir dir;
  std::string path = dir.file("keel.db");
  auto store = testutil::openOrDie(path);
  ASSERT_NE(store, nullptr);
  Batch batch;
  addWorkflowRun(batch, "old", "wf", RunState::kSucceeded, 5'000);
  for (int i = 0; i < 2'345; ++i)
    batch.mutations.push_back(PutOutboxEvent{outboxEvent(fmt::format("e-{}", i), "old", "jobs")});
  ASSERT_TRUE(store->apply(batch).ok());
  RetentionPolicy policy;
  policy.defaultCutoff = at(50'000);
  auto result = store->deleteExpiredRuns(policy);
  ASSERT_TRUE(result.ok()) << result.error().toString();
  EXPECT_EQ(result->outboxEvents, 2'345);
  EXPECT_EQ(testutil::sqliteQueryInt(path, "SELECT COUNT(*) FROM outbox"), 0);
}

}  // namespace
}  // namespace keel::store
