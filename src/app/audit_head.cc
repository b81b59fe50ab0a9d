#include "app/audit_head.h"

#include <spdlog/spdlog.h>

#include "observe/json_log.h"

namespace keel::app {

AuditHeadReporter::AuditHeadReporter(store::Store& store, observe::MetricsRegistry& metrics)
    : store_(store),
      metrics_(metrics),
      entries_(metrics.gauge("keel_audit_entries",
                             "Entries in the audit log: the seq of its last entry.")) {
  shown_.seq = -1;  // nothing shown yet
}

AuditHeadReporter::~AuditHeadReporter() { stop(); }

void AuditHeadReporter::start() {
  refresh(true);
  thread_ = std::thread([this] { loop(); });
}

void AuditHeadReporter::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AuditHeadReporter::refresh(bool log) {
  auto head = store_.auditHead();
  if (!head.ok()) {
    if (log) spdlog::warn("cannot read the audit chain head: {}", head.error().toString());
    return;
  }
  entries_.set(static_cast<double>(head->seq));
  if (*head != shown_) {
    info_ = {};  // the old series goes before the new one is registered
    info_ = metrics_.gaugeCallback(
        "keel_audit_head_info",
        "The audit chain's head (seq and hash of its last entry); compare with a copy kept "
        "elsewhere.",
        [] { return 1.0; }, {{"seq", std::to_string(head->seq)}, {"hash", head->hash}});
    shown_ = *head;
  }
  if (log)
    observe::logFields(spdlog::level::info, "audit chain head",
                       {{"audit_seq", head->seq}, {"audit_hash", head->hash}});
}

void AuditHeadReporter::loop() {
  auto nextLog = std::chrono::steady_clock::now() + kLogEvery;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, kRefresh, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    bool log = std::chrono::steady_clock::now() >= nextLog;
    if (log) nextLog += kLogEvery;
    refresh(log);
    lock.lock();
  }
}

}  // namespace keel::app
