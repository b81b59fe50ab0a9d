// NotificationDelivery: sends the notifications (store: notifications,
// written by whatever causes them, in its own batch) to their channels
// (`kind: channel`, spec/channel.h), at least once, with retries and a
// dead list.
//
// Each pass takes the pending notifications that are due and sends each
// to its channel (the latest version applied):
//   webhook       POST url, {"event","notification_id","incident"}, with
//                 Content-Type: application/json, Idempotency-Key: the
//                 notification id, and the channel's headers;
//   alertmanager  POST url/api/v2/alerts, one alert (notification_message.h);
//   email         SMTP through the MailSender, on this thread.
// A resolution waits while an escalation of the same incident to the same
// channel is pending, so Alertmanager never sees the alert fire again after
// it was resolved. A 2xx (an accepted message) delivers it. Anything else (another status,
// refused, timed out, a channel not applied, a password variable unset)
// is a failed attempt, recorded with its status or error and retried by
// the channel's policy (backoff + jitter; on 429 or 503 not before
// Retry-After, at most a day); after the last attempt the notification
// is dead (logged at error) until redelivered. Every state change is
// durable before the next; an attempt whose answer was not recorded is
// made again after a restart (receivers dedupe by Idempotency-Key, and
// Alertmanager by the alert's labels).
//
// Threads: start() runs the passes on a thread of its own, woken by wake()
// (a notification written, a redelivery), by each answer, when the next
// attempt is due, and every pollEvery. step() is one pass on the caller's
// thread (tests, with a ScriptedHttpClient and a ManualClock). The HTTP
// client's callbacks only note the answer; the store is written by passes.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/random.h"
#include "core/result.h"
#include "http/client.h"
#include "observe/metrics.h"
#include "outbox/mail_sender.h"
#include "outbox/pass_loop.h"
#include "spec/channel.h"
#include "store/store.h"

namespace keel::outbox {

struct NotificationDeliveryOptions {
  observe::MetricsRegistry* metrics = nullptr;  // not owned; null: not registered
  std::chrono::milliseconds pollEvery{5'000};
  int pageSize = 100;  // due notifications taken per pass
  // Reads an email channel's password_env; empty: std::getenv.
  std::function<std::optional<std::string>(const std::string&)> getenv;
};

class NotificationDelivery {
 public:
  NotificationDelivery(store::Store& store, http::HttpClient& client, MailSender& mail,
                       const Clock& clock, Random& random,
                       NotificationDeliveryOptions options = {});
  ~NotificationDelivery();
  NotificationDelivery(const NotificationDelivery&) = delete;
  NotificationDelivery& operator=(const NotificationDelivery&) = delete;

  void start();
  void stop();  // cancels the requests in flight (made again after a restart)
  void wake();  // any thread, never blocks

  // One pass: records the answers that came and sends every due
  // notification not in flight. The earliest time a pending notification
  // waits for (none: nothing waits on a time).
  Result<std::optional<WallTime>> step();

 private:
  struct Flight {
    http::HttpClient::Handle handle = 0;
    store::NotificationRow row;
    RetryPolicy retry;
    std::optional<http::HttpResult> result;  // set by the client's callback
  };
  struct Attempt {
    bool delivered = false;
    int status = 0;
    std::string error;
    std::optional<WallTime> notBefore;  // from Retry-After
  };
  Result<std::map<std::string, spec::ChannelSpec>> channels();
  Status record(const store::NotificationRow& row, const RetryPolicy& retry, const Attempt& a);
  Status recordHttp(Flight& flight);
  void sendHttp(const spec::ChannelSpec& channel, const store::NotificationRow& row);
  Status sendEmail(const spec::ChannelSpec& channel, const store::NotificationRow& row);
  // True when `resolved` must wait for an escalation of the same incident
  // to the same channel that is still pending (then its next attempt is
  // moved after that one's); `pending` is read on first use.
  Result<bool> holdBehindEscalation(const store::NotificationRow& resolved,
                                    std::optional<std::vector<store::NotificationRow>>& pending);

  store::Store& store_;
  http::HttpClient& client_;
  MailSender& mail_;
  const Clock& clock_;
  Random& random_;  // used by passes only
  NotificationDeliveryOptions options_;
  PassLoop loop_;
  std::mutex mu_;
  std::map<std::string, Flight> flights_;  // by notification id; guarded by mu_
  observe::Counter* delivered_ = nullptr;
  observe::Counter* failed_ = nullptr;
  observe::Counter* dead_ = nullptr;
  observe::Gauge* pending_ = nullptr;
};

}  // namespace keel::outbox
