// WebhookDelivery: POSTs keel's own events (the outbox) to the URLs of the
// webhook subscriptions (`kind: subscription`) on their topic, at least
// once, in emission order per subscription, with retries and a dead list.
//
// For each subscription, every outbox event on its topic emitted after the
// subscription was first applied (seq > fromSeq) gets a delivery row
// (store: webhook_deliveries), written before it is sent. Only the first
// pending row of a subscription (by seq) is ever in flight: the next event
// waits until it is delivered or dead. An attempt is a POST of
//   {"id","topic","payload","emitted_at","run_id"}
// with Content-Type: application/json, Idempotency-Key: the event id, a W3C
// traceparent whose trace id is the emitting run's (as http steps send) and
// the subscription's headers. A 2xx delivers it; anything else (another
// status, refused, timed out) is a failed attempt, recorded with its status
// or error, and retried by the subscription's policy (backoff + jitter; on
// 429 or 503 not before Retry-After, at most a day); after the last attempt
// the row is dead (logged at error), and the next event goes. Every state
// change is durable before the next step, so after a crash the delivery
// resumes where it stood; an attempt whose answer was not recorded is made
// again (the receiver dedupes by Idempotency-Key).
//
// Threads: start() runs the passes on a thread of its own, woken by wake()
// (new outbox events, a subscription applied, a redelivery), by each answer,
// when the next retry is due, and every pollEvery. step() is one pass on the
// caller's thread (tests, with a ScriptedHttpClient and a ManualClock). The
// client's callbacks only note the answer; the store is written by passes.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/random.h"
#include "core/result.h"
#include "http/client.h"
#include "observe/metrics.h"
#include "outbox/pass_loop.h"
#include "spec/subscription.h"
#include "store/store.h"

namespace keel::outbox {

struct WebhookDeliveryOptions {
  observe::MetricsRegistry* metrics = nullptr;  // not owned; null: not registered
  std::chrono::milliseconds pollEvery{5'000};
  int pageSize = 500;  // outbox events queued per subscription per pass
};

class WebhookDelivery {
 public:
  WebhookDelivery(store::Store& store, http::HttpClient& client, const Clock& clock, Random& random,
                  WebhookDeliveryOptions options = {});
  ~WebhookDelivery();
  WebhookDelivery(const WebhookDelivery&) = delete;
  WebhookDelivery& operator=(const WebhookDelivery&) = delete;

  void start();
  void stop();  // cancels the requests in flight (made again after a restart)
  void wake();  // any thread, never blocks

  // One pass: records the answers that came, queues new events, and sends
  // each subscription's first pending delivery when it is due. The earliest
  // time a pending delivery waits for (none: nothing waits on a time).
  Result<std::optional<WallTime>> step();

 private:
  struct Flight {
    http::HttpClient::Handle handle = 0;
    store::WebhookDeliveryRow row;
    spec::SubscriptionSpec spec;
    std::optional<http::HttpResult> result;  // set by the client's callback
  };
  Status record(Flight& flight);
  Status send(const spec::SubscriptionSpec& spec, const store::WebhookDeliveryRow& row);

  store::Store& store_;
  http::HttpClient& client_;
  const Clock& clock_;
  Random& random_;  // used by passes only
  WebhookDeliveryOptions options_;
  PassLoop loop_;
  std::mutex mu_;
  std::map<std::string, Flight> flights_;  // by subscription; guarded by mu_
  observe::Counter* delivered_ = nullptr;
  observe::Counter* failed_ = nullptr;
  observe::Counter* dead_ = nullptr;
  observe::Gauge* pending_ = nullptr;
};

}  // namespace keel::outbox
