// Fuzzes the HTTP server with raw bytes: one api::Server on 127.0.0.1 (port
// 0) over the test fakes, started once; each input is written as is to a
// fresh TCP connection (then half-closed), whatever comes back is read with
// a short timeout, and the server must still answer GET /healthz with 200.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>

#include "api/server.h"
#include "auth/token.h"
#include "fuzz_support.h"
#include "testing/fake_control.h"
#include "testing/fake_store.h"

namespace {

// An incomplete request gets no answer until the server's own read timeout
// (seconds): the fuzzer waits this long for a first byte, then moves on. An
// answer that comes later is written to a closed connection, which the
// server must survive as well.
constexpr int kFirstByteMs = 15;
constexpr int kQuietMs = 10;
// /healthz must answer (and close) within this.
constexpr int kHealthMs = 10'000;

int startServer() {
  using namespace keel;
  // Never destroyed: the fuzzer exits with the server still serving.
  static auto* control = new keel::testing::FakeControl;
  static auto* store = new keel::testing::FakeStore;
  fuzz::fillStore(*store);
  // The token the seed requests carry, so that fuzzed heads reach the routes.
  store->tokens.push_back(
      {"fuzz", auth::tokenHash("keel_fuzz"), "admin", WallTime{}, "fuzz", std::nullopt});
  fuzz::answerLikeTheEngine(*control);
  api::ServerOptions options;
  options.workerThreads = 4;
  options.engineTimeout = std::chrono::milliseconds(2000);
  static auto* server = new api::Server(*control, *store, options);
  auto port = server->start("127.0.0.1", 0);
  if (!port.ok()) keel::fuzz::fail("cannot start the server: " + port.error().toString());
  return *port;
}

int port() {
  static int p = startServer();
  return p;
}

// A refused connect is tried again for up to 2 s (the listen backlog is
// short and the server's four threads may all be closing connections the
// inputs left half-sent); a server that stays unreachable is a failure,
// reported with the errno.
int connectToServer() {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int err = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) keel::fuzz::fail("socket failed");
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    err = errno;
    close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  keel::fuzz::fail(std::string("cannot connect to the server: ") + std::strerror(err));
  return -1;
}

// Writes everything (stopping if the server closes), then reads until the
// server closes, sends nothing for `firstMs` at first, or pauses for
// `quietMs` after some of its answer. The connection is not half-closed:
// httplib drops the answer to a client that has shut down its side.
std::string exchange(const uint8_t* data, size_t size, int firstMs, int quietMs) {
  int fd = connectToServer();
  size_t sent = 0;
  while (sent < size) {
    ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string got;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, got.empty() ? firstMs : quietMs) <= 0) break;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
    if (got.size() > (4u << 20)) break;
  }
  close(fd);
  return got;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string reply = exchange(data, size, kFirstByteMs, kQuietMs);
  if (!reply.empty() && !reply.starts_with("HTTP/1.")) keel::fuzz::fail("reply is not HTTP", reply);
  static const std::string kHealth =
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  std::string health = exchange(reinterpret_cast<const uint8_t*>(kHealth.data()), kHealth.size(),
                                kHealthMs, kHealthMs);
  if (!health.starts_with("HTTP/1.1 200")) keel::fuzz::fail("the server stopped answering", health);
  return 0;
}
