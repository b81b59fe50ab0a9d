// A real Prometheus (the Debian package scripts/install-deps.sh installs)
// scrapes a running keel serve every second, and its query API answers what
// a dashboard asks: the median run duration from the histogram's buckets,
// and each workflow's last success.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>

#include <gtest/gtest.h>

#include "e2e_support.h"

namespace keel::e2e {
namespace {

constexpr char kPrometheus[] = "/usr/bin/prometheus";

constexpr char kPrometheusWorkflow[] = R"(name: nightly-export
owner: { team: qa, contact: qa@example.com }
runbook: https://wiki.example.com/rb
steps:
  - { name: a, run: "echo exported", timeout: 1m }
)";

// A loopback port nothing listens on now (Prometheus cannot be told to
// pick one and say which).
int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

// A prometheus child with its configuration and data in `dir`; stopped by
// its pid (SIGTERM, then SIGKILL if it has not ended in 30 s).
class PrometheusUnderTest {
 public:
  PrometheusUnderTest(const testing::TempDir& dir, const std::string& target) : dir_(dir) {
    std::ofstream(dir_.file("prometheus.yml")) << "global:\n"
                                                  "  scrape_interval: 1s\n"
                                                  "  scrape_timeout: 1s\n"
                                                  "  evaluation_interval: 1s\n"
                                                  "scrape_configs:\n"
                                                  "  - job_name: keel\n"
                                                  "    metrics_path: /metrics\n"
                                                  "    static_configs:\n"
                                                  "      - targets: ['"
                                               << target << "']\n";
  }
  ~PrometheusUnderTest() { stop(); }

  // Starts it and waits until /-/ready answers; false (with its log in
  // `why`) if it did not get there within a minute.
  bool start(std::string& why) {
    port_ = freePort();
    const std::string log = dir_.file("prometheus.log");
    std::vector<std::string> args{kPrometheus, "--config.file=" + dir_.file("prometheus.yml"),
                                  "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                  "--storage.tsdb.path=" + dir_.file("tsdb"), "--log.level=warn"};
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(kPrometheus, argv.data());
      ::_exit(127);
    }
    bool ready = waitFor(
        [&] {
          if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
            pid_ = -1;
            return true;  // ended: not ready
          }
          auto res = client().Get("/-/ready");
          return res && res->status == 200;
        },
        60);
    if (ready && pid_ > 0) return true;
    std::ifstream in(log);
    why.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return false;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    bool ended = waitFor([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; }, 30);
    if (!ended) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }

  // The instant query's vector result (empty if it has none or the query
  // failed).
  nlohmann::json query(const std::string& promql) {
    auto res = client().Get("/api/v1/query", httplib::Params{{"query", promql}}, {});
    if (!res || res->status != 200) return nlohmann::json::array();
    auto body = nlohmann::json::parse(res->body, nullptr, false);
    if (!body.is_object() || body.value("status", "") != "success") return nlohmann::json::array();
    return body["data"].value("result", nlohmann::json::array());
  }

  // The value of a one-element result as a number; nothing while there is
  // no element or its value is NaN.
  std::optional<double> scalar(const std::string& promql) {
    auto result = query(promql);
    if (result.size() != 1) return std::nullopt;
    double v = std::strtod(result[0]["value"][1].get<std::string>().c_str(), nullptr);
    if (std::isnan(v)) return std::nullopt;
    return v;
  }

 private:
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(2);
    c.set_read_timeout(5);
    return c;
  }
  const testing::TempDir& dir_;
  int port_ = -1;
  pid_t pid_ = -1;
};

void runOnce(KeelUnderTest& keel) {
  auto run = keel.trigger("nightly-export", nlohmann::json::object());
  ASSERT_EQ(run.first, 201) << run.second.dump();
  EXPECT_EQ(keel.waitForRun(run.second.value("id", "")).value("state", ""), "succeeded");
}

TEST(Prometheus, ARealPrometheusScrapesKeelAndAnswersAQuantileAndTheLastSuccess) {
  ASSERT_EQ(::access(kPrometheus, X_OK), 0)
      << kPrometheus << " is missing: run ./scripts/install-deps.sh (package prometheus)";
  KeelUnderTest keel;
  keel.start();
  keel.apply(kPrometheusWorkflow);
  const std::string target = keel.url().substr(std::string("http://").size());
  PrometheusUnderTest prometheus(keel.dir(), target);
  std::string why;
  ASSERT_TRUE(prometheus.start(why)) << "prometheus did not start:\n" << why;

  // A first run makes the histogram's series; once Prometheus has scraped
  // them, later runs are increases that rate() sees.
  runOnce(keel);
  ASSERT_TRUE(waitFor(
      [&] {
        return prometheus.scalar(
                   "keel_run_duration_seconds_count{workflow=\"nightly-export\",state="
                   "\"succeeded\"}") == 1;
      },
      60))
      << "Prometheus never scraped the first run's duration";
  for (int i = 0; i < 3; ++i) runOnce(keel);

  std::optional<double> median;
  ASSERT_TRUE(waitFor(
      [&] {
        median = prometheus.scalar(
            "histogram_quantile(0.5, sum by (le) "
            "(rate(keel_run_duration_seconds_bucket{workflow=\"nightly-export\"}[1m])))");
        return median.has_value();
      },
      60))
      << "no median run duration from Prometheus";
  // An `echo` run takes well under a minute (the buckets are 10 ms to 8 h).
  EXPECT_GT(*median, 0);
  EXPECT_LT(*median, 60);

  std::optional<double> lastSuccess;
  ASSERT_TRUE(waitFor(
      [&] {
        lastSuccess = prometheus.scalar(
            "keel_workflow_last_success_timestamp_seconds{workflow=\"nightly-export\"}");
        return lastSuccess.has_value();
      },
      60));
  // It is a Unix time in seconds, of today.
  EXPECT_NEAR(*lastSuccess, static_cast<double>(::time(nullptr)), 600);
  // What a freshness alert asks: no workflow older than 26 h.
  EXPECT_TRUE(prometheus.query("time() - keel_workflow_last_success_timestamp_seconds > 26 * 3600")
                  .empty());
  EXPECT_EQ(prometheus.scalar("keel_build_info{job=\"keel\"}"), 1);
  prometheus.stop();
}

}  // namespace
}  // namespace keel::e2e
