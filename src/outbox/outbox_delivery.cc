#include "outbox/outbox_delivery.h"

#include <future>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "observe/json_log.h"

namespace keel::outbox {

OutboxDelivery::OutboxDelivery(store::Store& store, engine::Control& control,
                               OutboxDeliveryOptions options)
    : store_(store), control_(control), options_(options) {
  if (options_.metrics) {
    pending_ = &options_.metrics->gauge(
        "keel_outbox_pending",
        "Outbox events waiting to be delivered to event triggers, as last read (at most one "
        "page of 1000).");
    failures_ = &options_.metrics->counter(
        "keel_outbox_delivery_failures_total",
        "Outbox deliveries to event triggers that failed and will be tried again.");
  }
}

OutboxDelivery::~OutboxDelivery() { stop(); }

void OutboxDelivery::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  woken_ = true;  // a first pass: what was pending when keel stopped
  thread_ = std::thread([this] { loop(); });
}

void OutboxDelivery::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OutboxDelivery::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void OutboxDelivery::loop() {
  std::chrono::milliseconds backoff{0};
  std::unique_lock lock(mu_);
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    auto delivered = deliverPending();
    lock.lock();
    if (delivered.ok()) {
      backoff = std::chrono::milliseconds(0);
      cv_.wait_for(lock, options_.pollEvery, [this] { return woken_ || stopping_; });
      continue;
    }
    if (failures_) failures_->inc();
    backoff =
        std::min(options_.retryMax, backoff.count() == 0 ? options_.retryInitial : backoff * 2);
    observe::logFields(spdlog::level::warn,
                       "outbox delivery stopped: " + delivered.error().message(),
                       {{"retry_in_ms", backoff.count()}});
    cv_.wait_for(lock, backoff, [this] { return stopping_; });
  }
}

Result<int> OutboxDelivery::deliverPending() {
  int delivered = 0;
  int64_t after = 0;
  while (true) {
    auto rows = store_.pendingOutbox(after, options_.pageSize);
    if (!rows.ok()) return rows.error();
    if (pending_) pending_->set(static_cast<double>(rows->size()));
    if (rows->empty()) return delivered;
    for (const auto& row : *rows) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return delivered;
      }
      engine::EventRequest request;
      request.topic = row.topic;
      request.id = row.id;
      request.payload = nlohmann::json::parse(row.payloadJson, nullptr, false);
      if (!request.payload.is_object()) request.payload = nlohmann::json::object();
      request.fromOutbox = true;
      auto answer = control_.emitEvent(std::move(request));
      if (answer.wait_for(options_.answerTimeout) != std::future_status::ready)
        return Error(ErrorCode::kUnavailable,
                     fmt::format("no answer to the delivery of event {} within {} ms", row.id,
                                 options_.answerTimeout.count()));
      auto result = answer.get();
      if (!result.ok() && result.error().code() != ErrorCode::kIdempotencyConflict)
        return Error(result.error().code(), fmt::format("event {} on topic {}: {}", row.id,
                                                        row.topic, result.error().message()));
      if (!result.ok())
        // Marked delivered: an event with this id and another payload was
        // received on the topic before; its runs stand.
        observe::logFields(spdlog::level::warn,
                           "outbox event not delivered again: " + result.error().message(),
                           {{"event_id", row.id}, {"topic", row.topic}});
      ++delivered;
      after = row.seq;
      if (pending_) pending_->add(-1);
    }
  }
}

}  // namespace keel::outbox
