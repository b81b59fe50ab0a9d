// OtlpExporter: sends finished spans to an OpenTelemetry collector over
// OTLP/HTTP with the JSON encoding (POST ENDPOINT/v1/traces, otlp_json.h).
//
// record() only queues (any thread, never blocks, so the engine loop may
// call it): a bounded queue, and a span that finds it full is dropped and
// counted (keel_otlp_spans_dropped_total). One thread of the exporter's own
// takes batches of up to maxBatch spans, as soon as a batch is full or
// flushEvery after the first span waits, and sends each through the
// HttpClient; a batch that fails (no answer, 429, 5xx; not another 4xx)
// is sent again up to
// maxAttempts times in all, then dropped and counted
// (keel_otlp_spans_failed_total). stop() sends what is queued (each batch
// once more at most) and joins; the HttpClient must outlive it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/client.h"
#include "observe/metrics.h"
#include "observe/span.h"

namespace keel::observe {

struct OtlpOptions {
  std::string endpoint;  // "http://collector:4318": spans go to ENDPOINT/v1/traces
  std::string serviceName = "keel";
  size_t maxQueue = 4096;
  size_t maxBatch = 256;
  int maxAttempts = 3;
  std::chrono::milliseconds flushEvery{1000};
  std::chrono::milliseconds retryDelay{500};  // times the attempt number
  std::chrono::milliseconds timeout{10'000};  // of one export request
};

class OtlpExporter final : public SpanSink {
 public:
  OtlpExporter(http::HttpClient& client, MetricsRegistry& metrics, OtlpOptions options);
  ~OtlpExporter() override;
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  void record(Span span) override;
  void start();
  void stop();

  // The URL spans are posted to: the endpoint with /v1/traces appended
  // (unless it already ends so).
  static std::string tracesUrl(const std::string& endpoint);

 private:
  void run();
  void exportBatch(std::vector<Span> batch);
  // True once the collector took the batch; else `why`, and whether
  // sending it again is pointless (`permanent`: a 4xx other than 429).
  bool sendOnce(const std::string& body, std::string* why, bool* permanent);

  http::HttpClient& client_;
  OtlpOptions options_;
  std::string url_;
  Counter& exported_;
  Counter& dropped_;
  Counter& failed_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Span> queue_;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  std::thread thread_;
};

}  // namespace keel::observe
