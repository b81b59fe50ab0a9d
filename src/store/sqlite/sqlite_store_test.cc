// The SQLite store's reads and writes, against real files in a temp dir.
#include "store/sqlite/sqlite_store.h"

#include <algorithm>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "store/sqlite/store_test_util.h"
#include "testing/temp_dir.h"

namespace keel::store {
namespace {

using testutil::at;
using testutil::makeAttempt;
using testutil::makeEvent;
using testutil::makeRun;
using testutil::makeStep;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  void reopen() {
    store_.reset();
    auto s = openSqliteStore(dir_.file("keel.db"), testutil::nodeOptions("node-a"));
    ASSERT_TRUE(s.ok()) << s.error().toString();
    store_ = std::move(*s);
  }

  void applyOk(Batch batch) {
    Status s = store_->apply(batch);
    ASSERT_TRUE(s.ok()) << s.error().toString();
  }

  RunDetail detail(const std::string& id) {
    auto r = store_->getRun(id);
    EXPECT_TRUE(r.ok()) << r.error().toString();
    EXPECT_TRUE(r.ok() && r->has_value()) << "no run " << id;
    return r.ok() && r->has_value() ? **r : RunDetail{};
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteStoreTest, EveryRowTypeRoundTrips) {
  RunRow run = makeRun("r1");
  run.state = RunState::kRunning;
  run.idempotencyKey = "key-1";
  run.concurrencyKey = "eu";
  run.reason = "started by cron";
  run.startedAt = at(10);
  run.finishedAt = at(20);
  StepRow step = makeStep("r1", "load", StepState::kRetrying);
  step.attempts = 2;
  step.outputJson = R"({"rows":3})";
  step.reason = "backing off";
  step.dueAt = at(30);
  AttemptRow attempt = makeAttempt("r1", "load", 1, AttemptState::kFailed);
  attempt.finishedAt = at(40);
  attempt.exitCode = 3;
  attempt.signal = 9;
  attempt.failureClass = FailureClass::kDependencyUnavailable;
  attempt.message = "connection refused";
  EventRow event = makeEvent("r1", "attempt_failed", "load");
  event.attempt = 1;
  event.message = "exit 3";
  LogRow log{"r1", "load", 1, std::string("out\0\xff\n", 6), "", 6, 0};
  applyOk({{PutRun{run}, PutStep{step}, PutAttempt{attempt}, AppendEvent{event}, PutLog{log}}});

  RunDetail d = detail("r1");
  EXPECT_EQ(d.run, run);
  ASSERT_EQ(d.steps.size(), 1u);
  EXPECT_EQ(d.steps[0], step);
  ASSERT_EQ(d.attempts.size(), 1u);
  EXPECT_EQ(d.attempts[0], attempt);

  auto events = store_->runEvents("r1");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_GT((*events)[0].seq, 0);
  event.seq = (*events)[0].seq;
  EXPECT_EQ((*events)[0], event);

  auto logs = store_->stepLogs("r1", "load");
  ASSERT_TRUE(logs.ok());
  ASSERT_EQ(logs->size(), 1u);
  EXPECT_EQ((*logs)[0], log);
}

TEST_F(SqliteStoreTest, UnsetOptionalsAndEmptyTextsRoundTrip) {
  RunRow run = makeRun("r1");
  run.paramsJson = "{}";
  StepRow step = makeStep("r1", "a");
  AttemptRow attempt = makeAttempt("r1", "a", 1);
  applyOk({{PutRun{run}, PutStep{step}, PutAttempt{attempt}}});
  reopen();  // and it survives a clean close
  RunDetail d = detail("r1");
  EXPECT_EQ(d.run, run);
  EXPECT_EQ(d.steps.at(0), step);
  EXPECT_EQ(d.attempts.at(0), attempt);
}

// A run's workflow and idempotency key are kept as first written: the
// update of a run leaves them (and their indexes) alone.
TEST_F(SqliteStoreTest, ARunsWorkflowAndIdempotencyKeyStayAsFirstWritten) {
  RunRow run = makeRun("r1", "wf");
  run.idempotencyKey = "key-1";
  applyOk({{PutRun{run}}});
  RunRow later = run;
  later.workflow = "other";
  later.idempotencyKey = "key-2";
  later.state = RunState::kSucceeded;
  later.finishedAt = at(50);
  applyOk({{PutRun{later}}});
  RunDetail d = detail("r1");
  EXPECT_EQ(d.run.workflow, "wf");
  EXPECT_EQ(d.run.idempotencyKey, "key-1");
  EXPECT_EQ(d.run.state, RunState::kSucceeded);
  EXPECT_EQ(d.run.finishedAt, at(50));
  auto byKey = store_->findRunByIdempotencyKey("wf", "key-1");
  ASSERT_TRUE(byKey.ok());
  ASSERT_TRUE(byKey->has_value());
  EXPECT_EQ((*byKey)->id, "r1");
}

TEST_F(SqliteStoreTest, UpsertsReplaceRowsAndKeepStepOrder) {
  applyOk({{PutRun{makeRun("r1")}, PutStep{makeStep("r1", "zeta")},
            PutStep{makeStep("r1", "alpha")}, PutAttempt{makeAttempt("r1", "zeta", 1)}}});
  RunRow run = makeRun("r1", "wf", RunState::kSucceeded);
  run.finishedAt = at(99);
  StepRow zeta = makeStep("r1", "zeta", StepState::kSucceeded);
  zeta.attempts = 1;
  AttemptRow attempt = makeAttempt("r1", "zeta", 1, AttemptState::kSucceeded);
  attempt.exitCode = 0;
  LogRow first{"r1", "zeta", 1, "first", "", 5, 0};
  LogRow second{"r1", "zeta", 1, "second", "err", 6, 3};
  applyOk({{PutRun{run}, PutStep{zeta}, PutAttempt{attempt}, PutLog{first}}});
  applyOk({{PutLog{second}}});

  RunDetail d = detail("r1");
  EXPECT_EQ(d.run, run);
  ASSERT_EQ(d.steps.size(), 2u);
  EXPECT_EQ(d.steps[0], zeta);  // first written, still first after the update
  EXPECT_EQ(d.steps[1].name, "alpha");
  ASSERT_EQ(d.attempts.size(), 1u);
  EXPECT_EQ(d.attempts[0], attempt);
  auto logs = store_->stepLogs("r1", "zeta");
  ASSERT_TRUE(logs.ok());
  ASSERT_EQ(logs->size(), 1u);
  EXPECT_EQ((*logs)[0], second);
}

TEST_F(SqliteStoreTest, StepOrderSurvivesReopen) {
  applyOk({{PutRun{makeRun("r1")}, PutStep{makeStep("r1", "b")}, PutStep{makeStep("r1", "a")}}});
  reopen();
  applyOk({{PutRun{makeRun("r2")}, PutStep{makeStep("r2", "y")}, PutStep{makeStep("r1", "c")},
            PutStep{makeStep("r2", "x")}}});
  RunDetail d1 = detail("r1");
  ASSERT_EQ(d1.steps.size(), 3u);
  EXPECT_EQ(d1.steps[0].name, "b");
  EXPECT_EQ(d1.steps[1].name, "a");
  EXPECT_EQ(d1.steps[2].name, "c");
  RunDetail d2 = detail("r2");
  ASSERT_EQ(d2.steps.size(), 2u);
  EXPECT_EQ(d2.steps[0].name, "y");
  EXPECT_EQ(d2.steps[1].name, "x");
}

TEST_F(SqliteStoreTest, AttemptsComeInStepOrderThenNumber) {
  applyOk(
      {{PutRun{makeRun("r1")}, PutStep{makeStep("r1", "second")}, PutStep{makeStep("r1", "first")},
        PutAttempt{makeAttempt("r1", "first", 2)}, PutAttempt{makeAttempt("r1", "second", 1)},
        PutAttempt{makeAttempt("r1", "first", 1)}}});
  RunDetail d = detail("r1");
  ASSERT_EQ(d.attempts.size(), 3u);
  EXPECT_EQ(d.attempts[0].step, "second");
  EXPECT_EQ(d.attempts[1].step, "first");
  EXPECT_EQ(d.attempts[1].n, 1);
  EXPECT_EQ(d.attempts[2].n, 2);
}

TEST_F(SqliteStoreTest, EventsAndLogsComeInOrder) {
  applyOk({{PutRun{makeRun("r1")}, AppendEvent{makeEvent("r1", "run_created")},
            PutLog{{"r1", "a", 2, "two", "", 3, 0}}}});
  applyOk({{AppendEvent{makeEvent("r1", "step_started", "a")},
            AppendEvent{makeEvent("r1", "step_finished", "a")},
            PutLog{{"r1", "a", 1, "one", "", 3, 0}}}});
  auto events = store_->runEvents("r1");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].kind, "run_created");
  EXPECT_EQ((*events)[1].kind, "step_started");
  EXPECT_EQ((*events)[2].kind, "step_finished");
  EXPECT_LT((*events)[0].seq, (*events)[1].seq);
  EXPECT_LT((*events)[1].seq, (*events)[2].seq);
  auto logs = store_->stepLogs("r1", "a");
  ASSERT_TRUE(logs.ok());
  ASSERT_EQ(logs->size(), 2u);
  EXPECT_EQ((*logs)[0].stdoutText, "one");
  EXPECT_EQ((*logs)[1].stdoutText, "two");
  auto none = store_->stepLogs("r1", "b");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto second = store_->stepLogs("r1", "a", 2);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].attempt, 2);
  EXPECT_EQ((*second)[0].stdoutText, "two");
  auto third = store_->stepLogs("r1", "a", 3);
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(third->empty());
}

// Rows go many per statement: a step, an attempt and a log written several
// times in one batch (inside one statement and across two) end as their
// last write says, and steps keep the order of their first write.
TEST_F(SqliteStoreTest, RowsWrittenTwiceInOneBatchEndAsTheLastWriteSays) {
  Batch batch;
  batch.mutations.emplace_back(PutRun{makeRun("r1")});
  const std::vector<std::string> names = {"e", "d", "c", "b", "a"};
  for (int round = 0; round < 4; ++round)  // 20 step writes: 16 in one statement, then 4
    for (const auto& name : names) {
      StepRow step = makeStep("r1", name, round == 3 ? StepState::kSucceeded : StepState::kRunning);
      step.attempts = round;
      step.outputJson = fmt::format(R"({{"round":{}}})", round);
      batch.mutations.emplace_back(PutStep{step});
      AttemptRow attempt = makeAttempt("r1", name, 1, AttemptState::kRunning);
      attempt.message = fmt::format("round {}", round);
      batch.mutations.emplace_back(PutAttempt{attempt});
      batch.mutations.emplace_back(
          PutLog{{"r1", name, 1, fmt::format("out {}", round), "", round, 0}});
    }
  applyOk(batch);
  RunDetail d = detail("r1");
  ASSERT_EQ(d.steps.size(), names.size());
  ASSERT_EQ(d.attempts.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    SCOPED_TRACE(names[i]);
    EXPECT_EQ(d.steps[i].name, names[i]);  // the order of first writes
    EXPECT_EQ(d.steps[i].state, StepState::kSucceeded);
    EXPECT_EQ(d.steps[i].attempts, 3);
    EXPECT_EQ(d.steps[i].outputJson, R"({"round":3})");
    auto logs = store_->stepLogs("r1", names[i]);
    ASSERT_TRUE(logs.ok());
    ASSERT_EQ(logs->size(), 1u);
    EXPECT_EQ((*logs)[0].stdoutText, "out 3");
    EXPECT_EQ((*logs)[0].stdoutBytes, 3);
  }
  for (const auto& a : d.attempts) EXPECT_EQ(a.message, "round 3") << a.step;
}

// A batch's events are inserted many rows per statement: 37 of them, two
// runs interleaved, come back whole, each run's in the order appended, and
// the seq of each follows the batch's order.
TEST_F(SqliteStoreTest, ManyEventsOfOneBatchKeepTheirOrderAndFields) {
  Batch batch;
  batch.mutations.emplace_back(PutRun{makeRun("r1")});
  std::vector<EventRow> appended;
  for (int i = 0; i < 37; ++i) {
    EventRow e = makeEvent(i % 2 ? "r2" : "r1", fmt::format("kind_{}", i), "a");
    e.attempt = i;
    e.message = fmt::format("message 'quoted' {}", i);
    e.actor = i % 3 ? "keel" : "alice";
    e.reason = fmt::format("reason {}", i);
    e.at = at(i);
    appended.push_back(e);
    batch.mutations.emplace_back(AppendEvent{e});
  }
  batch.mutations.emplace_back(PutRun{makeRun("r2")});  // after its events: checked at COMMIT
  applyOk(batch);
  int64_t lastSeq = 0;
  std::vector<EventRow> back;
  for (const char* run : {"r1", "r2"}) {
    auto events = store_->runEvents(run);
    ASSERT_TRUE(events.ok()) << events.error().toString();
    ASSERT_EQ(events->size(), std::string(run) == "r1" ? 19u : 18u);
    back.insert(back.end(), events->begin(), events->end());
  }
  std::sort(back.begin(), back.end(),
            [](const EventRow& x, const EventRow& y) { return x.seq < y.seq; });
  ASSERT_EQ(back.size(), appended.size());
  for (size_t i = 0; i < back.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_GT(back[i].seq, lastSeq);
    lastSeq = back[i].seq;
    EXPECT_EQ(back[i].runId, appended[i].runId);
    EXPECT_EQ(back[i].kind, appended[i].kind);
    EXPECT_EQ(back[i].step, "a");
    EXPECT_EQ(back[i].attempt, appended[i].attempt);
    EXPECT_EQ(back[i].message, appended[i].message);
    EXPECT_EQ(back[i].actor, appended[i].actor);
    EXPECT_EQ(back[i].reason, appended[i].reason);
    EXPECT_EQ(back[i].at, appended[i].at);
  }
}

// An event of a run that the batch never writes fails the whole batch,
// whether it went in a statement of many rows or alone.
TEST_F(SqliteStoreTest, AnEventOfAMissingRunFailsItsWholeBatch) {
  for (int count : {1, 16, 17}) {
    SCOPED_TRACE(count);
    Batch batch;
    batch.mutations.emplace_back(PutRun{makeRun(fmt::format("ok-{}", count))});
    for (int i = 0; i < count; ++i)
      batch.mutations.emplace_back(
          AppendEvent{makeEvent(i == count - 1 ? "ghost" : fmt::format("ok-{}", count), "x")});
    EXPECT_FALSE(store_->apply(batch).ok());
    auto run = store_->getRun(fmt::format("ok-{}", count));
    ASSERT_TRUE(run.ok());
    EXPECT_FALSE(run->has_value());
  }
}

// Live tokens are kept in memory after their first lookup; a revocation
// or a new token is seen by the very next lookup.
TEST_F(SqliteStoreTest, ATokenLookupSeesARevocationAtOnce) {
  TokenRow alice{"alice", "hash-alice", "admin", at(1), "keel serve", std::nullopt};
  ASSERT_TRUE(store_->putToken(alice).ok());
  for (int i = 0; i < 2; ++i) {  // the second lookup is served from memory
    auto found = store_->findTokenByHash("hash-alice");
    ASSERT_TRUE(found.ok()) << found.error().toString();
    ASSERT_TRUE(found->has_value());
    EXPECT_FALSE((*found)->revokedAt);
  }
  auto unknown = store_->findTokenByHash("hash-bob");
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());
  ASSERT_TRUE(store_->putToken({"bob", "hash-bob", "admin", at(2), "alice", std::nullopt}).ok());
  unknown = store_->findTokenByHash("hash-bob");
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(unknown->has_value()) << "an unknown secret was remembered as unknown";

  ASSERT_TRUE(store_->revokeToken("alice", at(3)).ok());
  auto revoked = store_->findTokenByHash("hash-alice");
  ASSERT_TRUE(revoked.ok());
  ASSERT_TRUE(revoked->has_value());
  EXPECT_EQ((*revoked)->revokedAt, at(3));
}

TEST_F(SqliteStoreTest, MissingRowsReadAsNothing) {
  auto run = store_->getRun("nope");
  ASSERT_TRUE(run.ok());
  EXPECT_FALSE(run->has_value());
  auto events = store_->runEvents("nope");
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
  auto wf = store_->getWorkflow("nope", 0);
  ASSERT_TRUE(wf.ok());
  EXPECT_FALSE(wf->has_value());
  auto integrity = store_->integrityCheck();
  ASSERT_TRUE(integrity.ok());
  EXPECT_EQ(*integrity, "ok");
  EXPECT_TRUE(store_->apply(Batch{}).ok());
  EXPECT_TRUE(store_->renewLeases().ok());
}

TEST_F(SqliteStoreTest, IdempotencyKeyIsUniquePerWorkflow) {
  RunRow first = makeRun("r1", "wf");
  first.idempotencyKey = "k";
  applyOk({{PutRun{first}}});

  RunRow dup = makeRun("r2", "wf");
  dup.idempotencyKey = "k";
  Status s = store_->apply({{PutRun{dup}}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_NE(s.error().message().find("'k'"), std::string::npos) << s.error().message();

  RunRow otherWorkflow = makeRun("r3", "other");
  otherWorkflow.idempotencyKey = "k";
  RunRow noKey1 = makeRun("r4", "wf");
  RunRow noKey2 = makeRun("r5", "wf");
  first.state = RunState::kRunning;  // re-putting the owner of the key is an update
  applyOk({{PutRun{otherWorkflow}, PutRun{noKey1}, PutRun{noKey2}, PutRun{first}}});

  auto found = store_->findRunByIdempotencyKey("wf", "k");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, first);
  auto other = store_->findRunByIdempotencyKey("other", "k");
  ASSERT_TRUE(other.ok() && other->has_value());
  EXPECT_EQ((*other)->id, "r3");
  auto empty = store_->findRunByIdempotencyKey("wf", "");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());
  auto missing = store_->findRunByIdempotencyKey("wf", "zzz");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(SqliteStoreTest, ABatchWithAConflictWritesNothing) {
  RunRow first = makeRun("r1");
  first.idempotencyKey = "k";
  applyOk({{PutRun{first}, AppendEvent{makeEvent("r1", "run_created")}}});

  RunRow other = makeRun("r2");
  RunRow dup = makeRun("r3");
  dup.idempotencyKey = "k";
  RunRow changed = first;
  changed.state = RunState::kFailed;
  Status s = store_->apply({{PutRun{other}, PutStep{makeStep("r2", "a")}, PutRun{changed},
                             AppendEvent{makeEvent("r1", "run_failed")}, PutRun{dup},
                             PutLog{{"r1", "a", 1, "x", "", 1, 0}}}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kAlreadyExists);

  auto r2 = store_->getRun("r2");
  ASSERT_TRUE(r2.ok());
  EXPECT_FALSE(r2->has_value());
  EXPECT_EQ(detail("r1").run, first);
  auto events = store_->runEvents("r1");
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 1u);
  // The writer is usable again: no transaction was left open.
  applyOk({{PutRun{other}}});
  EXPECT_EQ(detail("r2").run, other);
}

TEST_F(SqliteStoreTest, ChildRowsOfAMissingRunFailTheCommit) {
  Status s = store_->apply({{PutRun{makeRun("r1")}, PutStep{makeStep("ghost", "a")}}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("commit failed, the batch is not durable"), std::string::npos)
      << s.error().message();
  auto r1 = store_->getRun("r1");
  ASSERT_TRUE(r1.ok());
  EXPECT_FALSE(r1->has_value());
  applyOk({{PutRun{makeRun("r1")}}});
}

TEST_F(SqliteStoreTest, ChildRowsMayPrecedeTheirRunInABatch) {
  applyOk({{PutStep{makeStep("r1", "a")}, AppendEvent{makeEvent("r1", "run_created")},
            PutRun{makeRun("r1")}}});
  EXPECT_EQ(detail("r1").steps.size(), 1u);
}

}  // namespace
}  // namespace keel::store
