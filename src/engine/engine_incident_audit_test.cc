// The audit entries of incident actions: each caller's ack, mitigate,
// workaround, action item done and resolve is one entry (actor, note as
// reason, request id), in the very batch that stores the incident's change;
// a refused action leaves none.
#include <gtest/gtest.h>

#include "audit/verify.h"
#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

constexpr const char* kAuditFeed = R"(
steps:
  - { name: fetch, run: "fetch", timeout: 1m, retry: { max_attempts: 1 } }
)";

class IncidentAuditTest : public EngineTest {
 protected:
  std::string openIncident() {
    apply(workflow("feed", kAuditFeed));
    trigger("feed");
    exec_.fail(exec_.started.size() - 1, FailureClass::kError, 3);
    engine_->pump();
    auto list = store_->listIncidents({});
    EXPECT_TRUE(list.ok() && list->size() == 1);
    return list.ok() && !list->empty() ? list->front().id : std::string();
  }
  Result<incidents::Incident> act(IncidentRequest r, std::string reason, std::string requestId) {
    RequestContext who{.token = "ops", .onBehalfOf = "alice"};
    who.reason = std::move(reason);
    who.requestId = std::move(requestId);
    auto f = engine_->incidentAction(std::move(r), who);
    engine_->pump();
    return f.get();
  }
  std::vector<audit::Entry> log() {
    auto rows = store_->auditEntries(0, 1000);
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? *rows : std::vector<audit::Entry>{};
  }
};

// The batch holding the entry `action` also holds the incident's record.
bool inBatchOfIncident(const std::vector<store::Batch>& batches, const std::string& action) {
  for (const auto& b : batches) {
    bool entry = false, incident = false;
    for (const auto& m : b.mutations) {
      if (auto* a = std::get_if<store::AppendAudit>(&m); a && a->entry.action == action)
        entry = true;
      incident |= std::holds_alternative<store::PutIncident>(m);
    }
    if (entry) return incident;
  }
  return false;
}

TEST_F(IncidentAuditTest, EachIncidentActionIsAuditedInTheBatchOfItsChange) {
  flaky_->keepBatches = true;
  const std::string id = openIncident();
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(act({id, IncidentAction::kAcknowledge}, "on it", "req-ack").ok());
  ASSERT_TRUE(act({id, IncidentAction::kMitigate}, "failed over", "req-mit").ok());
  IncidentRequest w{id, IncidentAction::kWorkaround};
  w.workaround = "re-run by hand";
  w.expires = clock_.wallNow() + std::chrono::hours(24);
  ASSERT_TRUE(act(w, "until the fix ships", "req-wa").ok());
  IncidentRequest r{id, IncidentAction::kResolve};
  r.resolve = {
      "the upstream file was late", {{0, "alert when late", "data", "2026-02-01", {}, {}}}, ""};
  ASSERT_TRUE(act(r, "fixed", "req-res").ok());
  IncidentRequest d{id, IncidentAction::kActionDone};
  d.actionItem = 1;
  ASSERT_TRUE(act(d, "alert shipped", "req-done").ok());

  auto entries = log();
  std::vector<std::string> actions;
  for (const auto& e : entries)
    if (e.action.rfind("incident.", 0) == 0) actions.push_back(e.action);
  EXPECT_EQ(actions,
            (std::vector<std::string>{"incident.ack", "incident.mitigate", "incident.workaround",
                                      "incident.resolve", "incident.action_done"}));
  for (const auto& e : entries) {
    if (e.action.rfind("incident.", 0) != 0) continue;
    EXPECT_EQ(e.actor, "alice (token ops)") << e.action;
    EXPECT_EQ(e.target, id) << e.action;
    EXPECT_FALSE(e.reason.empty()) << e.action;
    EXPECT_EQ(e.requestId.rfind("req-", 0), 0u) << e.action;
    EXPECT_TRUE(inBatchOfIncident(flaky_->batches, e.action)) << e.action;
  }
  const auto& ack = *std::find_if(entries.begin(), entries.end(),
                                  [](const audit::Entry& e) { return e.action == "incident.ack"; });
  EXPECT_EQ(ack.reason, "on it");
  EXPECT_EQ(ack.requestId, "req-ack");
  EXPECT_EQ(nlohmann::json::parse(ack.detailJson),
            nlohmann::json({{"incident", id}, {"workflow", "feed"}, {"state", "acknowledged"}}));
  const auto& done = *std::find_if(entries.begin(), entries.end(), [](const audit::Entry& e) {
    return e.action == "incident.action_done";
  });
  EXPECT_EQ(nlohmann::json::parse(done.detailJson)["action_item"], 1);
  EXPECT_TRUE(audit::verify(entries).intact()) << audit::verify(entries).problem;
}

TEST_F(IncidentAuditTest, ARefusedActionLeavesNoEntry) {
  const std::string id = openIncident();
  IncidentRequest r{id, IncidentAction::kResolve};
  r.resolve.rootCause = "late file";
  ASSERT_FALSE(act(r, "closing", "req-1").ok());
  for (const auto& e : log()) EXPECT_NE(e.action, "incident.resolve");
}

}  // namespace
}  // namespace keel::engine::test
