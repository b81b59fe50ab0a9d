// Events in: an event starts one run per matching event trigger, durable
// with the event; a repeated (topic, id) answers the same runs, across a
// restart and between two concurrent deliveries.
#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

using nlohmann::json;

constexpr const char* kLoader = R"(
params: { path: , region: { default: any } }
triggers:
  - event: files.arrived
    match: { region: eu, file.kind: csv }
    params: { path: "{{ event.payload.file.path }}", region: "{{ event.payload.region }}" }
  - event: files.arrived
    match: { region: us }
steps:
  - { name: load, run: "load {{ params.path }}", timeout: 1m }
)";

constexpr const char* kAuditor = R"(
triggers:
  - event: files.arrived
steps:
  - { name: note, run: "note", timeout: 1m }
)";

class EngineEventsTest : public EngineTest {
 protected:
  Result<EventResult> emit(const std::string& topic, const std::string& id, json payload) {
    auto f = engine_->emitEvent({topic, id, std::move(payload)});
    engine_->pump();
    return f.get();
  }
  json euCsv() const {
    return {{"region", "eu"}, {"file", {{"kind", "csv"}, {"path", "/in/a b.csv"}}}};
  }
};

TEST_F(EngineEventsTest, AMatchingEventStartsOneRunPerTriggerWithItsParams) {
  apply(workflow("loader", kLoader));
  apply(workflow("auditor", kAuditor));
  auto r = emit("files.arrived", "e1", euCsv());
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_TRUE(r->created);
  EXPECT_TRUE(r->errors.empty());
  ASSERT_EQ(r->runIds.size(), 2u);  // auditor (any event), loader (its first trigger)
  std::map<std::string, store::RunDetail> byWorkflow;
  for (const auto& id : r->runIds) {
    auto d = detail(id);
    byWorkflow[d.run.workflow] = d;
  }
  ASSERT_EQ(byWorkflow.count("loader"), 1u);
  const auto& loader = byWorkflow["loader"].run;
  EXPECT_EQ(json::parse(loader.paramsJson), json({{"path", "/in/a b.csv"}, {"region", "eu"}}));
  EXPECT_EQ(loader.idempotencyKey, "event:files.arrived:e1:0");
  EXPECT_EQ(json::parse(byWorkflow["auditor"].run.paramsJson), json::object());
  bool found = false;
  auto timeline = store_->runEvents(loader.id);
  ASSERT_TRUE(timeline.ok());
  for (const auto& e : *timeline)
    found = found || (e.kind == "started_by_event" &&
                      e.message.find("files.arrived/e1") != std::string::npos);
  EXPECT_TRUE(found);
  ASSERT_EQ(exec_.started.size(), 2u);
  // The event is stored with its runs.
  auto stored = store_->findInboundEvent("files.arrived", "e1");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->runIds, r->runIds);
  // No match: the us trigger has no params, and loader needs `path`.
  auto other = emit("files.arrived", "e2", {{"region", "us"}});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->runIds.size(), 1u);  // auditor only
  ASSERT_EQ(other->errors.size(), 1u);
  EXPECT_EQ(other->errors[0].workflow, "loader");
  EXPECT_NE(other->errors[0].message.find("path"), std::string::npos) << other->errors[0].message;
  auto none = emit("files.gone", "e1", euCsv());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->runIds.empty());
}

TEST_F(EngineEventsTest, ASecondDeliveryAnswersTheSameRunsEvenAfterARestart) {
  apply(workflow("loader", kLoader));
  auto first = emit("files.arrived", "e1", euCsv());
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->runIds.size(), 1u);
  auto again = emit("files.arrived", "e1", euCsv());
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->runIds, first->runIds);
  auto conflict = emit("files.arrived", "e1", {{"region", "eu"}});
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().code(), ErrorCode::kIdempotencyConflict);
  crashAndRestart();
  auto after = emit("files.arrived", "e1", euCsv());
  ASSERT_TRUE(after.ok()) << after.error().toString();
  EXPECT_FALSE(after->created);
  EXPECT_EQ(after->runIds, first->runIds);
  EXPECT_EQ(store_->listRuns({})->size(), 1u);
}

TEST_F(EngineEventsTest, TwoConcurrentDeliveriesStartOneSetOfRuns) {
  apply(workflow("loader", kLoader));
  apply(workflow("auditor", kAuditor));
  // Both look the event up before either reaches the loop.
  auto f1 = engine_->emitEvent({"files.arrived", "e1", euCsv()});
  auto f2 = engine_->emitEvent({"files.arrived", "e1", euCsv()});
  engine_->pump();
  auto r1 = f1.get();
  auto r2 = f2.get();
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_TRUE(r1->created);
  EXPECT_FALSE(r2->created);
  EXPECT_EQ(r1->runIds, r2->runIds);
  EXPECT_EQ(store_->listRuns({})->size(), 2u);
  // And one arriving while the first is durable but still in flight.
  auto f3 = engine_->emitEvent({"files.arrived", "e3", euCsv()});
  engine_->pump();
  auto f4 = engine_->emitEvent({"files.arrived", "e3", euCsv()});
  engine_->pump();
  EXPECT_EQ(f3.get()->runIds, f4.get()->runIds);
  EXPECT_EQ(store_->listRuns({})->size(), 4u);
}

TEST_F(EngineEventsTest, BadEventsAreRefusedAndManualKeysCannotTakeEventKeys) {
  apply(workflow("loader", kLoader));
  EXPECT_EQ(emit("bad topic", "e1", json::object()).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(emit("t", "", json::object()).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(emit("t", "e", json::array()).error().code(), ErrorCode::kInvalidArgument);
  auto f = engine_->trigger({"loader", {{"path", "x"}}, "event:files.arrived:e1:0"});
  engine_->pump();
  auto r = f.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace keel::engine::test
