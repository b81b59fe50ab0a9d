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

// Reads what the socket holds once it holds something (10 s at most).
std::string readSome(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 10'000) != 1) return "";
  char buf[8192];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// An answer's head is held until its body comes, then both go in one send;
// a head without a body (HEAD, 100 Continue) still goes out before the
// server waits for the client.
TEST_F(ServerTest, AnAnswerGoesOutWholeAndAnInterimAnswerAtOnce) {
  start();
  int fd = connectLoopback(port_);
  ASSERT_GE(fd, 0);
  const std::string get = authorized("GET /api/v1/runs HTTP/1.1\r\n") + "\r\n";
  ASSERT_EQ(send(fd, get.data(), get.size(), MSG_NOSIGNAL), static_cast<ssize_t>(get.size()));
  std::string first = readSome(fd);
  ASSERT_EQ(first.rfind("HTTP/1.1 200", 0), 0u) << first;
  auto headEnd = first.find("\r\n\r\n");
  ASSERT_NE(headEnd, std::string::npos) << first;
  const std::string lengthField = "Content-Length: ";
  auto at = first.find(lengthField);
  ASSERT_NE(at, std::string::npos) << first;
  const size_t length = std::stoul(first.substr(at + lengthField.size()));
  EXPECT_GT(length, 0u);
  EXPECT_EQ(first.size(), headEnd + 4 + length) << "the first read did not hold the whole answer";

  // HEAD: a head alone, on the same connection.
  const std::string head = authorized("HEAD /api/v1/runs HTTP/1.1\r\n") + "\r\n";
  ASSERT_EQ(send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  std::string headAnswer = readSome(fd);
  EXPECT_EQ(headAnswer.rfind("HTTP/1.1 200", 0), 0u) << headAnswer;

  // Expect: 100-continue: the interim answer comes before the body is sent.
  const std::string post = authorized("POST /api/v1/workflows/hello/runs HTTP/1.1\r\n") +
                           "Content-Type: application/json\r\nContent-Length: 2\r\n"
                           "Expect: 100-continue\r\n\r\n";
  ASSERT_EQ(send(fd, post.data(), post.size(), MSG_NOSIGNAL), static_cast<ssize_t>(post.size()));
  std::string interim = readSome(fd);
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_EQ(send(fd, "{}", 2, MSG_NOSIGNAL), 2);
  std::string created = readSome(fd);
  EXPECT_EQ(created.rfind("HTTP/1.1 201", 0), 0u) << created;
  close(fd);
  EXPECT_EQ(control_.triggers().size(), 1u);
}

// An answer far larger than the socket takes at once (the client's receive
// buffer is a few KiB): its head goes with the body's first bytes, the rest
// follows as the client reads, and every byte arrives once, in order.
TEST_F(ServerTest, ALargeAnswerToASlowReaderArrivesWhole) {
  store_.logs.push_back({kRunIds[2], "shout", 3, std::string(6 << 20, 'x'), "", 6 << 20, 0});
  start();
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string get = authorized(std::string("GET /api/v1/runs/") + kRunIds[2] +
                                     "/steps/shout/logs?attempt=3 HTTP/1.1\r\n") +
                          "\r\n";
  ASSERT_EQ(send(fd, get.data(), get.size(), MSG_NOSIGNAL), static_cast<ssize_t>(get.size()));
  std::string answer;
  size_t want = std::string::npos;
  while (answer.size() < want) {
    std::string more = readSome(fd);
    if (more.empty()) break;
    answer += more;
    auto headEnd = answer.find("\r\n\r\n");
    auto at = answer.find("Content-Length: ");
    if (want == std::string::npos && headEnd != std::string::npos && at != std::string::npos)
      want = headEnd + 4 + std::stoul(answer.substr(at + 16));
  }
  close(fd);
  ASSERT_NE(want, std::string::npos) << answer.substr(0, 200);
  ASSERT_EQ(answer.size(), want);
  auto j = json::parse(answer.substr(answer.find("\r\n\r\n") + 4));
  ASSERT_EQ(j["attempts"].size(), 1u);
  EXPECT_EQ(j["attempts"][0]["stdout"], std::string(6 << 20, 'x'));
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
