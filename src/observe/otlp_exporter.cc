#include "observe/otlp_exporter.h"

#include <algorithm>
#include <future>
#include <iterator>

#include <fmt/format.h>

#include "observe/json_log.h"
#include "observe/otlp_json.h"

namespace keel::observe {

OtlpExporter::OtlpExporter(http::HttpClient& client, MetricsRegistry& metrics, OtlpOptions options)
    : client_(client),
      options_(std::move(options)),
      url_(tracesUrl(options_.endpoint)),
      exported_(
          metrics.counter("keel_otlp_spans_exported_total", "Spans the OTLP collector accepted.")),
      dropped_(metrics.counter("keel_otlp_spans_dropped_total",
                               "Spans dropped because the export queue was full.")),
      failed_(metrics.counter("keel_otlp_spans_failed_total",
                              "Spans dropped after every export attempt of their batch failed.")) {}

OtlpExporter::~OtlpExporter() { stop(); }

std::string OtlpExporter::tracesUrl(const std::string& endpoint) {
  std::string base = endpoint;
  if (base.ends_with("/v1/traces")) return base;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/v1/traces";
}

void OtlpExporter::record(Span span) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= options_.maxQueue) {
      dropped_.inc();
      return;
    }
    queue_.push_back(std::move(span));
    // The exporter wakes for a first span (to start its flushEvery wait)
    // and for a full batch.
    if (queue_.size() != 1 && queue_.size() < options_.maxBatch) return;
  }
  cv_.notify_one();
}

void OtlpExporter::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void OtlpExporter::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OtlpExporter::run() {
  std::unique_lock lock(mu_);
  while (true) {
    if (!stopping_ && queue_.size() < options_.maxBatch) {
      // A first span waits at most flushEvery for others to join it.
      if (queue_.empty()) cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      cv_.wait_for(lock, options_.flushEvery,
                   [&] { return stopping_ || queue_.size() >= options_.maxBatch; });
    }
    if (queue_.empty()) {
      if (stopping_) return;
      continue;
    }
    size_t n = std::min(queue_.size(), options_.maxBatch);
    std::vector<Span> batch(std::make_move_iterator(queue_.begin()),
                            std::make_move_iterator(queue_.begin() + static_cast<long>(n)));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(n));
    lock.unlock();
    exportBatch(std::move(batch));
    lock.lock();
  }
}

void OtlpExporter::exportBatch(std::vector<Span> batch) {
  const std::string body = otlpTraceRequest(batch, options_.serviceName).dump();
  std::string why;
  bool permanent = false;
  for (int attempt = 1; attempt <= options_.maxAttempts; ++attempt) {
    if (sendOnce(body, &why, &permanent)) {
      exported_.inc(batch.size());
      return;
    }
    if (permanent || attempt == options_.maxAttempts) break;
    std::unique_lock lock(mu_);
    // Once stopping, a batch gets one more try, without waiting.
    if (stopping_) {
      lock.unlock();
      if (sendOnce(body, &why, &permanent)) {
        exported_.inc(batch.size());
        return;
      }
      break;
    }
    cv_.wait_for(lock, options_.retryDelay * attempt, [&] { return stopping_; });
  }
  failed_.inc(batch.size());
  logFields(spdlog::level::warn, "spans not exported: " + why,
            {{"endpoint", url_}, {"spans", batch.size()}});
}

bool OtlpExporter::sendOnce(const std::string& body, std::string* why, bool* permanent) {
  http::HttpRequest req;
  req.method = "POST";
  req.url = url_;
  req.headers.push_back({"Content-Type", "application/json"});
  req.body = body;
  req.totalTimeout = options_.timeout;
  req.connectTimeout = std::min(req.connectTimeout, options_.timeout);
  req.maxResponseBytes = 64 << 10;
  std::promise<http::HttpResult> answer;
  auto future = answer.get_future();
  client_.send(std::move(req),
               [&answer](http::HttpResult result) { answer.set_value(std::move(result)); });
  // The client calls back exactly once, by its own timeout at the latest.
  http::HttpResult result = future.get();
  if (!result.ok()) {
    *why = fmt::format("{}: {}", http::toString(result.failure->kind), result.failure->message);
    return false;
  }
  int status = result.response.status;
  if (status >= 200 && status < 300) return true;
  *why = fmt::format("the collector answered HTTP {}", status);
  // A 4xx other than 429 will not get better by itself: not retried.
  *permanent = status >= 400 && status < 500 && status != 429;
  return false;
}

}  // namespace keel::observe
