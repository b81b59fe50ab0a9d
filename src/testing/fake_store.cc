#include "testing/fake_store.h"

#include <algorithm>
#include <map>

#include "core/ids.h"

namespace keel::testing {

Status FakeStore::apply(const store::Batch& batch) {
  std::lock_guard lock(mu_);
  for (const auto& m : batch.mutations)
    if (const auto* a = std::get_if<store::AppendAudit>(&m)) appendAudit(&a->entry);
  return okStatus();
}

void FakeStore::appendAudit(const audit::Entry* entry) {
  if (entry == nullptr) return;
  audit::Entry e = *entry;
  audit::Head head;
  if (!audit.empty()) head = {audit.back().seq, audit.back().hash};
  audit::seal(e, head);
  audit.push_back(std::move(e));
}

Result<audit::Head> FakeStore::auditHead() {
  std::lock_guard lock(mu_);
  if (audit.empty()) return audit::Head{};
  return audit::Head{audit.back().seq, audit.back().hash};
}

Result<std::vector<audit::Entry>> FakeStore::listAudit(const store::AuditFilter& filter) {
  if (readError) return *readError;
  std::lock_guard lock(mu_);
  std::vector<audit::Entry> out;
  for (auto it = audit.rbegin(); it != audit.rend(); ++it) {
    if (filter.beforeSeq > 0 && it->seq >= filter.beforeSeq) continue;
    if (filter.since && it->at < *filter.since) continue;
    if (!filter.actor.empty() && it->actor != filter.actor) continue;
    if (!filter.target.empty() && it->target != filter.target) continue;
    if (static_cast<int>(out.size()) >= filter.limit) break;
    out.push_back(*it);
  }
  return out;
}

Result<std::vector<audit::Entry>> FakeStore::auditEntries(int64_t afterSeq, int limit) {
  if (readError) return *readError;
  std::lock_guard lock(mu_);
  std::vector<audit::Entry> out;
  for (const auto& e : audit)
    if (e.seq > afterSeq && static_cast<int>(out.size()) < limit) out.push_back(e);
  return out;
}

Result<store::WorkflowVersionRow> FakeStore::putWorkflow(const store::WorkflowVersionRow& row,
                                                         const audit::Entry* entry) {
  std::lock_guard lock(mu_);
  appendAudit(entry);
  return row;
}

Result<std::vector<store::ActiveRun>> FakeStore::claimRuns() {
  return std::vector<store::ActiveRun>{};
}

Status FakeStore::renewLeases() { return okStatus(); }

Status FakeStore::putToken(const store::TokenRow& row, const audit::Entry* entry) {
  std::lock_guard lock(mu_);
  for (const auto& t : tokens)
    if (t.name == row.name)
      return Error(ErrorCode::kAlreadyExists, "a token named '" + row.name + "' already exists");
  tokens.push_back(row);
  appendAudit(entry);
  return okStatus();
}

Result<store::TokenRow> FakeStore::revokeToken(const std::string& name, WallTime at,
                                               const audit::Entry* entry) {
  std::lock_guard lock(mu_);
  int liveOthers = 0;
  for (const auto& t : tokens)
    if (t.name != name && t.role == "admin" && !t.revokedAt) ++liveOthers;
  for (auto& t : tokens) {
    if (t.name != name) continue;
    if (t.revokedAt) return t;
    if (t.role == "admin" && liveOthers == 0)
      return Error(ErrorCode::kConflict, "token '" + name + "' is the last admin token that works");
    t.revokedAt = at;
    appendAudit(entry);
    return t;
  }
  return Error(ErrorCode::kNotFound, "no token named '" + name + "'");
}

// Token reads ignore readError, so that requests still authenticate
// while the run and workflow reads are made to fail.
Result<std::vector<store::ScheduleStateRow>> FakeStore::listScheduleStates() {
  if (readError) return *readError;
  return scheduleStates;
}

Result<std::vector<store::WorkflowControlRow>> FakeStore::listWorkflowControls() {
  if (readError) return *readError;
  return workflowControls;
}

Result<std::vector<store::TokenRow>> FakeStore::listTokens() {
  std::lock_guard lock(mu_);
  return tokens;
}

Result<std::optional<store::TokenRow>> FakeStore::findTokenByHash(const std::string& hash) {
  std::lock_guard lock(mu_);
  for (const auto& t : tokens)
    if (t.hash == hash) return std::optional<store::TokenRow>(t);
  return std::optional<store::TokenRow>();
}

Result<std::optional<store::WorkflowVersionRow>> FakeStore::getWorkflow(const std::string& name,
                                                                        int version) {
  if (readError) return *readError;
  std::optional<store::WorkflowVersionRow> found;
  for (const auto& w : workflows) {
    if (w.name != name) continue;
    if (version == 0 ? (!found || w.version > found->version) : w.version == version) found = w;
  }
  return found;
}

Result<std::vector<store::WorkflowVersionRow>> FakeStore::listWorkflows() {
  if (readError) return *readError;
  std::map<std::string, store::WorkflowVersionRow> latest;
  for (const auto& w : workflows) {
    auto it = latest.find(w.name);
    if (it == latest.end() || it->second.version < w.version) latest[w.name] = w;
  }
  std::vector<store::WorkflowVersionRow> out;
  for (auto& [name, row] : latest) out.push_back(row);
  return out;
}

Result<std::vector<store::WorkflowVersionRow>> FakeStore::workflowVersions(
    const std::string& name) {
  if (readError) return *readError;
  std::vector<store::WorkflowVersionRow> out;
  for (const auto& w : workflows)
    if (w.name == name) out.push_back(w);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.version < b.version; });
  return out;
}

Result<std::optional<store::RunRow>> FakeStore::findRunByIdempotencyKey(const std::string& workflow,
                                                                        const std::string& key) {
  if (readError) return *readError;
  for (const auto& r : runs)
    if (r.run.workflow == workflow && r.run.idempotencyKey == key)
      return std::optional<store::RunRow>(r.run);
  return std::optional<store::RunRow>();
}

Result<std::optional<store::RunDetail>> FakeStore::getRun(const std::string& id) {
  if (readError) return *readError;
  for (const auto& r : runs)
    if (r.run.id == id) return std::optional<store::RunDetail>(r);
  return std::optional<store::RunDetail>();
}

Result<std::vector<store::RunRow>> FakeStore::listRuns(const store::RunFilter& filter) {
  if (readError) return *readError;
  {
    std::lock_guard lock(mu_);
    lastFilter_ = filter;
  }
  std::vector<store::RunRow> out;
  for (const auto& r : runs) {
    if (!filter.workflow.empty() && r.run.workflow != filter.workflow) continue;
    if (!filter.states.empty() &&
        std::find(filter.states.begin(), filter.states.end(), r.run.state) == filter.states.end())
      continue;
    if (filter.since && r.run.id < runIdFloor(*filter.since)) continue;
    if (!filter.cursor.empty() && !(r.run.id < filter.cursor)) continue;
    out.push_back(r.run);
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.id > b.id; });
  if (out.size() > static_cast<size_t>(filter.limit)) out.resize(static_cast<size_t>(filter.limit));
  return out;
}

Result<std::vector<store::EventRow>> FakeStore::runEvents(const std::string& runId) {
  if (readError) return *readError;
  std::vector<store::EventRow> out;
  for (const auto& e : events)
    if (e.runId == runId) out.push_back(e);
  return out;
}

Result<std::vector<store::LogRow>> FakeStore::stepLogs(const std::string& runId,
                                                       const std::string& step,
                                                       std::optional<int> attempt) {
  {
    std::lock_guard lock(mu_);
    lastLogsAttempt_ = attempt;
  }
  if (readError) return *readError;
  std::vector<store::LogRow> out;
  for (const auto& l : logs)
    if (l.runId == runId && l.step == step && (!attempt || l.attempt == *attempt)) out.push_back(l);
  return out;
}

std::optional<int> FakeStore::lastLogsAttempt() const {
  std::lock_guard lock(mu_);
  return lastLogsAttempt_;
}

Result<std::string> FakeStore::integrityCheck() { return std::string("ok"); }

store::RunFilter FakeStore::lastFilter() const {
  std::lock_guard lock(mu_);
  return lastFilter_;
}

Result<store::SubscriptionRow> FakeStore::putSubscription(const store::SubscriptionRow& row,
                                                          const audit::Entry* entry) {
  std::lock_guard lock(mu_);
  for (const auto& s : subscriptions)
    if (s.name == row.name && s.yaml == row.yaml) return s;
  int version = 0;
  for (const auto& s : subscriptions)
    if (s.name == row.name) version = std::max(version, s.version);
  store::SubscriptionRow stored = row;
  stored.version = version + 1;
  std::erase_if(subscriptions, [&](const auto& s) { return s.name == row.name; });
  subscriptions.push_back(stored);
  appendAudit(entry);
  return stored;
}

Result<std::vector<store::SubscriptionRow>> FakeStore::listSubscriptions() {
  std::lock_guard lock(mu_);
  if (readError) return *readError;
  return subscriptions;
}

Result<std::vector<store::WebhookDeliveryRow>> FakeStore::listWebhookDeliveries(
    const std::string& state, int limit) {
  std::lock_guard lock(mu_);
  if (readError) return *readError;
  std::vector<store::WebhookDeliveryRow> out;
  for (const auto& d : deliveries)
    if (d.state == state && static_cast<int>(out.size()) < limit) out.push_back(d);
  return out;
}

Result<int64_t> FakeStore::redeliverDead(const std::string& eventId, const std::string& topic,
                                         WallTime at, const audit::Entry* entry) {
  std::lock_guard lock(mu_);
  int64_t count = 0;
  for (auto& d : deliveries) {
    if (d.state != "dead") continue;
    if (eventId.empty() ? d.topic != topic : d.eventId != eventId) continue;
    d.state = "pending";
    d.attempts = 0;
    d.nextAt = at;
    ++count;
  }
  if (count > 0) appendAudit(entry);
  return count;
}

}  // namespace keel::testing
