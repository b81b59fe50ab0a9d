#include "observe/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace keel::observe {
namespace {

TEST(MetricsRegistryTest, RendersEachFamilyOnceWithHelpAndTypeSortedByName) {
  MetricsRegistry registry;
  registry.gauge("keel_b", "B things.").set(7);
  registry.counter("keel_a_total", "A things.", {{"route", "/x"}, {"method", "GET"}}).inc(2);
  registry.counter("keel_a_total", "A things.", {{"method", "GET"}, {"route", "/b"}}).inc();
  registry.gauge("keel_c", "C things.").set(0.25);
  EXPECT_EQ(registry.render(),
            "# HELP keel_a_total A things.\n"
            "# TYPE keel_a_total counter\n"
            "keel_a_total{method=\"GET\",route=\"/b\"} 1\n"
            "keel_a_total{method=\"GET\",route=\"/x\"} 2\n"
            "# HELP keel_b B things.\n"
            "# TYPE keel_b gauge\n"
            "keel_b 7\n"
            "# HELP keel_c C things.\n"
            "# TYPE keel_c gauge\n"
            "keel_c 0.25\n");
}

TEST(MetricsRegistryTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry registry;
  registry.counter("keel_x_total", "Back\\slash and\nnewline \"kept\".", {{"v", "a\\b\"c\nd"}})
      .inc();
  EXPECT_EQ(registry.render(),
            "# HELP keel_x_total Back\\\\slash and\\nnewline \"kept\".\n"
            "# TYPE keel_x_total counter\n"
            "keel_x_total{v=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(MetricsRegistryTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  MetricsRegistry registry;
  auto& h = registry.histogram("keel_d_seconds", "D.", {0.1, 1, 5}, {{"route", "/r"}});
  for (double v : {0.05, 0.1, 0.5, 3.0, 7.0}) h.observe(v);
  EXPECT_EQ(registry.render(),
            "# HELP keel_d_seconds D.\n"
            "# TYPE keel_d_seconds histogram\n"
            "keel_d_seconds_bucket{route=\"/r\",le=\"0.1\"} 2\n"
            "keel_d_seconds_bucket{route=\"/r\",le=\"1\"} 3\n"
            "keel_d_seconds_bucket{route=\"/r\",le=\"5\"} 4\n"
            "keel_d_seconds_bucket{route=\"/r\",le=\"+Inf\"} 5\n"
            "keel_d_seconds_sum{route=\"/r\"} 10.65\n"
            "keel_d_seconds_count{route=\"/r\"} 5\n");
  auto snap = h.snapshot();
  EXPECT_EQ(snap.cumulative, (std::vector<uint64_t>{2, 3, 4, 5}));
  EXPECT_EQ(snap.count, 5u);
}

TEST(MetricsRegistryTest, AHistogramWithoutLabelsHasOnlyLe) {
  MetricsRegistry registry;
  registry.histogram("keel_e", "E.", {1}).observe(2);
  EXPECT_EQ(registry.render(),
            "# HELP keel_e E.\n# TYPE keel_e histogram\n"
            "keel_e_bucket{le=\"1\"} 0\nkeel_e_bucket{le=\"+Inf\"} 1\n"
            "keel_e_sum 2\nkeel_e_count 1\n");
}

TEST(MetricsRegistryTest, RegisteringAgainReturnsTheSameSeries) {
  MetricsRegistry registry;
  Counter& a = registry.counter("keel_a_total", "A.", {{"k", "1"}});
  Counter& b = registry.counter("keel_a_total", "A.", {{"k", "1"}});
  Counter& other = registry.counter("keel_a_total", "A.", {{"k", "2"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  EXPECT_EQ(&registry.gauge("keel_g", "G."), &registry.gauge("keel_g", "G."));
}

TEST(MetricsRegistryTest, CallbacksAreReadAtRenderAndGoneWithTheirHandle) {
  MetricsRegistry registry;
  double pending = 3;
  {
    auto handle = registry.gaugeCallback("keel_pending", "Pending.", [&] { return pending; });
    auto counted =
        registry.counterCallback("keel_done_total", "Done.", [] { return 12.0; }, {{"k", "v"}});
    EXPECT_EQ(registry.render(),
              "# HELP keel_done_total Done.\n# TYPE keel_done_total counter\n"
              "keel_done_total{k=\"v\"} 12\n"
              "# HELP keel_pending Pending.\n# TYPE keel_pending gauge\nkeel_pending 3\n");
    pending = 4;
    EXPECT_NE(registry.render().find("keel_pending 4\n"), std::string::npos);
  }
  EXPECT_EQ(registry.render(), "");
  // The series may be registered again once its handle is gone.
  auto again = registry.gaugeCallback("keel_pending", "Pending.", [] { return 1.0; });
  EXPECT_NE(registry.render().find("keel_pending 1\n"), std::string::npos);
}

TEST(MetricsRegistryTest, GaugeValuesOfEveryKind) {
  MetricsRegistry registry;
  auto& g = registry.gauge("keel_g", "G.");
  g.set(1e20);
  EXPECT_NE(registry.render().find("keel_g 1e+20\n"), std::string::npos) << registry.render();
  g.set(-std::numeric_limits<double>::infinity());
  EXPECT_NE(registry.render().find("keel_g -Inf\n"), std::string::npos);
  g.set(std::numeric_limits<double>::quiet_NaN());
  EXPECT_NE(registry.render().find("keel_g NaN\n"), std::string::npos);
  g.set(2);
  g.add(-3);
  EXPECT_NE(registry.render().find("keel_g -1\n"), std::string::npos);
}

TEST(MetricsRegistryTest, ConcurrentIncrementsAddUpExactly) {
  MetricsRegistry registry;
  Counter& shared = registry.counter("keel_n_total", "N.");
  auto& hist = registry.histogram("keel_h", "H.", {0.5});
  constexpr int kThreads = 8, kPerThread = 50'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Registration and render race with the increments too.
      Counter& mine = registry.counter("keel_per_thread_total", "P.", {{"t", std::to_string(t)}});
      for (int i = 0; i < kPerThread; ++i) {
        shared.inc();
        mine.inc();
        hist.observe(i % 2);
        if (i % 10'000 == 0) (void)registry.render();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(shared.value(), uint64_t{kThreads} * kPerThread);
  std::string text = registry.render();
  EXPECT_NE(text.find("keel_n_total 400000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("keel_per_thread_total{t=\"7\"} 50000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("keel_h_bucket{le=\"0.5\"} 200000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("keel_h_count 400000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("keel_h_sum 200000\n"), std::string::npos) << text;
}

TEST(MetricsRegistryDeathTest, MisuseIsABug) {
  MetricsRegistry registry;
  registry.counter("keel_a_total", "A.");
  EXPECT_DEATH(registry.gauge("keel_a_total", "A."), "another type");
  EXPECT_DEATH(registry.counter("keel-a", "A."), "invalid metric name");
  EXPECT_DEATH(registry.counter("keel_b_total", "B.", {{"__x", "1"}}), "invalid label name");
  EXPECT_DEATH(registry.histogram("keel_h", "H.", {1}, {{"le", "1"}}), "'le'");
  EXPECT_DEATH(registry.histogram("keel_h", "H.", {2, 1}), "strictly increasing");
  auto live = registry.gaugeCallback("keel_cb", "C.", [] { return 1.0; });
  EXPECT_DEATH((void)registry.gaugeCallback("keel_cb", "C.", [] { return 2.0; }), "already exists");
}

}  // namespace
}  // namespace keel::observe
