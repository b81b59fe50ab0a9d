// MetricsRegistry: keel's metrics, rendered for GET /metrics in the
// Prometheus text exposition format (version 0.0.4).
//
// The composition root (app/) makes one registry and hands it to the
// modules (engine, API server, retention), which register their metrics in
// it when they are built. A metric is a family (a name, a HELP text and a
// type: counter, gauge or histogram) of series, one per label set.
// render() writes every family once, sorted by name, its HELP and TYPE
// lines first, then its series sorted by labels.
//
// Threads: every method may be called from any thread. Counter::inc,
// Gauge::set/add and Histogram::observe are lock-free (atomics), so hot
// paths hold on to the reference registration returned, which stays valid
// as long as the registry. Registration and render() take the registry's
// mutex; a callback runs inside render(), under that mutex, so it must be
// quick and must not call the registry.
//
// Registering a series again (same name, same labels) returns the same
// counter, gauge or histogram. A name registered with another type, a
// histogram with other buckets, a second callback for a live series, or a
// name or label name the format does not allow is a bug in keel: it aborts
// with a message.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel::observe {

// Label names and values. The order given does not matter: series are
// keyed and rendered with their labels sorted by name.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double d) { value_.fetch_add(d, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted in fixed buckets: `bounds` are the upper bounds
// (inclusive, strictly increasing); a last bucket, +Inf, takes the rest.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);

  const std::vector<double>& bounds() const { return bounds_; }
  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  // Per bucket, not cumulative; the last one is +Inf.
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

class MetricsRegistry;

// A callback series, registered while this lives: destroying it removes
// the series, and once the destructor returns the callback is not called
// again. Move-only.
class MetricsCallback {
 public:
  MetricsCallback() = default;
  MetricsCallback(MetricsRegistry* registry, uint64_t id) : registry_(registry), id_(id) {}
  MetricsCallback(MetricsCallback&& other) noexcept;
  MetricsCallback& operator=(MetricsCallback&& other) noexcept;
  ~MetricsCallback();

 private:
  MetricsRegistry* registry_ = nullptr;
  uint64_t id_ = 0;
};

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& histogram(std::string_view name, std::string_view help, std::vector<double> bounds,
                       const Labels& labels = {});
  // Series whose value `read` gives at each render() (a count kept
  // elsewhere, timers pending, …); a counter's must never decrease.
  [[nodiscard]] MetricsCallback counterCallback(std::string_view name, std::string_view help,
                                                std::function<double()> read,
                                                const Labels& labels = {});
  [[nodiscard]] MetricsCallback gaugeCallback(std::string_view name, std::string_view help,
                                              std::function<double()> read,
                                              const Labels& labels = {});

  // The Prometheus text of every family.
  std::string render() const;

 private:
  friend class MetricsCallback;
  enum class Type { kCounter, kGauge, kHistogram };
  struct Series;
  struct Family;

  Series& series(std::string_view name, std::string_view help, Type type, const Labels& labels,
                 const std::vector<double>* bounds);
  MetricsCallback callback(std::string_view name, std::string_view help, Type type,
                           std::function<double()> read, const Labels& labels);
  void removeCallback(uint64_t id);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;  // guarded by mu_
  uint64_t lastCallbackId_ = 0;                                           // guarded by mu_
};

// The Prometheus text format's escapes: label values escape backslash,
// double quote and line feed; HELP text backslash and line feed.
std::string escapeLabelValue(std::string_view value);
std::string escapeHelp(std::string_view help);

}  // namespace keel::observe
