// The OTLP exporter against a local receiver (an httplib server on port 0)
// over the real curl client: the payload's shape, the ids, batching, the
// bounded queue and retries.
#include "observe/otlp_exporter.h"

#include <condition_variable>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "http/curl_client.h"
#include "observe/otlp_json.h"

namespace keel::observe {
namespace {

using nlohmann::json;

constexpr char kOtlpTrace[] = "4bf92f3577b34da6a3ce929d0e0e4736";

// Answers the first `failFirst` posts with 503, the rest 200, and keeps
// every body it took.
class Receiver {
 public:
  explicit Receiver(int failFirst = 0) : failFirst_(failFirst) {
    server_.Post("/v1/traces", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      ++posts_;
      contentType_ = req.get_header_value("Content-Type");
      if (posts_ <= failFirst_) {
        res.status = 503;
        return;
      }
      bodies_.push_back(json::parse(req.body, nullptr, false));
      res.set_content("{}", "application/json");
      cv_.notify_all();
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Every span received once `n` have arrived (the exporter's thread sends
  // them; no sleeping: a condition variable, bounded by a generous limit).
  std::vector<json> waitForSpans(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return spanCount() >= n; });
    std::vector<json> spans;
    for (const auto& b : bodies_)
      for (const auto& s : b["resourceSpans"][0]["scopeSpans"][0]["spans"]) spans.push_back(s);
    return spans;
  }
  std::vector<json> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }
  int posts() {
    std::lock_guard lock(mu_);
    return posts_;
  }
  std::string contentType() {
    std::lock_guard lock(mu_);
    return contentType_;
  }

 private:
  size_t spanCount() const {
    size_t n = 0;
    for (const auto& b : bodies_)
      if (b.is_object()) n += b["resourceSpans"][0]["scopeSpans"][0]["spans"].size();
    return n;
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  int failFirst_ = 0;
  int posts_ = 0;
  std::string contentType_;
  std::vector<json> bodies_;
};

Span attemptSpan(int n) {
  Span s;
  s.traceId = kOtlpTrace;
  s.spanId = fmt::format("{:016x}", 0x1000 + n);
  s.parentSpanId = "00f067aa0ba902b7";
  s.name = "attempt fetch #" + std::to_string(n);
  s.startUnixNanos = 1'767'225'600'000'000'000 + n;
  s.endUnixNanos = 1'767'225'601'000'000'000 + n;
  s.status = n % 2 ? SpanStatus::kOk : SpanStatus::kError;
  if (s.status == SpanStatus::kError) s.statusMessage = "exit code 3";
  s.attributes = {{"keel.workflow", "feed"}, {"keel.step", "fetch"}};
  s.intAttributes = {{"keel.attempt", n}};
  return s;
}

TEST(OtlpJsonTest, EncodesTheOtlpShape) {
  json j = otlpTraceRequest({attemptSpan(2)}, "keel");
  const json& rs = j["resourceSpans"][0];
  EXPECT_EQ(rs["resource"]["attributes"][0]["key"], "service.name");
  EXPECT_EQ(rs["resource"]["attributes"][0]["value"]["stringValue"], "keel");
  const json& span = rs["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(span["traceId"], kOtlpTrace);
  EXPECT_EQ(span["spanId"], "0000000000001002");
  EXPECT_EQ(span["parentSpanId"], "00f067aa0ba902b7");
  EXPECT_EQ(span["startTimeUnixNano"], "1767225600000000002");
  EXPECT_EQ(span["endTimeUnixNano"], "1767225601000000002");
  EXPECT_EQ(span["status"]["code"], 2);
  EXPECT_EQ(span["status"]["message"], "exit code 3");
  EXPECT_EQ(span["attributes"][2]["key"], "keel.attempt");
  EXPECT_EQ(span["attributes"][2]["value"]["intValue"], "2");
  Span root = attemptSpan(1);
  root.parentSpanId.clear();
  EXPECT_FALSE(
      otlpTraceRequest({root}, "keel")["resourceSpans"][0]["scopeSpans"][0]["spans"][0].contains(
          "parentSpanId"));
}

TEST(OtlpExporterTest, TracesUrlAppendsThePath) {
  EXPECT_EQ(OtlpExporter::tracesUrl("http://c:4318"), "http://c:4318/v1/traces");
  EXPECT_EQ(OtlpExporter::tracesUrl("http://c:4318/"), "http://c:4318/v1/traces");
  EXPECT_EQ(OtlpExporter::tracesUrl("http://c:4318/v1/traces"), "http://c:4318/v1/traces");
}

TEST(OtlpExporterTest, SpansArriveInBatchesWithTheirIds) {
  Receiver receiver;
  http::CurlHttpClient client;
  MetricsRegistry metrics;
  OtlpOptions options;
  options.endpoint = receiver.endpoint();
  options.maxBatch = 2;
  options.flushEvery = std::chrono::milliseconds(20);
  OtlpExporter exporter(client, metrics, options);
  exporter.start();
  for (int n = 1; n <= 5; ++n) exporter.record(attemptSpan(n));
  auto spans = receiver.waitForSpans(5);
  exporter.stop();
  ASSERT_EQ(spans.size(), 5u);
  std::set<std::string> ids;
  for (const auto& s : spans) {
    EXPECT_EQ(s["traceId"], kOtlpTrace);
    ids.insert(s["spanId"].get<std::string>());
  }
  EXPECT_EQ(ids.size(), 5u);
  EXPECT_GE(receiver.bodies().size(), 3u) << "batches of at most 2";
  for (const auto& b : receiver.bodies())
    EXPECT_LE(b["resourceSpans"][0]["scopeSpans"][0]["spans"].size(), 2u);
  EXPECT_EQ(receiver.contentType(), "application/json");
  EXPECT_EQ(metrics.counter("keel_otlp_spans_exported_total", "").value(), 5u);
  client.shutdown();
}

TEST(OtlpExporterTest, AFailedBatchIsSentAgain) {
  Receiver receiver(/*failFirst=*/2);
  http::CurlHttpClient client;
  MetricsRegistry metrics;
  OtlpOptions options;
  options.endpoint = receiver.endpoint();
  options.flushEvery = std::chrono::milliseconds(1);
  options.retryDelay = std::chrono::milliseconds(1);
  options.maxAttempts = 3;
  OtlpExporter exporter(client, metrics, options);
  exporter.start();
  exporter.record(attemptSpan(1));
  auto spans = receiver.waitForSpans(1);
  exporter.stop();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(receiver.posts(), 3);
  EXPECT_EQ(metrics.counter("keel_otlp_spans_failed_total", "").value(), 0u);
  client.shutdown();
}

TEST(OtlpExporterTest, AFullQueueDropsAndCounts) {
  http::CurlHttpClient client;
  MetricsRegistry metrics;
  OtlpOptions options;
  options.endpoint = "http://127.0.0.1:1";  // never reached: not started
  options.maxQueue = 3;
  OtlpExporter exporter(client, metrics, options);
  for (int n = 1; n <= 5; ++n) exporter.record(attemptSpan(n));
  EXPECT_EQ(metrics.counter("keel_otlp_spans_dropped_total", "").value(), 2u);
  EXPECT_NE(metrics.render().find("keel_otlp_spans_dropped_total 2"), std::string::npos);
  client.shutdown();
}

}  // namespace
}  // namespace keel::observe
