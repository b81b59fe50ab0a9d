// CurlHttpClient against a real HTTP(S) server on the loopback interface.
#include "http/curl_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <thread>

#include "http/classify.h"
#include "testing/temp_dir.h"

namespace keel::http {
namespace {

using namespace std::chrono_literals;
using K = TransportFailureKind;

constexpr auto kGuard = 60s;  // how long a test waits for any answer before failing
const WallTime kCurlNow = WallTime(std::chrono::seconds(1'767'225'600));  // 2026-01-01T00:00:00Z

// A port nothing listens on: bound, read, closed.
int closedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// httplib listens with a backlog of 5, so a burst of connections waits for
// SYN retransmissions (seconds). Linux lets listen() again widen the backlog
// of the socket bound to `port`.
void widenBacklog(int port) {
  for (int fd = 3; fd < 1024; ++fd) {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    int listening = 0;
    socklen_t optlen = sizeof listening;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) continue;
    if (addr.sin_family != AF_INET || ntohs(addr.sin_port) != port) continue;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) == 0 && listening)
      listen(fd, 512);
  }
}

// The routes every test server serves.
void addRoutes(httplib::Server& s, std::shared_future<void> release) {
  s.Get(R"(/status/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
    res.status = std::stoi(req.matches[1]);
    res.set_content("status " + std::string(req.matches[1]), "text/plain");
  });
  s.Get("/hang", [release](const httplib::Request&, httplib::Response& res) {
    release.wait();
    res.set_content("late", "text/plain");
  });
  s.Get("/retry-seconds", [](const httplib::Request&, httplib::Response& res) {
    res.status = 429;
    res.set_header("Retry-After", "7");
  });
  s.Get("/retry-date", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_header("Retry-After", "Thu, 01 Jan 2026 00:01:40 GMT");
  });
  s.Get("/redirect", [](const httplib::Request&, httplib::Response& res) {
    res.set_redirect("/status/200", 302);
  });
  s.Get("/loop",
        [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/loop", 302); });
  s.Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(3000, 'x'), "text/plain");
  });
  s.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
    std::string seen = req.method + "|" + req.get_header_value("Idempotency-Key") + "|" +
                       req.get_header_value("Content-Type") + "|" + req.body;
    res.set_header("X-Reply-Header", "Yes");
    res.set_content(seen, "text/plain");
  });
}

class ServerThread {
 public:
  explicit ServerThread(std::unique_ptr<httplib::Server> server) : server_(std::move(server)) {
    addRoutes(*server_, release_.get_future().share());
    server_->set_keep_alive_max_count(1);
    server_->new_task_queue = [] { return new httplib::ThreadPool(64); };
    port_ = server_->bind_to_any_port("127.0.0.1");
    widenBacklog(port_);
    thread_ = std::thread([this] {
      server_->listen_after_bind();
      listenReturned_ = true;
    });
    // stop() is a no-op until the loop runs: a test that ends at once would
    // otherwise leave the server listening and the join waiting forever.
    while (!server_->is_running() && !listenReturned_) std::this_thread::yield();
  }
  ~ServerThread() {
    release_.set_value();
    server_->stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::promise<void> release_;
  int port_ = 0;
  std::atomic<bool> listenReturned_{false};
  std::thread thread_;
};

// A request in flight and its answer.
struct Call {
  std::shared_ptr<std::promise<HttpResult>> promise = std::make_shared<std::promise<HttpResult>>();
  std::future<HttpResult> future = promise->get_future();
  HttpClient::Handle handle = 0;

  Call(HttpClient& client, HttpRequest req) {
    handle =
        client.send(std::move(req), [p = promise](HttpResult r) { p->set_value(std::move(r)); });
  }
  bool ready() { return future.wait_for(0s) == std::future_status::ready; }
  HttpResult get() {
    if (future.wait_for(kGuard) != std::future_status::ready) {
      ADD_FAILURE() << "no answer within the guard";
      return HttpResult::failed(K::kOther, "no answer");
    }
    return future.get();
  }
};

class CurlHttpClientTest : public ::testing::Test {
 protected:
  HttpRequest get(const std::string& path) {
    HttpRequest r;
    r.url = "http://127.0.0.1:" + std::to_string(server_.port()) + path;
    return r;
  }
  HttpResult call(HttpRequest req) { return Call(client_, std::move(req)).get(); }

  ServerThread server_{std::make_unique<httplib::Server>()};
  CurlHttpClient client_;
};

TEST_F(CurlHttpClientTest, EachStatusClassArrivesAndIsClassified) {
  struct Case {
    int status;
    FailureClass want;
  };
  for (auto [status, want] : {Case{200, FailureClass::kNone}, Case{204, FailureClass::kNone},
                              Case{404, FailureClass::kBadInput}, Case{500, FailureClass::kError},
                              Case{502, FailureClass::kDependencyUnavailable},
                              Case{503, FailureClass::kDependencyUnavailable},
                              Case{504, FailureClass::kDependencyUnavailable}}) {
    SCOPED_TRACE(status);
    HttpResult r = call(get("/status/" + std::to_string(status)));
    ASSERT_TRUE(r.ok()) << r.failure->message;
    EXPECT_EQ(r.response.status, status);
    EXPECT_EQ(classify(r, {}, kCurlNow).failureClass, want);
  }
  HttpResult ok = call(get("/status/200"));
  EXPECT_EQ(ok.response.body, "status 200");
  EXPECT_EQ(ok.response.bodyBytes, 10u);
  EXPECT_FALSE(ok.response.truncated);
}

TEST_F(CurlHttpClientTest, ConnectionRefusedIsADependencyFailure) {
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(closedPort()) + "/";
  HttpResult r = call(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure->kind, K::kConnectionRefused) << r.failure->message;
  EXPECT_EQ(classify(r, {}, kCurlNow).failureClass, FailureClass::kDependencyUnavailable);
}

TEST_F(CurlHttpClientTest, AnUnknownHostIsADnsFailure) {
  HttpRequest req;
  req.url = "http://nothing.invalid/";  // RFC 6761: never resolves
  HttpResult r = call(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure->kind, K::kDns) << r.failure->message;
  EXPECT_EQ(classify(r, {}, kCurlNow).failureClass, FailureClass::kDependencyUnavailable);
}

TEST_F(CurlHttpClientTest, AHangingCallBlocksNoOtherAndEndsByCancel) {
  HttpRequest hang = get("/hang");
  hang.totalTimeout = 10min;
  Call slow(client_, hang);
  HttpResult quick = call(get("/status/200"));
  EXPECT_EQ(quick.response.status, 200);
  EXPECT_FALSE(slow.ready());
  client_.cancel(slow.handle);
  HttpResult r = slow.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure->kind, K::kCancelled);
  EXPECT_EQ(classify(r, {}, kCurlNow).failureClass, FailureClass::kCancelled);
  client_.cancel(slow.handle);  // finished: nothing happens (a second set_value would throw)
  EXPECT_EQ(call(get("/status/200")).response.status, 200);
}

TEST_F(CurlHttpClientTest, PastTheTotalTimeoutIsATimeout) {
  HttpRequest hang = get("/hang");
  hang.totalTimeout = 200ms;
  HttpResult r = call(hang);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure->kind, K::kTimeout) << r.failure->message;
  EXPECT_EQ(classify(r, {}, kCurlNow).failureClass, FailureClass::kTimeout);
}

TEST_F(CurlHttpClientTest, RetryAfterInBothFormsReachesTheClassifier) {
  HttpResult seconds = call(get("/retry-seconds"));
  EXPECT_EQ(classify(seconds, {}, kCurlNow),
            (Classification{FailureClass::kRateLimited, kCurlNow + std::chrono::seconds(7)}));
  HttpResult date = call(get("/retry-date"));
  EXPECT_EQ(classify(date, {}, kCurlNow), (Classification{FailureClass::kDependencyUnavailable,
                                                          kCurlNow + std::chrono::seconds(100)}));
}

TEST_F(CurlHttpClientTest, RedirectsAreFollowedOnlyWhenAsked) {
  HttpResult plain = call(get("/redirect"));
  EXPECT_EQ(plain.response.status, 302);
  EXPECT_EQ(findHeader(plain.response.headers, "location"), "/status/200");
  HttpRequest follow = get("/redirect");
  follow.followRedirects = true;
  HttpResult followed = call(follow);
  EXPECT_EQ(followed.response.status, 200);
  EXPECT_EQ(followed.response.body, "status 200");
  EXPECT_FALSE(findHeader(followed.response.headers, "Location")) << "headers of the 302 kept";
  HttpRequest loop = get("/loop");
  loop.followRedirects = true;
  HttpResult looped = call(loop);
  ASSERT_FALSE(looped.ok());
  EXPECT_EQ(looped.failure->kind, K::kTooManyRedirects);
}

TEST_F(CurlHttpClientTest, ABodyOverTheCapIsTruncatedAndCounted) {
  HttpRequest req = get("/big");
  req.maxResponseBytes = 1000;
  HttpResult r = call(req);
  EXPECT_EQ(r.response.status, 200);
  EXPECT_EQ(r.response.body, std::string(1000, 'x'));
  EXPECT_EQ(r.response.bodyBytes, 3000u);
  EXPECT_TRUE(r.response.truncated);
  HttpResult whole = call(get("/big"));
  EXPECT_EQ(whole.response.body.size(), 3000u);
  EXPECT_FALSE(whole.response.truncated);
}

TEST_F(CurlHttpClientTest, MethodHeadersAndBodyArriveAndReplyHeadersAreKept) {
  HttpRequest req = get("/echo");
  req.method = "POST";
  req.headers = {{"Idempotency-Key", "run-1/step/2"}};
  req.body = R"({"a":1})";
  HttpResult r = call(req);
  ASSERT_TRUE(r.ok()) << r.failure->message;
  // No Content-Type unless the request names one.
  EXPECT_EQ(r.response.body, R"(POST|run-1/step/2||{"a":1})");
  EXPECT_EQ(findHeader(r.response.headers, "x-reply-header"), "Yes");
  bool exact = false;
  for (const auto& h : r.response.headers) exact |= h.name == "X-Reply-Header";
  EXPECT_TRUE(exact) << "header names are kept as received";
  req.headers.push_back({"Content-Type", "application/json"});
  EXPECT_EQ(call(req).response.body, R"(POST|run-1/step/2|application/json|{"a":1})");
}

TEST_F(CurlHttpClientTest, AnUnusableRequestFailsWithoutBeingSent) {
  for (auto change : std::vector<std::function<void(HttpRequest&)>>{
           [](HttpRequest& r) { r.method = "GE T"; },
           [](HttpRequest& r) { r.url = "ftp://127.0.0.1/x"; },
           [](HttpRequest& r) { r.url += "\r\nX-Injected: 1"; },
           [](HttpRequest& r) {
             r.headers = {{"X-A", "b\r\nX-Injected: 1"}};
           },
           [](HttpRequest& r) {
             r.headers = {{"X A", "b"}};
           },
           [](HttpRequest& r) { r.totalTimeout = 0ms; },
       }) {
    HttpRequest req = get("/status/200");
    change(req);
    HttpResult r = call(req);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.failure->kind, K::kInvalidRequest) << r.failure->message;
    EXPECT_EQ(classify(r, {}, kCurlNow).failureClass, FailureClass::kBadInput);
  }
}

TEST_F(CurlHttpClientTest, TheEnvironmentsProxyIsNotUsed) {
  std::string proxy = "http://127.0.0.1:" + std::to_string(closedPort());
  setenv("http_proxy", proxy.c_str(), 1);
  setenv("ALL_PROXY", proxy.c_str(), 1);
  HttpResult r = call(get("/status/200"));
  unsetenv("http_proxy");
  unsetenv("ALL_PROXY");
  ASSERT_TRUE(r.ok()) << r.failure->message;
  EXPECT_EQ(r.response.status, 200);
}

TEST_F(CurlHttpClientTest, TwoHundredConcurrentCallsComplete) {
  constexpr int kCalls = 200;
  std::atomic<int> ok{0}, calls{0};
  std::promise<void> all;
  for (int i = 0; i < kCalls; ++i)
    client_.send(get("/status/200"), [&](HttpResult r) {
      if (r.ok() && r.response.status == 200) ++ok;
      if (++calls == kCalls) all.set_value();
    });
  ASSERT_EQ(all.get_future().wait_for(kGuard), std::future_status::ready) << calls << " answered";
  EXPECT_EQ(ok, kCalls);
}

// A port that takes connections (the kernel completes them into its
// backlog) and never answers: nothing in this process serves it.
class SilentPort {
 public:
  SilentPort() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 128);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentPort() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_F(CurlHttpClientTest, ShutdownEndsEveryCallInFlightExactlyOnce) {
  constexpr int kCalls = 20;
  std::vector<std::atomic<int>> seen(kCalls);
  std::atomic<int> cancelled{0};
  SilentPort silent;
  HttpRequest hang;
  hang.url = "http://127.0.0.1:" + std::to_string(silent.port()) + "/never";
  hang.totalTimeout = 10min;
  for (int i = 0; i < kCalls; ++i)
    client_.send(hang, [&, i](HttpResult r) {
      ++seen[i];
      if (!r.ok() && r.failure->kind == K::kCancelled) ++cancelled;
    });
  client_.shutdown();
  for (int i = 0; i < kCalls; ++i) EXPECT_EQ(seen[i], 1) << i;
  EXPECT_EQ(cancelled, kCalls);
  // After shutdown: answered at once, on this thread.
  int after = 0;
  client_.send(get("/status/200"), [&](HttpResult r) {
    EXPECT_EQ(r.failure->kind, K::kCancelled);
    ++after;
  });
  EXPECT_EQ(after, 1);
  client_.shutdown();
}

TEST(CurlHttpClientTls, VerifiedAgainstTheGivenCaOnly) {
  keel::testing::TempDir dir;
  std::string cert = dir.file("cert.pem"), key = dir.file("key.pem");
  std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl could not make a test certificate";
  ServerThread server(std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str()));
  CurlHttpClient client;
  HttpRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(server.port()) + "/status/200";
  HttpResult untrusted = Call(client, req).get();
  ASSERT_FALSE(untrusted.ok());
  EXPECT_EQ(untrusted.failure->kind, K::kTls) << untrusted.failure->message;
  EXPECT_EQ(classify(untrusted, {}, kCurlNow).failureClass, FailureClass::kDependencyUnavailable);
  req.caFile = cert;
  HttpResult trusted = Call(client, req).get();
  ASSERT_TRUE(trusted.ok()) << trusted.failure->message;
  EXPECT_EQ(trusted.response.status, 200);
}

}  // namespace
}  // namespace keel::http
