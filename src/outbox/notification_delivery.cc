#include "outbox/notification_delivery.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "http/classify.h"
#include "observe/json_log.h"
#include "outbox/notification_message.h"
#include "resilience/backoff.h"

namespace keel::outbox {

namespace {

std::string alertsUrl(std::string base) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/api/v2/alerts";
}

}  // namespace

NotificationDelivery::NotificationDelivery(store::Store& store, http::HttpClient& client,
                                           MailSender& mail, const Clock& clock, Random& random,
                                           NotificationDeliveryOptions options)
    : store_(store),
      client_(client),
      mail_(mail),
      clock_(clock),
      random_(random),
      options_(std::move(options)),
      loop_("notification delivery", clock, options_.pollEvery) {
  if (!options_.getenv)
    options_.getenv = [](const std::string& name) -> std::optional<std::string> {
      const char* v = std::getenv(name.c_str());
      if (v == nullptr) return std::nullopt;
      return std::string(v);
    };
  if (options_.metrics) {
    const char* help =
        "Notification delivery attempts by result: delivered, failed (to be retried), dead (the "
        "last attempt failed).";
    delivered_ = &options_.metrics->counter("keel_notification_deliveries_total", help,
                                            {{"result", "delivered"}});
    failed_ = &options_.metrics->counter("keel_notification_deliveries_total", help,
                                         {{"result", "failed"}});
    dead_ = &options_.metrics->counter("keel_notification_deliveries_total", help,
                                       {{"result", "dead"}});
    pending_ = &options_.metrics->gauge(
        "keel_notifications_pending", "Notifications waiting to be sent or retried, as last read.");
  }
}

NotificationDelivery::~NotificationDelivery() { stop(); }

void NotificationDelivery::start() {
  loop_.start([this] { return step(); });
}

void NotificationDelivery::stop() {
  loop_.stop();
  std::vector<http::HttpClient::Handle> handles;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, flight] : flights_)
      if (flight.handle != 0 && !flight.result) handles.push_back(flight.handle);
  }
  for (auto h : handles) client_.cancel(h);
}

void NotificationDelivery::wake() { loop_.wake(); }

Result<std::map<std::string, spec::ChannelSpec>> NotificationDelivery::channels() {
  auto rows = store_.listChannels();
  if (!rows.ok()) return rows.error();
  std::map<std::string, spec::ChannelSpec> out;
  for (const auto& row : *rows) {
    spec::ParseOptions po;
    po.fileName = "channel " + row.name;
    auto spec = spec::parseChannel(row.yaml, po);
    if (!spec.ok()) {
      observe::logFields(spdlog::level::err,
                         "stored channel cannot be read: " + spec.error().toString(),
                         {{"channel", row.name}});
      continue;
    }
    out.emplace(row.name, std::move(*spec));
  }
  return out;
}

Status NotificationDelivery::record(const store::NotificationRow& before, const RetryPolicy& retry,
                                    const Attempt& a) {
  WallTime now = clock_.wallNow();
  store::NotificationRow row = before;
  row.attempts += 1;
  row.updatedAt = now;
  row.lastStatus = a.status;
  if (a.delivered) {
    row.state = "delivered";
    row.lastError.clear();
  } else {
    row.lastError = a.error;
    if (row.attempts >= retry.maxAttempts) {
      row.state = "dead";
    } else {
      WallTime at =
          now + resilience::backoffDelay(retry, row.attempts, retry.initial, random_.uniform01());
      if (a.notBefore) at = std::max(at, std::min(*a.notBefore, now + kMaxRetryAfter));
      row.nextAt = at;
    }
  }
  store::Batch batch;
  batch.mutations.push_back(store::UpdateNotification{row});
  KEEL_TRY(store_.apply(batch));
  nlohmann::json fields = {{"notification", row.id},
                           {"channel", row.channel},
                           {"kind", row.kind},
                           {"attempt", row.attempts}};
  if (a.delivered) {
    if (delivered_) delivered_->inc();
  } else if (row.state == "dead") {
    if (dead_) dead_->inc();
    observe::logFields(
        spdlog::level::err,
        fmt::format("notification dead after {} attempts: {}", row.attempts, row.lastError),
        fields);
  } else {
    if (failed_) failed_->inc();
    fields["retry_at"] = formatRfc3339(row.nextAt);
    observe::logFields(spdlog::level::warn, "notification delivery failed: " + row.lastError,
                       fields);
  }
  return okStatus();
}

Status NotificationDelivery::recordHttp(Flight& flight) {
  const http::HttpResult& result = *flight.result;
  if (result.failure && result.failure->kind == http::TransportFailureKind::kCancelled)
    return okStatus();  // keel stopping: the attempt is made again later
  Attempt a;
  a.status = result.ok() ? result.response.status : 0;
  a.delivered = result.ok() && a.status >= 200 && a.status <= 299;
  if (!a.delivered) {
    a.error = result.ok() ? fmt::format("HTTP status {}", a.status)
                          : std::string(http::toString(result.failure->kind)) + ": " +
                                result.failure->message;
    a.notBefore = http::classify(result, {{200, 299}}, clock_.wallNow()).notBefore;
  }
  return record(flight.row, flight.retry, a);
}

void NotificationDelivery::sendHttp(const spec::ChannelSpec& channel,
                                    const store::NotificationRow& row) {
  http::HttpRequest req;
  req.method = "POST";
  req.headers.push_back({"Content-Type", "application/json"});
  if (channel.type == spec::ChannelType::kAlertmanager) {
    req.url = alertsUrl(channel.url);
    req.body = alertmanagerBody(row, clock_.wallNow());
  } else {
    req.url = channel.url;
    req.headers.push_back({"Idempotency-Key", row.id});
    req.body = webhookBody(row);
  }
  for (const auto& [name, value] : channel.headers) req.headers.push_back({name, value});
  req.totalTimeout = channel.timeout;
  req.connectTimeout = std::min(req.connectTimeout, channel.timeout);
  {
    std::lock_guard lock(mu_);
    flights_[row.id] = Flight{0, row, channel.retry, std::nullopt};
  }
  const std::string id = row.id;
  auto handle = client_.send(std::move(req), [this, id](http::HttpResult result) {
    {
      std::lock_guard lock(mu_);
      auto it = flights_.find(id);
      if (it != flights_.end()) it->second.result = std::move(result);
    }
    loop_.wake();
  });
  std::lock_guard lock(mu_);
  if (auto it = flights_.find(id); it != flights_.end()) it->second.handle = handle;
}

Status NotificationDelivery::sendEmail(const spec::ChannelSpec& channel,
                                       const store::NotificationRow& row) {
  MailRequest req;
  req.url = channel.smtpUrl;
  req.username = channel.username;
  req.from = channel.from;
  req.to = channel.to;
  req.timeout = channel.timeout;
  Attempt a;
  if (!channel.passwordEnv.empty()) {
    auto password = options_.getenv(channel.passwordEnv);
    if (!password) {
      a.error = fmt::format("the environment variable {} (password_env) is not set for keel serve",
                            channel.passwordEnv);
      return record(row, channel.retry, a);
    }
    req.password = *password;
  }
  req.message = emailMessage(channel, row, clock_.wallNow());
  MailResult sent = mail_.send(req);
  a.delivered = sent.ok;
  a.status = sent.code;
  a.error = sent.error;
  return record(row, channel.retry, a);
}

Result<bool> NotificationDelivery::holdBehindEscalation(
    const store::NotificationRow& resolved,
    std::optional<std::vector<store::NotificationRow>>& pending) {
  if (!pending) {
    auto rows = store_.listNotifications("pending", 1000);
    if (!rows.ok()) return rows.error();
    pending = std::move(*rows);
  }
  const std::string incident = incidentFields(resolved, payloadOf(resolved)).id;
  for (const auto& other : *pending) {
    if (other.kind != "escalated" || other.channel != resolved.channel) continue;
    if (incidentFields(other, payloadOf(other)).id != incident) continue;
    // Due again when the escalation's next attempt is (at least a second
    // on), so a pass does not spin on it; no attempt is counted.
    WallTime now = clock_.wallNow();
    store::NotificationRow row = resolved;
    row.nextAt = std::max(other.nextAt, now + std::chrono::seconds(1));
    row.updatedAt = now;
    row.lastError = fmt::format("waits for escalation '{}' to be delivered first", other.id);
    store::Batch batch;
    batch.mutations.push_back(store::UpdateNotification{row});
    KEEL_TRY(store_.apply(batch));
    return true;
  }
  return false;
}

Result<std::optional<WallTime>> NotificationDelivery::step() {
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
  for (auto& flight : done) KEEL_TRY(recordHttp(flight));

  // 2. Every due notification not in flight.
  auto due = store_.dueNotifications(clock_.wallNow(), options_.pageSize);
  if (!due.ok()) return due.error();
  if (!due->empty()) {
    auto known = channels();
    if (!known.ok()) return known.error();
    std::optional<std::vector<store::NotificationRow>> pending;  // read once, if needed
    for (const auto& row : *due) {
      {
        if (loop_.stopping()) return std::optional<WallTime>();
        std::lock_guard lock(mu_);
        if (flights_.count(row.id)) continue;
      }
      if (row.kind == "resolved") {
        auto held = holdBehindEscalation(row, pending);
        if (!held.ok()) return held.error();
        if (*held) continue;
      }
      auto it = known->find(row.channel);
      if (it == known->end()) {
        // Retried: the channel may be applied in the meantime.
        Attempt a;
        a.error = fmt::format("no channel named '{}' is applied", row.channel);
        KEEL_TRY(record(row, spec::defaultChannelRetry(), a));
        continue;
      }
      if (it->second.type == spec::ChannelType::kEmail)
        KEEL_TRY(sendEmail(it->second, row));
      else
        sendHttp(it->second, row);
    }
  }
  if (pending_) {
    auto count = store_.countNotifications("pending");
    if (count.ok()) pending_->set(static_cast<double>(*count));
  }
  // The earliest attempt to come that is not in flight now.
  auto next = store_.nextNotificationAt();
  if (!next.ok()) return next.error();
  if (*next && **next <= clock_.wallNow()) {
    std::lock_guard lock(mu_);
    if (!flights_.empty()) return std::optional<WallTime>();  // an answer wakes the loop
  }
  return *next;
}

}  // namespace keel::outbox
