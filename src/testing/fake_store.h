// FakeStore: an in-memory store::Store holding canned rows, for API and CLI
// tests. The test fills the public vectors before serving requests; the
// reads filter them the way the real store does (runs newest first by id,
// cursor = "ids below this one"). Run writes are accepted and ignored;
// token writes change `tokens`. With
// readError set, every read fails with it. Test only; reads are
// thread-safe once the data is in place.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace keel::testing {

class FakeStore final : public store::Store {
 public:
  std::vector<store::WorkflowVersionRow> workflows;  // every version
  std::vector<store::RunDetail> runs;
  std::vector<store::EventRow> events;
  std::vector<store::LogRow> logs;
  std::vector<store::TokenRow> tokens;  // putToken/revokeToken change these
  std::vector<store::ScheduleStateRow> scheduleStates;
  std::vector<store::WorkflowControlRow> workflowControls;
  std::optional<Error> readError;
  std::vector<store::SubscriptionRow> subscriptions;  // listSubscriptions() answers these
  std::vector<store::WebhookDeliveryRow> deliveries;  // redeliverDead() changes these
  // The audit log: apply() and the token, subscription and redelivery
  // writes seal and append their entries here; the audit reads answer it.
  std::vector<audit::Entry> audit;

  Status apply(const store::Batch& batch) override;
  Result<store::WorkflowVersionRow> putWorkflow(const store::WorkflowVersionRow& row,
                                                const audit::Entry* entry) override;
  Result<std::vector<store::ActiveRun>> claimRuns() override;
  Status renewLeases() override;
  Status putToken(const store::TokenRow& row, const audit::Entry* entry) override;
  Result<store::TokenRow> revokeToken(const std::string& name, WallTime at,
                                      const audit::Entry* entry) override;
  Result<audit::Head> auditHead() override;
  Result<std::vector<audit::Entry>> listAudit(const store::AuditFilter& filter) override;
  Result<std::vector<audit::Entry>> auditEntries(int64_t afterSeq, int limit) override;

  Result<std::optional<store::WorkflowVersionRow>> getWorkflow(const std::string& name,
                                                               int version) override;
  Result<std::vector<store::WorkflowVersionRow>> listWorkflows() override;
  Result<std::vector<store::WorkflowVersionRow>> workflowVersions(const std::string& name) override;
  Result<std::optional<store::RunRow>> findRunByIdempotencyKey(const std::string& workflow,
                                                               const std::string& key) override;
  Result<std::optional<store::RunDetail>> getRun(const std::string& id) override;
  Result<std::vector<store::RunRow>> listRuns(const store::RunFilter& filter) override;
  Result<std::vector<store::EventRow>> runEvents(const std::string& runId) override;
  Result<std::vector<store::LogRow>> stepLogs(const std::string& runId, const std::string& step,
                                              std::optional<int> attempt) override;
  Result<std::vector<store::ScheduleStateRow>> listScheduleStates() override;
  Result<std::vector<store::WorkflowControlRow>> listWorkflowControls() override;
  Result<std::vector<store::TokenRow>> listTokens() override;
  Result<std::optional<store::TokenRow>> findTokenByHash(const std::string& hash) override;
  Result<std::string> integrityCheck() override;
  Result<std::vector<store::SubscriptionRow>> listSubscriptions() override;
  // A new version unless the latest one of that name has the same text.
  Result<store::SubscriptionRow> putSubscription(const store::SubscriptionRow& row,
                                                 const audit::Entry* entry) override;
  // In the order of `deliveries` (the test lists them newest first).
  Result<std::vector<store::WebhookDeliveryRow>> listWebhookDeliveries(const std::string& state,
                                                                       int limit) override;
  Result<int64_t> redeliverDead(const std::string& eventId, const std::string& topic, WallTime at,
                                const audit::Entry* entry) override;

  // The filter of the last listRuns() call.
  store::RunFilter lastFilter() const;
  // The attempt the last stepLogs() call asked for (nullopt: every one).
  std::optional<int> lastLogsAttempt() const;

 private:
  void appendAudit(const audit::Entry* entry);  // with mu_ held

  mutable std::mutex mu_;
  store::RunFilter lastFilter_;
  std::optional<int> lastLogsAttempt_;
};

}  // namespace keel::testing
