// AuditHeadReporter: exports where the audit chain ends, so that a copy
// kept outside keel can be compared with it (docs/audit.md).
//
// On /metrics: `keel_audit_entries` (the head's seq, a gauge) and
// `keel_audit_head_info{seq="N",hash="H"} 1`, refreshed every
// kRefresh; in the log: an "audit chain head" line with seq and hash at
// start and then once an hour. The head comes from Store::auditHead(), kept
// in memory by the store (no query).
//
// Threads: start() and stop() from one thread; the reporter's own thread
// does the rest. stop() (also called by the destructor) joins it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "audit/entry.h"
#include "observe/metrics.h"
#include "store/store.h"

namespace keel::app {

class AuditHeadReporter {
 public:
  static constexpr std::chrono::seconds kRefresh{15};
  static constexpr std::chrono::hours kLogEvery{1};

  AuditHeadReporter(store::Store& store, observe::MetricsRegistry& metrics);
  ~AuditHeadReporter();
  AuditHeadReporter(const AuditHeadReporter&) = delete;
  AuditHeadReporter& operator=(const AuditHeadReporter&) = delete;

  void start();
  void stop();
  // Reads the head and updates the metrics; logs it when `log`.
  void refresh(bool log);

 private:
  void loop();

  store::Store& store_;
  observe::MetricsRegistry& metrics_;
  observe::Gauge& entries_;
  audit::Head shown_;              // the head the info series names
  observe::MetricsCallback info_;  // keel_audit_head_info{seq, hash}
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace keel::app
