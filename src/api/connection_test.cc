// The HTTP layer under attack: smuggling heads, slow clients, TLS.
#include <fcntl.h>
#include <poll.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "api/server_test_fixture.h"
#include "testing/temp_dir.h"

namespace keel::api::test {
namespace {

std::string authorized(const std::string& head) {
  return head + "Host: 127.0.0.1\r\nAuthorization: Bearer " + kTestToken + "\r\n";
}

TEST_F(ServerTest, AmbiguousFramingIs400AtOnceAndClosesTheConnection) {
  start();
  const std::string post = "POST /api/v1/workflows/hello/runs HTTP/1.1\r\n";
  const std::string json = "Content-Type: application/json\r\n";
  // Each is followed by a second request on the same connection, which a
  // smuggling-prone server would answer too.
  const std::string smuggled = "GET /api/v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  for (std::string head : {
           authorized(post) + json + "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
           authorized(post) + json + "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
           authorized(post) + json + "Content-Length: -1\r\n\r\n{}",
           authorized(post) + json + "Content-Length: +2\r\n\r\n{}",
           authorized(post) + json + "Content-Length: 2 2\r\n\r\n{}",
           authorized(post) + json + "Transfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
           authorized(post) + "Authorization: Bearer x\r\n" + json + "Content-Length: 2\r\n\r\n{}",
           authorized(post) + json +
               "Idempotency-Key: a\r\nIdempotency-Key: b\r\n"
               "Content-Length: 2\r\n\r\n{}",
       }) {
    SCOPED_TRACE(head);
    auto response = rawExchange(port_, head + smuggled);
    EXPECT_EQ(response.rfind("HTTP/1.1 400", 0), 0u) << response;
    EXPECT_EQ(response.find("HTTP/1.1", 1), std::string::npos) << "a second answer: " << response;
  }
  EXPECT_EQ(control_.triggers().size(), 0u);
}

// Connects and sends the first bytes of a request head, one byte at a time,
// never finishing it.
class Trickler {
 public:
  explicit Trickler(int port) : fd_(connectLoopback(port)) {}
  ~Trickler() {
    if (fd_ >= 0) close(fd_);
  }
  // Sends the next byte; false once the server has closed the connection.
  bool step() {
    if (fd_ < 0) return false;
    static const std::string head = "GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaa";
    char c = head[sent_ < head.size() ? sent_ : head.size() - 1];
    ++sent_;
    if (send(fd_, &c, 1, MSG_NOSIGNAL) != 1) return false;
    pollfd p{fd_, POLLIN | POLLRDHUP, 0};
    return poll(&p, 1, 0) == 0;  // readable here means closed (or answered)
  }

 private:
  int fd_;
  size_t sent_ = 0;
};

TEST_F(ServerTest, SlowClientsCannotStarveHealth) {
  ServerOptions options;
  options.workerThreads = 8;
  options.limits.slowAfter = std::chrono::milliseconds(200);
  options.limits.slowPerClient = 2;
  options.limits.slowTotal = 4;
  options.limits.requestReadTimeout = std::chrono::seconds(60);
  start(options);
  std::vector<std::unique_ptr<Trickler>> slow;
  for (int i = 0; i < 24; ++i) slow.push_back(std::make_unique<Trickler>(port_));
  std::atomic<bool> done{false};
  std::thread feeder([&] {
    while (!done) {
      for (auto& t : slow) t->step();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  // Health answers although 24 clients trickle header bytes: the ones past
  // the limits were closed, so workers are free.
  for (int i = 0; i < 5; ++i) {
    auto res = anonymousClient().Get("/healthz");
    ASSERT_TRUE(res) << "health did not answer under slow clients (try " << i << ")";
    EXPECT_EQ(res->status, 200);
  }
  done = true;
  feeder.join();
}

TEST_F(ServerTest, ARequestMustArriveWithinTheReadTimeout) {
  ServerOptions options;
  options.limits.requestReadTimeout = std::chrono::milliseconds(300);
  options.limits.slowPerClient = 100;
  options.limits.slowTotal = 100;
  start(options);
  Trickler t(port_);
  bool open = true;
  // Trickle for at most 30 s; the server must close well before.
  for (int i = 0; i < 600 && open; ++i) {
    open = t.step();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_FALSE(open) << "the server kept a request that never ended open";
}

TEST_F(ServerTest, ServesHttpsWithTheGivenCertificate) {
  testing::TempDir dir;
  std::string cert = dir.file("cert.pem"), key = dir.file("key.pem");
  std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
      "-keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl could not make a test certificate";
  ServerOptions options;
  options.tls = {cert, key};
  start(options);
  httplib::SSLClient tls("127.0.0.1", port_);
  tls.enable_server_certificate_verification(true);
  tls.set_ca_cert_path(cert.c_str());
  tls.set_bearer_token_auth(kTestToken);
  auto res = tls.Get("/api/v1/runs");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  // Plain HTTP on the TLS port gets no answer.
  auto plain = anonymousClient().Get("/healthz");
  EXPECT_FALSE(plain && plain->status == 200);
  // The server's own origin is https.
  auto origin = tls.Post("/api/v1/workflows/hello/runs",
                         {{"Origin", "https://127.0.0.1:" + std::to_string(port_)}}, "{}",
                         "application/json");
  ASSERT_TRUE(origin);
  EXPECT_EQ(origin->status, 201) << origin->body;
}

TEST_F(ServerTest, AMismatchedTlsKeyIsAStartError) {
  testing::TempDir dir;
  std::string cmd;
  for (const char* name : {"a", "b"})
    cmd += std::string("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=x -keyout ") +
           dir.file(std::string(name) + ".key") + " -out " + dir.file(std::string(name) + ".pem") +
           " >/dev/null 2>&1; ";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  ServerOptions options;
  options.tls = {dir.file("a.pem"), dir.file("b.key")};
  Server server(control_, store_, options);
  auto r = server.start("127.0.0.1", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("TLS key"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace keel::api::test
