// GuardedServer: cpp-httplib's server, with each connection served by keel's
// own loop so that slow or greedy clients cannot hold the workers.
//
// httplib serves a connection on one worker thread for as long as the
// client keeps it open, and waits up to its read timeout for every byte:
// a client that sends a header byte every few seconds holds a worker
// forever, and 32 such clients starve even /healthz. Here every request
// must arrive whole (head and body) within limits.requestReadTimeout; a
// connection that has waited limits.slowAfter for request bytes counts as
// slow, and one that would make its address hold more than
// limits.slowPerClient slow connections, or all clients more than
// limits.slowTotal, is closed. So a slow client can hold a few workers
// briefly, never all of them. TLS (when a context is given) is done here
// too, with the handshake under the same deadline.
//
// A handler may call closeAfterReply() to end its connection once the
// reply is written (after a refused request whose body may still be on the
// wire); requestRead() marks the current request as wholly read.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include <httplib.h>

#include "api/server.h"

namespace keel::api {

// How many slow connections each address holds; thread-safe.
class SlowClients {
 public:
  explicit SlowClients(const ConnectionLimits& limits) : limits_(limits) {}
  // Counts one more slow connection of `address`, or returns false (and
  // counts nothing) when that would pass a limit.
  bool admit(const std::string& address);
  void release(const std::string& address);
  int total() const;

 private:
  const ConnectionLimits& limits_;
  mutable std::mutex mu_;
  std::map<std::string, int> byAddress_;
  int total_ = 0;
};

class GuardedServer final : public httplib::Server {
 public:
  // `tls` (owned, may be null) turns on HTTPS.
  GuardedServer(ConnectionLimits limits, SSL_CTX* tls);
  ~GuardedServer() override;

  static void closeAfterReply();
  static void requestRead();
  // The head of the request being served on this thread, as it came off
  // the wire (at most 64 KiB), or "" outside a GuardedServer connection.
  static std::string_view rawHead();

  // Connections closed for being slow, since start (for /metrics).
  uint64_t slowClosed() const { return slowClosed_.load(); }

 private:
  bool process_and_close_socket(socket_t sock) override;

  ConnectionLimits limits_;
  SSL_CTX* tls_;
  SlowClients slow_;
  std::atomic<uint64_t> slowClosed_{0};
  friend class GuardedStream;
};

}  // namespace keel::api
