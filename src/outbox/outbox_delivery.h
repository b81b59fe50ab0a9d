// OutboxDelivery: hands keel's own events (the outbox: a step's `emit:`, a
// workflow's `on_end:`) to the workflows whose event triggers listen on
// their topic, at least once and in the order they were emitted.
//
// Each pending event goes through the engine's events-in path
// (Control::emitEvent with fromOutbox), which deduplicates by (topic, id)
// and marks the outbox event delivered in the same batch as the runs it
// starts. So a delivery cut short by a crash is simply made again after
// the restart, and it starts nothing twice. Events are delivered one at a
// time, in emission order (seq); the first that cannot be delivered (keel
// stopping, the store failing) stops the pass, and the pass is tried again
// after a backoff from that same event, so order is kept per topic.
//
// Threads: start() runs the deliveries on a thread of its own, woken by
// wake() (any thread, never blocks: the engine's onOutboxWritten) and, as
// a safety net, every `pollEvery`. deliverPending() is the same pass on
// the caller's thread (tests). stop() before the engine stops.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/result.h"
#include "engine/control.h"
#include "observe/metrics.h"
#include "store/store.h"

namespace keel::outbox {

struct OutboxDeliveryOptions {
  // Where keel_outbox_pending and keel_outbox_delivery_failures_total go;
  // not owned. Null: not registered.
  observe::MetricsRegistry* metrics = nullptr;
  int pageSize = 1000;  // events read per store query
  std::chrono::milliseconds retryInitial{200};
  std::chrono::milliseconds retryMax{10'000};
  std::chrono::milliseconds pollEvery{30'000};
  // The longest wait for one delivery's answer before the pass stops.
  std::chrono::milliseconds answerTimeout{60'000};
};

class OutboxDelivery {
 public:
  OutboxDelivery(store::Store& store, engine::Control& control, OutboxDeliveryOptions options = {});
  ~OutboxDelivery();
  OutboxDelivery(const OutboxDelivery&) = delete;
  OutboxDelivery& operator=(const OutboxDelivery&) = delete;

  void start();
  // Ends the pass after the delivery in flight and joins the thread.
  void stop();
  // New events were written: a pass starts soon. Any thread.
  void wake();

  // Delivers every pending event in order; the count delivered, or the
  // error that stopped the pass (events before it stay delivered).
  Result<int> deliverPending();

 private:
  void loop();

  store::Store& store_;
  engine::Control& control_;
  OutboxDeliveryOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;     // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
  observe::Gauge* pending_ = nullptr;
  observe::Counter* failures_ = nullptr;
};

}  // namespace keel::outbox
