#include "app/retention.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "audit/record.h"
#include "observe/json_log.h"
#include "spec/parser.h"

namespace keel::app {

RetentionOptions retentionOptions(const cli::ServeOptions& serve) {
  RetentionOptions options;
  if (serve.retainMs > 0) options.defaultAge = Millis(serve.retainMs);
  return options;
}

store::DeletionAudit deletionAudit(std::string actor, std::string action, const Clock& clock,
                                   std::optional<WallTime> finishedBefore) {
  return [actor = std::move(actor), action = std::move(action), &clock,
          finishedBefore](const std::vector<store::DeletedRuns>& deleted) {
    int64_t runs = 0;
    nlohmann::json byWorkflow = nlohmann::json::array();
    for (const auto& d : deleted) {
      runs += d.runs;
      byWorkflow.push_back({{"workflow", d.workflow},
                            {"runs", d.runs},
                            {"finished_before", formatRfc3339(d.cutoff)}});
    }
    nlohmann::json detail = {{"runs", runs}};
    if (finishedBefore) detail["finished_before"] = formatRfc3339(*finishedBefore);
    detail["workflows"] = std::move(byWorkflow);
    RequestContext who;
    who.token = actor;
    return audit::record(who, action, "finished runs", clock.wallNow(), detail.dump());
  };
}

Retainer::Retainer(store::Store& store, const Clock& clock, RetentionOptions options,
                   observe::MetricsRegistry& metrics)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      runsDeleted_(metrics.counter("keel_retention_runs_deleted_total",
                                   "Finished runs deleted by retention (--retain, retention:).")),
      passesTotal_(metrics.counter("keel_retention_passes_total",
                                   "Retention passes ended, successful or not.")),
      failures_(metrics.counter("keel_retention_failures_total",
                                "Retention passes that failed (logged as a warning; the next "
                                "pass tries again).")) {}

Retainer::~Retainer() { stop(); }

void Retainer::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { loop(); });
}

void Retainer::stop() {
  stopRequested_ = true;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Retainer::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    (void)runPass();  // logged and counted there
    lock.lock();
    wake_.wait_for(lock, options_.interval, [this] { return stopping_; });
  }
}

void Retainer::waitForPasses(int64_t n) {
  std::unique_lock lock(mu_);
  wake_.wait(lock, [&] { return passes_ >= n; });
}

std::optional<Millis> Retainer::ageOf(const store::WorkflowVersionRow& row) {
  auto it = ageBySha_.find(row.sha256);
  if (it != ageBySha_.end()) return it->second;
  spec::ParseOptions po;
  po.fileName = row.name;
  po.defaultWorkdir = row.workdir;
  auto parsed = spec::parseWorkflow(row.yaml, po);
  std::optional<Millis> age;
  if (parsed.ok()) {
    age = (*parsed)->retention;
  } else {
    // Stored versions were valid when applied; one this keel cannot read
    // falls back to --retain rather than stopping retention for all.
    observe::logFields(
        spdlog::level::warn,
        "retention: cannot read the workflow's latest version; --retain applies",
        {{"workflow", row.name}, {"version", row.version}, {"error", parsed.error().message()}});
  }
  ageBySha_.emplace(row.sha256, age);
  return age;
}

Result<store::RetentionPolicy> Retainer::policyAt(WallTime now) {
  store::RetentionPolicy policy;
  policy.runsPerTransaction = options_.runsPerTransaction;
  policy.stopRequested = [this] { return stopRequested_.load(); };
  if (options_.defaultAge) policy.defaultCutoff = now - *options_.defaultAge;
  policy.audit = deletionAudit(audit::kKeelActor, "retention.delete", clock_, policy.defaultCutoff);
  auto workflows = store_.listWorkflows();
  if (!workflows.ok()) return workflows.error();
  for (const auto& row : *workflows) {
    if (auto age = ageOf(row)) policy.workflowCutoffs[row.name] = now - *age;
  }
  return policy;
}

Result<store::RetentionResult> Retainer::runPass() {
  auto result = [&]() -> Result<store::RetentionResult> {
    std::lock_guard pass(passMu_);
    const WallTime now = clock_.wallNow();
    auto policy = policyAt(now);
    if (!policy.ok()) return policy.error();
    if (!policy->defaultCutoff && policy->workflowCutoffs.empty())
      return store::RetentionResult{};  // nothing has an age: keep everything
    policy->outbox = !lastOutboxWalk_ || now - *lastOutboxWalk_ >= options_.outboxInterval;
    auto deleted = store_.deleteExpiredRuns(*policy);
    if (deleted.ok() && policy->outbox) lastOutboxWalk_ = now;
    return deleted;
  }();
  passesTotal_.inc();
  if (!result.ok()) {
    failures_.inc();
    observe::logFields(spdlog::level::warn, "retention pass failed; the next pass tries again",
                       {{"error", result.error().message()}});
  } else {
    runsDeleted_.inc(static_cast<uint64_t>(result->runs));
    if (result->runs > 0 || result->events > 0 || result->outboxEvents > 0 ||
        result->webhookDeliveries > 0) {
      observe::logFields(
          spdlog::level::info, "retention deleted finished runs",
          {{"runs", result->runs},
           {"events", result->events},
           {"outbox_events", result->outboxEvents},
           {"webhook_deliveries", result->webhookDeliveries},
           {"transactions", result->transactions},
           {"retain", options_.defaultAge ? spec::formatDuration(*options_.defaultAge) : "off"}});
    }
  }
  {
    std::lock_guard lock(mu_);
    ++passes_;
  }
  wake_.notify_all();
  return result;
}

}  // namespace keel::app
