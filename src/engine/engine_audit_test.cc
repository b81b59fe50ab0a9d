// The audit entries of the engine's actions: one per action a caller asks
// for (with actor, reason and request id), in the very batch of the change
// it records; none for what keel does by itself; and a lost commit leaves
// the chain without a gap.
#include <algorithm>

#include "audit/record.h"
#include "audit/verify.h"
#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

using namespace std::chrono_literals;

std::vector<audit::Entry> auditLog(store::Store& store) {
  auto rows = store.auditEntries(0, 1000);
  EXPECT_TRUE(rows.ok()) << rows.error().toString();
  return rows.ok() ? *rows : std::vector<audit::Entry>{};
}

const audit::Entry* find(const std::vector<audit::Entry>& log, const std::string& action) {
  for (const auto& e : log)
    if (e.action == action) return &e;
  return nullptr;
}

// The batch that holds the entry `action` also holds `also` (a mutation
// type), or fails the test.
template <typename M>
bool sameBatch(const std::vector<store::Batch>& batches, const std::string& action) {
  for (const auto& b : batches) {
    bool hasEntry = false, hasChange = false;
    for (const auto& m : b.mutations) {
      if (auto* a = std::get_if<store::AppendAudit>(&m); a && a->entry.action == action)
        hasEntry = true;
      if (std::holds_alternative<M>(m)) hasChange = true;
    }
    if (hasEntry) return hasChange;
  }
  return false;
}

TEST_F(EngineTest, EachCallerActionIsAuditedInTheBatchOfItsChange) {
  flaky_->keepBatches = true;
  apply(workflow("w", "steps:\n  - { name: a, run: \"a\", timeout: 1h }\n"));
  TriggerRequest request{"w", nlohmann::json::object(), ""};
  request.who = {.token = "ci", .reason = "catch-up", .requestId = "req-1"};
  auto started = engine_->trigger(request);
  engine_->pump();
  auto run = started.get();
  ASSERT_TRUE(run.ok()) << run.error().toString();
  const std::string id = run->run.id;
  RequestContext alice{.token = "ops",
                       .role = "admin",
                       .onBehalfOf = "alice",
                       .reason = "warehouse down",
                       .requestId = "req-2"};
  auto cancelled = engine_->cancel(id, alice);
  engine_->pump();
  ASSERT_TRUE(cancelled.get().ok());
  exec_.fail(0, FailureClass::kCancelled, 1);
  engine_->pump();
  auto retried = engine_->retry(id, RequestContext{.token = "ops", .reason = "back"});
  engine_->pump();
  ASSERT_TRUE(retried.get().ok());
  auto paused = engine_->pauseWorkflow("w", RequestContext{.token = "ops", .reason = "deploy"});
  engine_->pump();
  ASSERT_TRUE(paused.get().ok());

  auto log = auditLog(*store_);
  ASSERT_EQ(log.size(), 5u);  // apply (keel itself: no API caller here), then four actions
  EXPECT_EQ(log[0].action, "workflow.apply");
  EXPECT_EQ(log[0].actor, audit::kKeelActor);
  EXPECT_EQ(log[0].detailJson, R"({"version":1,"workflow":"w"})");
  const audit::Entry* trig = find(log, "run.trigger");
  ASSERT_NE(trig, nullptr);
  EXPECT_EQ(trig->actor, "ci");
  EXPECT_EQ(trig->target, id);
  EXPECT_EQ(trig->reason, "catch-up");
  EXPECT_EQ(trig->requestId, "req-1");
  EXPECT_EQ(nlohmann::json::parse(trig->detailJson),
            nlohmann::json({{"run_id", id}, {"workflow", "w"}, {"version", 1}}));
  const audit::Entry* cancel = find(log, "run.cancel");
  ASSERT_NE(cancel, nullptr);
  EXPECT_EQ(cancel->actor, "alice (token ops)");
  EXPECT_EQ(cancel->reason, "warehouse down");
  EXPECT_EQ(cancel->requestId, "req-2");
  ASSERT_NE(find(log, "run.retry"), nullptr);
  EXPECT_EQ(find(log, "run.retry")->reason, "back");
  const audit::Entry* pause = find(log, "workflow.pause");
  ASSERT_NE(pause, nullptr);
  EXPECT_EQ(pause->target, "w");
  EXPECT_TRUE(audit::verify(log).intact()) << audit::verify(log).problem;

  EXPECT_TRUE(sameBatch<store::PutRun>(flaky_->batches, "run.trigger"));
  EXPECT_TRUE(sameBatch<store::AppendEvent>(flaky_->batches, "run.cancel"));
  EXPECT_TRUE(sameBatch<store::PutWorkflowControl>(flaky_->batches, "workflow.pause"));

  // The version row names who applied it.
  auto versions = store_->workflowVersions("w");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ(versions->front().appliedBy, "");
}

TEST_F(EngineTest, WhatKeelDoesByItselfIsNotAudited) {
  apply(workflow("up", "steps:\n  - { name: a, noop: true }\n"));
  apply(workflow("down", R"(
triggers:
  - after: { workflow: up, state: succeeded }
steps:
  - { name: b, noop: true }
)"));
  trigger("up");
  engine_->pump();
  store::RunFilter downs;
  downs.workflow = "down";
  auto chained = store_->listRuns(downs);
  ASSERT_TRUE(chained.ok());
  ASSERT_EQ(chained->size(), 1u) << "the after: trigger started no run";
  auto log = auditLog(*store_);
  int triggers = static_cast<int>(std::count_if(
      log.begin(), log.end(), [](const audit::Entry& e) { return e.action == "run.trigger"; }));
  EXPECT_EQ(triggers, 1) << "the chained run of 'down' is keel's own";
}

TEST_F(EngineTest, ApplyRecordsWhoAppliedTheVersionInItsTransaction) {
  RequestContext bob{.token = "ops", .onBehalfOf = "bob", .reason = "new step"};
  auto f = engine_->applyWorkflow(workflow("w", "steps:\n  - { name: a, noop: true }\n"), "", bob);
  ASSERT_TRUE(f.get().ok());
  auto again =
      engine_->applyWorkflow(workflow("w", "steps:\n  - { name: a, noop: true }\n"), "", bob);
  ASSERT_TRUE(again.get().ok());
  auto versions = store_->workflowVersions("w");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ(versions->front().appliedBy, "bob (token ops)");
  auto log = auditLog(*store_);
  ASSERT_EQ(log.size(), 1u) << "the same text applied again changes nothing and is not audited";
  EXPECT_EQ(log[0].action, "workflow.apply");
  EXPECT_EQ(log[0].actor, "bob (token ops)");
  EXPECT_EQ(log[0].reason, "new step");
}

TEST_F(EngineTest, ALostCommitLeavesNoGapInTheAuditChain) {
  apply(workflow("disk", "steps:\n  - { name: a, run: \"a\", timeout: 1m }\n"));
  auto head = store_->auditHead();
  ASSERT_TRUE(head.ok());
  flaky_->failures = 1;
  TriggerRequest request{"disk", nlohmann::json::object(), ""};
  request.who.token = "ci";
  auto f = engine_->trigger(request);
  engine_->pump();  // the commit fails: neither the run nor its entry is written
  auto after = store_->auditHead();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, *head);
  clock_.advance(100ms);
  engine_->pump();  // written again, together
  ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
  ASSERT_TRUE(f.get().ok());
  auto log = auditLog(*store_);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1].action, "run.trigger");
  EXPECT_EQ(log[1].seq, head->seq + 1);
  EXPECT_TRUE(audit::verify(log).intact()) << audit::verify(log).problem;
}

}  // namespace
}  // namespace keel::engine::test
