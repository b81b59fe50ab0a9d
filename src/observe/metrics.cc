#include "observe/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

namespace keel::observe {
namespace {

// A registration keel's own code got wrong: crash-and-fix, not a value.
[[noreturn]] void misuse(const std::string& what) {
  std::fprintf(stderr, "keel: metrics registry misuse: %s\n", what.c_str());
  std::abort();
}

bool validName(std::string_view name, bool colons) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (colons && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Sorted by name; names checked (the format's, none reserved, none twice).
Labels canonical(std::string_view metric, Labels labels, bool histogram) {
  std::sort(labels.begin(), labels.end());
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto& name = labels[i].first;
    if (!validName(name, false) || name.starts_with("__"))
      misuse(fmt::format("{}: invalid label name '{}'", metric, name));
    if (histogram && name == "le") misuse(fmt::format("{}: a histogram's label 'le'", metric));
    if (i > 0 && labels[i - 1].first == name)
      misuse(fmt::format("{}: label '{}' given twice", metric, name));
  }
  return labels;
}

std::string formatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

// `{a="x",b="y"}`, with `extra` (already escaped) last; empty for none.
std::string labelText(const Labels& labels, const std::string& extra = {}) {
  if (labels.empty() && extra.empty()) return {};
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    if (out.size() > 1) out += ',';
    out += name + "=\"" + escapeLabelValue(value) + '"';
  }
  if (!extra.empty()) {
    if (out.size() > 1) out += ',';
    out += extra;
  }
  return out + "}";
}

}  // namespace

std::string escapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1]))
      misuse("histogram bounds must be finite and strictly increasing");
  }
}

void Histogram::observe(double v) {
  // The first bucket whose upper bound holds v; past the last: +Inf.
  auto idx = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  counts_[idx].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative.reserve(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(total);
  }
  // _count is the +Inf bucket, so the two always agree within a scrape.
  s.count = total;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

MetricsCallback::MetricsCallback(MetricsCallback&& other) noexcept
    : registry_(std::exchange(other.registry_, nullptr)), id_(std::exchange(other.id_, 0)) {}

MetricsCallback& MetricsCallback::operator=(MetricsCallback&& other) noexcept {
  if (this != &other) {
    if (registry_) registry_->removeCallback(id_);
    registry_ = std::exchange(other.registry_, nullptr);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

MetricsCallback::~MetricsCallback() {
  if (registry_) registry_->removeCallback(id_);
}

struct MetricsRegistry::Series {
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
  std::function<double()> read;  // a callback series
  uint64_t callbackId = 0;
};

struct MetricsRegistry::Family {
  Type type = Type::kCounter;
  std::string help;
  std::vector<double> bounds;  // a histogram's, the same for all its series
  std::map<Labels, Series> series;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Series& MetricsRegistry::series(std::string_view name, std::string_view help,
                                                 Type type, const Labels& labels,
                                                 const std::vector<double>* bounds) {
  if (!validName(name, true)) misuse(fmt::format("invalid metric name '{}'", name));
  Labels key = canonical(name, labels, type == Type::kHistogram);
  auto it = families_.find(name);
  if (it == families_.end()) {
    auto family = std::make_unique<Family>();
    family->type = type;
    family->help = std::string(help);
    if (bounds) family->bounds = *bounds;
    it = families_.emplace(std::string(name), std::move(family)).first;
  } else if (it->second->type != type) {
    misuse(fmt::format("{} registered again with another type", name));
  } else if (bounds && it->second->bounds != *bounds) {
    misuse(fmt::format("{} registered again with other buckets", name));
  }
  Family& family = *it->second;
  auto [pos, added] = family.series.try_emplace(std::move(key));
  Series& s = pos->second;
  if (!added) return s;
  switch (type) {
    case Type::kCounter:
      s.counter = std::make_unique<Counter>();
      break;
    case Type::kGauge:
      s.gauge = std::make_unique<Gauge>();
      break;
    case Type::kHistogram:
      s.histogram = std::make_unique<Histogram>(*bounds);
      break;
  }
  return s;
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help,
                                  const Labels& labels) {
  std::lock_guard lock(mu_);
  Series& s = series(name, help, Type::kCounter, labels, nullptr);
  if (!s.counter) misuse(fmt::format("{}: a callback series registered as a counter", name));
  return *s.counter;
}

Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mu_);
  Series& s = series(name, help, Type::kGauge, labels, nullptr);
  if (!s.gauge) misuse(fmt::format("{}: a callback series registered as a gauge", name));
  return *s.gauge;
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                      std::vector<double> bounds, const Labels& labels) {
  std::lock_guard lock(mu_);
  return *series(name, help, Type::kHistogram, labels, &bounds).histogram;
}

MetricsCallback MetricsRegistry::counterCallback(std::string_view name, std::string_view help,
                                                 std::function<double()> read,
                                                 const Labels& labels) {
  return callback(name, help, Type::kCounter, std::move(read), labels);
}

MetricsCallback MetricsRegistry::gaugeCallback(std::string_view name, std::string_view help,
                                               std::function<double()> read, const Labels& labels) {
  return callback(name, help, Type::kGauge, std::move(read), labels);
}

MetricsCallback MetricsRegistry::callback(std::string_view name, std::string_view help, Type type,
                                          std::function<double()> read, const Labels& labels) {
  if (!read) misuse(fmt::format("{}: an empty callback", name));
  std::lock_guard lock(mu_);
  Labels key = canonical(name, labels, false);
  auto it = families_.find(name);
  if (it != families_.end() && it->second->series.contains(key))
    misuse(fmt::format("{}: a callback for a series that already exists", name));
  Series& s = series(name, help, type, labels, nullptr);
  // series() made a counter or gauge of its own; a callback series has none.
  s.counter.reset();
  s.gauge.reset();
  s.read = std::move(read);
  s.callbackId = ++lastCallbackId_;
  return MetricsCallback(this, s.callbackId);
}

void MetricsRegistry::removeCallback(uint64_t id) {
  std::lock_guard lock(mu_);
  for (auto fit = families_.begin(); fit != families_.end(); ++fit) {
    auto& series = fit->second->series;
    for (auto sit = series.begin(); sit != series.end(); ++sit) {
      if (sit->second.callbackId != id) continue;
      series.erase(sit);
      if (series.empty()) families_.erase(fit);
      return;
    }
  }
}

std::string MetricsRegistry::render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& [name, family] : families_) {
    const char* type = family->type == Type::kCounter ? "counter"
                       : family->type == Type::kGauge ? "gauge"
                                                      : "histogram";
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escapeHelp(family->help), name, type);
    for (const auto& [labels, s] : family->series) {
      if (s.histogram) {
        auto snap = s.histogram->snapshot();
        const auto& bounds = s.histogram->bounds();
        for (size_t i = 0; i <= bounds.size(); ++i) {
          std::string le = i < bounds.size() ? formatValue(bounds[i]) : "+Inf";
          out += fmt::format("{}_bucket{} {}\n", name, labelText(labels, "le=\"" + le + "\""),
                             snap.cumulative[i]);
        }
        out += fmt::format("{}_sum{} {}\n", name, labelText(labels), formatValue(snap.sum));
        out += fmt::format("{}_count{} {}\n", name, labelText(labels), snap.count);
      } else if (s.counter) {
        out += fmt::format("{}{} {}\n", name, labelText(labels), s.counter->value());
      } else {
        double v = s.gauge ? s.gauge->value() : s.read();
        out += fmt::format("{}{} {}\n", name, labelText(labels), formatValue(v));
      }
    }
  }
  return out;
}

}  // namespace keel::observe
