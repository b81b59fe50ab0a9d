#include "outbox/webhook_delivery.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "http/classify.h"
#include "observe/json_log.h"
#include "observe/trace_context.h"
#include "resilience/backoff.h"
#include "spec/parser.h"

namespace keel::outbox {

WebhookDelivery::WebhookDelivery(store::Store& store, http::HttpClient& client, const Clock& clock,
                                 Random& random, WebhookDeliveryOptions options)
    : store_(store),
      client_(client),
      clock_(clock),
      random_(random),
      options_(options),
      loop_("webhook delivery", clock, options.pollEvery) {
  if (options_.metrics) {
    const char* help =
        "Webhook delivery attempts by result: delivered (a 2xx), failed (to be retried), dead "
        "(the last attempt failed).";
    delivered_ = &options_.metrics->counter("keel_webhook_deliveries_total", help,
                                            {{"result", "delivered"}});
    failed_ =
        &options_.metrics->counter("keel_webhook_deliveries_total", help, {{"result", "failed"}});
    dead_ = &options_.metrics->counter("keel_webhook_deliveries_total", help, {{"result", "dead"}});
    pending_ = &options_.metrics->gauge(
        "keel_webhook_pending", "Webhook deliveries waiting to be made or retried, as last read.");
  }
}

WebhookDelivery::~WebhookDelivery() { stop(); }

void WebhookDelivery::start() {
  loop_.start([this] { return step(); });
}

void WebhookDelivery::stop() {
  loop_.stop();
  std::vector<http::HttpClient::Handle> handles;
  {
    std::lock_guard lock(mu_);
    for (auto& [name, flight] : flights_)
      if (flight.handle != 0 && !flight.result) handles.push_back(flight.handle);
  }
  // An attempt cut short is made again after the restart (its row is
  // still pending with the same count).
  for (auto h : handles) client_.cancel(h);
}

void WebhookDelivery::wake() { loop_.wake(); }

Status WebhookDelivery::record(Flight& flight) {
  const http::HttpResult& result = *flight.result;
  if (result.failure && result.failure->kind == http::TransportFailureKind::kCancelled)
    return okStatus();  // keel stopping: the attempt is made again later
  WallTime now = clock_.wallNow();
  store::WebhookDeliveryRow row = flight.row;
  row.attempts += 1;
  row.updatedAt = now;
  row.lastStatus = result.ok() ? result.response.status : 0;
  bool delivered = result.ok() && row.lastStatus >= 200 && row.lastStatus <= 299;
  if (delivered) {
    row.state = "delivered";
    row.lastError.clear();
  } else {
    row.lastError = result.ok() ? fmt::format("HTTP status {}", row.lastStatus)
                                : std::string(http::toString(result.failure->kind)) + ": " +
                                      result.failure->message;
    if (row.attempts >= flight.spec.retry.maxAttempts) {
      row.state = "dead";
    } else {
      auto delay = resilience::backoffDelay(flight.spec.retry, row.attempts,
                                            flight.spec.retry.initial, random_.uniform01());
      WallTime at = now + delay;
      auto c = http::classify(result, {{200, 299}}, now);
      if (c.notBefore) at = std::max(at, std::min(*c.notBefore, now + kMaxRetryAfter));
      row.nextAt = at;
    }
  }
  store::Batch batch;
  batch.mutations.push_back(store::PutWebhookDelivery{row});
  KEEL_TRY(store_.apply(batch));
  if (delivered) {
    if (delivered_) delivered_->inc();
  } else if (row.state == "dead") {
    if (dead_) dead_->inc();
    observe::logFields(spdlog::level::err,
                       "webhook delivery dead after " + std::to_string(row.attempts) +
                           " attempts: " + row.lastError,
                       {{"subscription", row.subscription},
                        {"event_id", row.eventId},
                        {"topic", row.topic},
                        {"last_status", row.lastStatus}});
  } else {
    if (failed_) failed_->inc();
    observe::logFields(spdlog::level::warn, "webhook delivery failed: " + row.lastError,
                       {{"subscription", row.subscription},
                        {"event_id", row.eventId},
                        {"attempt", row.attempts},
                        {"retry_at", formatRfc3339(row.nextAt)}});
  }
  return okStatus();
}

Status WebhookDelivery::send(const spec::SubscriptionSpec& spec,
                             const store::WebhookDeliveryRow& row) {
  auto event = store_.findOutboxEvent(row.eventId);
  if (!event.ok()) return event.error();
  if (!*event)
    return Error(ErrorCode::kNotFound, fmt::format("outbox event '{}' of subscription '{}' is gone",
                                                   row.eventId, row.subscription));
  nlohmann::json payload = nlohmann::json::parse((*event)->payloadJson, nullptr, false);
  if (payload.is_discarded()) payload = nlohmann::json::object();
  nlohmann::json body = {{"id", (*event)->id},
                         {"topic", (*event)->topic},
                         {"payload", payload},
                         {"emitted_at", formatRfc3339((*event)->emittedAt)},
                         {"run_id", (*event)->runId}};
  http::HttpRequest req;
  req.method = "POST";
  req.url = spec.url;
  req.headers.push_back({"Content-Type", "application/json"});
  req.headers.push_back({"Idempotency-Key", (*event)->id});
  // The emitting run's trace (as its http steps send it), in a new span.
  std::string storedTrace;
  if (auto run = store_.getRun((*event)->runId); run.ok() && run->has_value())
    storedTrace = (*run)->run.traceId;
  req.headers.push_back(
      {"traceparent", observe::formatTraceparent(observe::runTraceId(storedTrace, (*event)->runId),
                                                 observe::newSpanId(random_))});
  for (const auto& [name, value] : spec.headers) req.headers.push_back({name, value});
  req.body = body.dump();
  req.totalTimeout = spec.timeout;
  req.connectTimeout = std::min(req.connectTimeout, spec.timeout);
  {
    std::lock_guard lock(mu_);
    flights_[row.subscription] = Flight{0, row, spec, std::nullopt};
  }
  const std::string name = row.subscription;
  auto handle = client_.send(std::move(req), [this, name](http::HttpResult result) {
    {
      std::lock_guard lock(mu_);
      auto it = flights_.find(name);
      if (it != flights_.end()) it->second.result = std::move(result);
    }
    loop_.wake();
  });
  std::lock_guard lock(mu_);
  if (auto it = flights_.find(name); it != flights_.end()) it->second.handle = handle;
  return okStatus();
}

Result<std::optional<WallTime>> WebhookDelivery::step() {
  // 1. The answers that came.
  std::vector<Flight> done;
  {
    std::lock_guard lock(mu_);
    for (auto it = flights_.begin(); it != flights_.end();) {
      if (it->second.result) {
        done.push_back(std::move(it->second));
        it = flights_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& flight : done) KEEL_TRY(record(flight));

  // 2. New events, and each subscription's next delivery.
  auto subs = store_.listSubscriptions();
  if (!subs.ok()) return subs.error();
  std::optional<WallTime> earliest;
  for (const auto& sub : *subs) {
    {
      if (loop_.stopping()) return earliest;
      std::lock_guard lock(mu_);
      if (flights_.count(sub.name)) continue;
    }
    spec::ParseOptions po;
    po.fileName = "subscription " + sub.name;
    auto spec = spec::parseSubscription(sub.yaml, po);
    if (!spec.ok()) {
      observe::logFields(spdlog::level::err,
                         "stored subscription cannot be read: " + spec.error().toString(),
                         {{"subscription", sub.name}});
      continue;
    }
    auto last = store_.lastWebhookSeq(sub.name);
    if (!last.ok()) return last.error();
    auto events = store_.outboxOnTopic(sub.topic, std::max(sub.fromSeq, *last), options_.pageSize);
    if (!events.ok()) return events.error();
    WallTime now = clock_.wallNow();
    if (!events->empty()) {
      store::Batch batch;
      for (const auto& e : *events) {
        store::WebhookDeliveryRow row;
        row.subscription = sub.name;
        row.eventSeq = e.seq;
        row.eventId = e.id;
        row.topic = e.topic;
        row.nextAt = now;
        row.updatedAt = now;
        batch.mutations.push_back(store::PutWebhookDelivery{std::move(row)});
      }
      KEEL_TRY(store_.apply(batch));
    }
    auto head = store_.firstPendingWebhook(sub.name);
    if (!head.ok()) return head.error();
    if (!*head) continue;
    if ((*head)->nextAt > now) {
      earliest = earliest ? std::min(*earliest, (*head)->nextAt) : (*head)->nextAt;
      continue;
    }
    Status sent = send(*spec, **head);
    if (!sent.ok())
      observe::logFields(spdlog::level::err, "webhook delivery not sent: " + sent.error().message(),
                         {{"subscription", sub.name}, {"event_id", (*head)->eventId}});
  }
  if (pending_) {
    auto count = store_.countWebhookDeliveries("pending");
    if (count.ok()) pending_->set(static_cast<double>(*count));
  }
  return earliest;
}

}  // namespace keel::outbox
