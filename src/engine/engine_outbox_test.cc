// Events out: a step's emit: and a workflow's on_end: are written to the
// outbox in the batch of the step's success or the run's end, and their
// delivery through the events-in path starts each subscribed run once.
#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kProducer = R"(
params: { region: { default: eu } }
steps:
  - name: load
    run: "load"
    timeout: 1m
    emit:
      topic: loads.done
      payload: { rows: "{{ steps.load.output.rows }}", region: "{{ params.region }}", run: "{{ run.id }}" }
on_end:
  - state: succeeded
    emit: { topic: runs.ended, payload: { how: ok, rows: "{{ steps.load.output.rows }}" } }
  - state: failed
    emit: { topic: runs.ended, payload: { how: failed } }
  - state: finished
    emit: runs.any
)";

constexpr const char* kConsumer = R"(
params: { rows: }
triggers:
  - event: loads.done
    params: { rows: "{{ event.payload.rows }}" }
steps:
  - { name: count, run: "count {{ params.rows }}", timeout: 1m }
)";

class EngineOutboxTest : public EngineTest {
 protected:
  std::vector<store::OutboxEventRow> pending() {
    auto rows = store_->pendingOutbox(0, 100);
    EXPECT_TRUE(rows.ok()) << rows.error().toString();
    return rows.ok() ? *rows : std::vector<store::OutboxEventRow>{};
  }
  store::OutboxEventRow outboxEvent(const std::string& id) {
    auto row = store_->findOutboxEvent(id);
    EXPECT_TRUE(row.ok() && row->has_value()) << id;
    return row.ok() && row->has_value() ? **row : store::OutboxEventRow{};
  }
  Result<EventResult> deliver(const store::OutboxEventRow& row) {
    EventRequest r{row.topic, row.id, json::parse(row.payloadJson), true};
    auto f = engine_->emitEvent(r);
    engine_->pump();
    return f.get();
  }
  std::vector<store::RunRow> runsOf(const std::string& wf) {
    store::RunFilter filter;
    filter.workflow = wf;
    auto runs = store_->listRuns(filter);
    EXPECT_TRUE(runs.ok());
    return runs.ok() ? *runs : std::vector<store::RunRow>{};
  }
};

TEST_F(EngineOutboxTest, AStepsEmitAndTheRunsOnEndAreWrittenWithTheirEnd) {
  apply(workflow("producer", kProducer));
  std::string id = trigger("producer");
  ASSERT_EQ(exec_.started.size(), 1u);
  EXPECT_TRUE(pending().empty());
  exec_.succeed(0, R"({"rows": 3})");
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kSucceeded);
  auto rows = pending();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].id, id + ".load.emit");
  EXPECT_EQ(rows[0].topic, "loads.done");
  EXPECT_EQ(rows[0].source, "step load");
  EXPECT_EQ(json::parse(rows[0].payloadJson), json({{"rows", 3}, {"region", "eu"}, {"run", id}}));
  EXPECT_EQ(rows[1].id, id + ".end.1");
  EXPECT_EQ(json::parse(rows[1].payloadJson), json({{"how", "ok"}, {"rows", 3}}));
  EXPECT_EQ(rows[2].id, id + ".end.3");  // finished: any end; the failed item did not match
  EXPECT_EQ(rows[2].topic, "runs.any");
  EXPECT_EQ(rows[2].payloadJson, "{}");
  EXPECT_LT(rows[0].seq, rows[1].seq);
}

// The step's success and its event are one batch: a failed commit writes
// neither, and the retried commit writes the event exactly once.
TEST_F(EngineOutboxTest, AnEndWhoseCommitFailsWritesNoEventAndTheRetryWritesOne) {
  apply(workflow("producer", kProducer));
  std::string id = trigger("producer");
  flaky_->failures = 1;
  exec_.succeed(0, R"({"rows": 3})");
  engine_->pump();
  EXPECT_TRUE(pending().empty()) << "an event was written without its step's end";
  EXPECT_EQ(detail(id).run.state, RunState::kRunning);
  clock_.advance(100ms);
  engine_->pump();
  EXPECT_EQ(detail(id).run.state, RunState::kSucceeded);
  auto rows = pending();
  ASSERT_EQ(rows.size(), 3u);
  std::set<std::string> ids;
  for (const auto& r : rows) ids.insert(r.id);
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_TRUE(ids.count(id + ".load.emit"));
}

// A value missing at run time (the step's output has no `rows`): the event
// is recorded as failed with the reason, never delivered, and the step and
// the run still succeed.
TEST_F(EngineOutboxTest, APayloadThatCannotRenderIsRecordedAsFailed) {
  apply(workflow("producer", kProducer));
  std::string id = trigger("producer");
  exec_.succeed(0, R"({"other": 1})");
  engine_->pump();
  EXPECT_EQ(detail(id).run.state, RunState::kSucceeded);
  auto failed = outboxEvent(id + ".load.emit");
  EXPECT_EQ(failed.state, "failed");
  EXPECT_NE(failed.error.find("rows"), std::string::npos) << failed.error;
  bool inTimeline = false;
  auto events = store_->runEvents(id);
  ASSERT_TRUE(events.ok());
  for (const auto& e : *events)
    inTimeline = inTimeline || (e.kind == "emit_failed" && e.step == "load");
  EXPECT_TRUE(inTimeline);
  for (const auto& r : pending()) EXPECT_NE(r.id, id + ".load.emit");
}

TEST_F(EngineOutboxTest, DeliveryStartsTheSubscribedRunOnceAndMarksTheEventDelivered) {
  apply(workflow("producer", kProducer));
  apply(workflow("consumer", kConsumer));
  std::string id = trigger("producer");
  exec_.succeed(0, R"({"rows": 7})");
  engine_->pump();
  auto rows = pending();
  ASSERT_FALSE(rows.empty());
  auto event = rows[0];
  ASSERT_EQ(event.topic, "loads.done");
  // keel dies after the emitting end, before any delivery.
  crashAndRestart();
  ASSERT_EQ(pending().front().id, event.id);
  auto first = deliver(event);
  ASSERT_TRUE(first.ok()) << first.error().toString();
  ASSERT_EQ(first->runIds.size(), 1u);
  EXPECT_EQ(outboxEvent(event.id).state, "delivered");
  EXPECT_TRUE(outboxEvent(event.id).deliveredAt.has_value());
  EXPECT_EQ(json::parse(detail(first->runIds[0]).run.paramsJson), json({{"rows", "7"}}));
  // A delivery made again (its answer lost in a crash) starts nothing new.
  auto again = deliver(event);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->runIds, first->runIds);
  EXPECT_EQ(runsOf("consumer").size(), 1u);
  for (const auto& r : pending()) EXPECT_NE(r.id, event.id);
}

// The same (topic, id) received through the API first: the outbox
// delivery finds it, starts nothing and still marks the event delivered.
TEST_F(EngineOutboxTest, AnEventReceivedAlreadyIsMarkedDeliveredWithoutNewRuns) {
  apply(workflow("producer", kProducer));
  apply(workflow("consumer", kConsumer));
  std::string id = trigger("producer");
  exec_.succeed(0, R"({"rows": 7})");
  engine_->pump();
  auto event = pending().front();
  auto f = engine_->emitEvent({event.topic, event.id, json::parse(event.payloadJson)});
  engine_->pump();
  ASSERT_TRUE(f.get().ok());
  EXPECT_EQ(outboxEvent(event.id).state, "pending");
  auto delivered = deliver(event);
  ASSERT_TRUE(delivered.ok()) << delivered.error().toString();
  EXPECT_FALSE(delivered->created);
  EXPECT_EQ(outboxEvent(event.id).state, "delivered");
  EXPECT_EQ(runsOf("consumer").size(), 1u);
}

// A manual retry that ends the run again writes no second event for an
// on_end item that already fired.
TEST_F(EngineOutboxTest, ARetriedRunEndingAgainEmitsNothingNew) {
  apply(workflow("producer", kProducer));
  std::string id = trigger("producer");
  exec_.fail(0, FailureClass::kBadInput, 2);
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kFailed);
  auto before = pending();
  ASSERT_EQ(before.size(), 2u);  // failed, finished
  EXPECT_EQ(before[0].id, id + ".end.2");
  auto r = engine_->retry(id, {});
  engine_->pump();
  ASSERT_TRUE(r.get().ok());
  exec_.fail(exec_.started.size() - 1, FailureClass::kBadInput, 2);
  engine_->pump();
  ASSERT_EQ(detail(id).run.state, RunState::kFailed);
  EXPECT_EQ(pending(), before);
}

}  // namespace
}  // namespace keel::engine::test
