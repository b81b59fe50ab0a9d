// The audit entries of what keel decides by itself in a person's place: an
// approval decided by its timeout (either way), an incident mitigated when
// its run recovers, an incident reopened when its workaround lapses. Each
// is one entry, actor `keel`, in the batch of the change; escalation and
// opening an incident stay out of the log.
#include <gtest/gtest.h>

#include "audit/verify.h"
#include "engine/engine_test_fixture.h"

namespace keel::engine::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kRelease = R"(
steps:
  - name: go-live
    approval:
      approvers: [ops-leads]
      timeout: 4h
      on_timeout: ON_TIMEOUT
)";

constexpr const char* kKeelAuditFeed = R"(
steps:
  - { name: fetch, run: "fetch", timeout: 1m, retry: { max_attempts: 1 } }
)";

class KeelAuditTest : public EngineTest {
 protected:
  std::vector<audit::Entry> log() {
    auto rows = store_->auditEntries(0, 1000);
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? *rows : std::vector<audit::Entry>{};
  }
  std::vector<audit::Entry> entries(const std::string& action) {
    std::vector<audit::Entry> out;
    for (auto& e : log())
      if (e.action == action) out.push_back(e);
    return out;
  }
  // The batch holding the entry `action` also holds a mutation M.
  template <typename M>
  bool inBatchWith(const std::string& action) {
    for (const auto& b : flaky_->batches) {
      bool entry = false, also = false;
      for (const auto& m : b.mutations) {
        if (auto* a = std::get_if<store::AppendAudit>(&m); a && a->entry.action == action)
          entry = true;
        also |= std::holds_alternative<M>(m);
      }
      if (entry) return also;
    }
    return false;
  }
  std::string failingFeed() {
    auto id = trigger("feed");
    exec_.fail(exec_.started.size() - 1, FailureClass::kError, 3);
    engine_->pump();
    return id;
  }
  // The one entry `action`, made by keel on `target` for `reason`, in the
  // batch that also holds an M, on an intact chain.
  template <typename M>
  audit::Entry keelEntry(const std::string& action, const std::string& target,
                         const std::string& reason) {
    auto found = entries(action);
    EXPECT_EQ(found.size(), 1u) << action;
    if (found.size() != 1) return {};
    EXPECT_EQ(found[0].actor, "keel");
    EXPECT_EQ(found[0].target, target);
    EXPECT_EQ(found[0].reason, reason);
    EXPECT_TRUE(inBatchWith<M>(action));
    EXPECT_TRUE(audit::verify(log()).intact());
    return found[0];
  }
  std::string incidentId() {
    auto list = store_->listIncidents({});
    EXPECT_TRUE(list.ok() && list->size() == 1);
    return list.ok() && !list->empty() ? list->front().id : std::string();
  }
};

std::string release(const std::string& onTimeout) {
  std::string text = kRelease;
  text.replace(text.find("ON_TIMEOUT"), 10, onTimeout);
  return workflow("release", text);
}

TEST_F(KeelAuditTest, AnApprovalRejectedByItsTimeoutIsKeelsEntry) {
  flaky_->keepBatches = true;
  apply(release("fail"));
  auto id = trigger("release");
  clock_.advance(4h - 1s);
  engine_->pump();
  EXPECT_TRUE(entries("step.reject").empty()) << "no decision before the deadline";
  clock_.advance(1s);
  engine_->pump();
  auto rejected = keelEntry<store::PutAttempt>("step.reject", id, "no decision within 4h");
  EXPECT_NE(rejected.detailJson.find("\"step\":\"go-live\""), std::string::npos);
}

TEST_F(KeelAuditTest, AnApprovalApprovedByItsTimeoutIsKeelsEntry) {
  flaky_->keepBatches = true;
  apply(release("approve"));
  auto id = trigger("release");
  clock_.advance(4h);
  engine_->pump();
  keelEntry<store::PutAttempt>("step.approve", id, "no decision within 4h");
}

TEST_F(KeelAuditTest, ARecoveredRunMitigatesItsIncidentWithAnEntry) {
  flaky_->keepBatches = true;
  apply(workflow("feed", kKeelAuditFeed));
  auto run = failingFeed();
  const std::string id = incidentId();
  EXPECT_TRUE(entries("incident.mitigate").empty());
  auto f = engine_->retry(run, RequestContext{.token = "ops"});
  engine_->pump();
  ASSERT_TRUE(f.get().ok());
  exec_.succeed(exec_.started.size() - 1);
  engine_->pump();
  auto mitigated =
      keelEntry<store::PutIncident>("incident.mitigate", id, "run " + run + " recovered");
  EXPECT_NE(mitigated.detailJson.find("\"state\":\"mitigated\""), std::string::npos);
}

TEST_F(KeelAuditTest, ALapsedWorkaroundReopensItsIncidentWithAnEntry) {
  flaky_->keepBatches = true;
  apply(workflow("feed", kKeelAuditFeed));
  failingFeed();
  const std::string id = incidentId();
  auto ack =
      engine_->incidentAction({id, IncidentAction::kAcknowledge}, RequestContext{.token = "ops"});
  engine_->pump();
  ASSERT_TRUE(ack.get().ok());
  IncidentRequest w{id, IncidentAction::kWorkaround};
  w.workaround = "re-run by hand";
  w.expires = clock_.wallNow() + 24h;
  auto f = engine_->incidentAction(w, RequestContext{.token = "ops"});
  engine_->pump();
  ASSERT_TRUE(f.get().ok());
  clock_.advance(24h);
  engine_->pump();
  auto reopened = keelEntry<store::PutIncident>("incident.reopen", id,
                                                "its workaround expired without a structural fix");
  EXPECT_NE(reopened.detailJson.find("\"state\":\"open\""), std::string::npos);
  // Opening the incident and escalating it are keel's own: timeline only.
  for (const auto& e : log()) {
    EXPECT_NE(e.action.rfind("incident.open", 0), 0u);
    EXPECT_EQ(e.action.find("escalat"), std::string::npos);
  }
  EXPECT_TRUE(audit::verify(log()).intact());
}

}  // namespace
}  // namespace keel::engine::test
