#include "api/guarded_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/err.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <string_view>

namespace keel::api {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Requests served on one connection before it is closed (as httplib does).
constexpr int kMaxRequestsPerConnection = 100;
// Waits are cut into slices this long so that a stopping server is noticed.
constexpr milliseconds kSlice{100};
constexpr milliseconds kWriteTimeout{5'000};

std::string addressOf(const sockaddr_storage& addr, int& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(addr);
    inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
    port = ntohs(a.sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(addr);
    inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof text);
    port = ntohs(a.sin6_port);
  }
  return text;
}

}  // namespace

bool SlowClients::admit(const std::string& address) {
  std::lock_guard lock(mu_);
  int& mine = byAddress_[address];
  if (mine >= limits_.slowPerClient || total_ >= limits_.slowTotal) {
    if (mine == 0) byAddress_.erase(address);
    return false;
  }
  ++mine;
  ++total_;
  return true;
}

void SlowClients::release(const std::string& address) {
  std::lock_guard lock(mu_);
  auto it = byAddress_.find(address);
  if (it == byAddress_.end()) return;
  --total_;
  if (--it->second == 0) byAddress_.erase(it);
}

int SlowClients::total() const {
  std::lock_guard lock(mu_);
  return total_;
}

// One connection: its socket (and TLS session), and where it stands in
// reading the current request. Used by one worker thread only.
class GuardedStream final : public httplib::Stream {
 public:
  GuardedStream(GuardedServer& server, int fd) : server_(server), fd_(fd) {
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      peer_ = addressOf(addr, peerPort_);
    len = sizeof addr;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      local_ = addressOf(addr, localPort_);
  }

  ~GuardedStream() override {
    flush();
    endReadPhase();
    if (ssl_) {
      if (handshakeDone_) SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
  }

  // A new request may start: its whole head and body must arrive by the
  // deadline, and waiting for them counts towards being slow.
  void beginReadPhase() {
    endReadPhase();
    head_.clear();
    headDone_ = false;
    reading_ = true;
    waitingSince_ = Clock::now();
    deadline_ = waitingSince_ + server_.limits_.requestReadTimeout;
  }

  void endReadPhase() {
    if (slow_) server_.slow_.release(peer_);
    slow_ = false;
    reading_ = false;
  }

  // Waits (idle, between requests) for the next request's first byte;
  // false when the client closed, stayed idle too long or was too slow.
  bool waitForRequest() {
    if (!flush()) return false;
    auto idleUntil = Clock::now() + server_.limits_.keepAliveTimeout;
    if (bufferedBytes() == 0 && !waitFor(POLLIN, idleUntil)) return false;
    deadline_ = Clock::now() + server_.limits_.requestReadTimeout;
    return true;
  }

  bool handshake(SSL_CTX* ctx) {
    ssl_ = SSL_new(ctx);
    if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1) return false;
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    while (true) {
      ERR_clear_error();
      int rc = SSL_accept(ssl_);
      if (rc == 1) return handshakeDone_ = true;
      int err = SSL_get_error(ssl_, rc);
      short events = err == SSL_ERROR_WANT_READ    ? POLLIN
                     : err == SSL_ERROR_WANT_WRITE ? POLLOUT
                                                   : 0;
      if (events == 0 || !waitFor(events, deadline_)) return false;
    }
  }

  bool is_readable() const override {
    if (!const_cast<GuardedStream*>(this)->flush()) return false;
    if (bufferedBytes() > 0) return true;
    return const_cast<GuardedStream*>(this)->waitFor(POLLIN, readUntil());
  }

  bool is_writable() const override {
    if (!const_cast<GuardedStream*>(this)->flush()) return false;
    return const_cast<GuardedStream*>(this)->waitFor(POLLOUT, Clock::now() + kWriteTimeout);
  }

  // httplib reads a request head one byte at a time: bytes come from a
  // buffer refilled with one recv (or SSL_read) of up to kReadBuffer bytes,
  // not from a poll and a recv per byte.
  ssize_t read(char* ptr, size_t size) override {
    if (!flush()) return -1;
    if (bufferedBytes() == 0) {
      ssize_t n = fill();
      if (n <= 0) return n;
    }
    size_t n = std::min(size, bufferedBytes());
    std::memcpy(ptr, buffer_.data() + bufferAt_, n);
    bufferAt_ += n;
    return recordHead(ptr, static_cast<ssize_t>(n));
  }

  // An answer's status line and headers (httplib writes them apart from
  // the body) are held until the body's first bytes come, or until the
  // answer is over, and go out with them in one send: one TCP segment and
  // one wake-up of the client instead of two.
  ssize_t write(const char* ptr, size_t size) override {
    if (pending_.empty() && isResponseHead(ptr, size)) {
      pending_.assign(ptr, size);
      return static_cast<ssize_t>(size);
    }
    if (!pending_.empty()) return writeAfterPending(ptr, size);
    return sendSome(ptr, size);
  }

  // Sends what write() holds back; false when the connection failed.
  bool flush() {
    if (pending_.empty()) return true;
    std::string held = std::move(pending_);
    pending_.clear();
    return sendAll(held.data(), held.size());
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = peer_;
    port = peerPort_;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = local_;
    port = localPort_;
  }
  socket_t socket() const override { return fd_; }

  bool closeRequested = false;
  std::string_view head() const { return head_; }

 private:
  static constexpr size_t kHeadCap = 64 << 10;
  static constexpr size_t kReadBuffer = 16 << 10;

  size_t bufferedBytes() const { return bufferEnd_ - bufferAt_; }

  // "HTTP/1.1 200 OK\r\n...\r\n\r\n": a whole answer head, small enough
  // to hold.
  static bool isResponseHead(const char* ptr, size_t size) {
    std::string_view text(ptr, size);
    return size <= kHeadCap && text.starts_with("HTTP/") && text.ends_with("\r\n\r\n");
  }

  // Sends some of [ptr, ptr + size) as soon as the socket takes it (one
  // send when it can: no poll first); the count sent, or -1.
  ssize_t sendSome(const char* ptr, size_t size) {
    auto until = Clock::now() + kWriteTimeout;
    while (true) {
      if (ssl_) {
        ERR_clear_error();
        int n = SSL_write(ssl_, ptr, static_cast<int>(std::min<size_t>(size, 1 << 30)));
        if (n > 0) return n;
        int err = SSL_get_error(ssl_, n);
        short events = err == SSL_ERROR_WANT_WRITE  ? POLLOUT
                       : err == SSL_ERROR_WANT_READ ? POLLIN
                                                    : 0;
        if (events == 0 || !waitFor(events, until)) return -1;
        continue;
      }
      ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      if (!waitFor(POLLOUT, until)) return -1;
    }
  }

  bool sendAll(const char* ptr, size_t size) {
    while (size > 0) {
      ssize_t n = sendSome(ptr, size);
      if (n <= 0) return false;
      ptr += n;
      size -= static_cast<size_t>(n);
    }
    return true;
  }

  // The held head and the first bytes of the body: one send of both while
  // the head has not gone out whole, then as write() would.
  ssize_t writeAfterPending(const char* ptr, size_t size) {
    if (ssl_) {  // TLS: one record of both
      std::string both = std::move(pending_);
      pending_.clear();
      both.append(ptr, size);
      return sendAll(both.data(), both.size()) ? static_cast<ssize_t>(size) : -1;
    }
    auto until = Clock::now() + kWriteTimeout;
    size_t headSent = 0;
    while (true) {
      iovec parts[2] = {{pending_.data() + headSent, pending_.size() - headSent},
                        {const_cast<char*>(ptr), size}};
      msghdr message{};
      message.msg_iov = parts;
      message.msg_iovlen = 2;
      ssize_t n = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if ((errno != EAGAIN && errno != EWOULDBLOCK) || !waitFor(POLLOUT, until)) {
          pending_.clear();
          return -1;
        }
        continue;
      }
      const size_t left = pending_.size() - headSent;
      if (static_cast<size_t>(n) < left) {
        headSent += static_cast<size_t>(n);
        continue;
      }
      pending_.clear();
      return static_cast<ssize_t>(static_cast<size_t>(n) - left);  // of the body; may be 0
    }
  }

  // Refills the empty buffer: what the socket holds now, else waits for
  // it under the same deadlines as before (readUntil(), slow clients, a
  // stopping server). The bytes of a next request that came with this one
  // stay buffered for it.
  ssize_t fill() {
    bufferAt_ = bufferEnd_ = 0;
    while (true) {
      if (Clock::now() >= readUntil() || stopping()) return -1;
      ssize_t n;
      if (ssl_) {
        ERR_clear_error();
        int got = SSL_read(ssl_, buffer_.data(), static_cast<int>(buffer_.size()));
        if (got <= 0) {
          int err = SSL_get_error(ssl_, got);
          if (err == SSL_ERROR_WANT_READ) {
            if (!waitFor(POLLIN, readUntil())) return -1;
            continue;
          }
          if (err == SSL_ERROR_WANT_WRITE && waitFor(POLLOUT, Clock::now() + kWriteTimeout))
            continue;
          return err == SSL_ERROR_ZERO_RETURN ? 0 : -1;
        }
        n = got;
      } else {
        n = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
        if (n < 0) {
          if (errno == EINTR) continue;
          if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
          if (!waitFor(POLLIN, readUntil())) return -1;
          continue;
        }
      }
      bufferEnd_ = static_cast<size_t>(n);
      return n;
    }
  }

  // Keeps the bytes of the request head (up to its blank line) as read.
  ssize_t recordHead(const char* data, ssize_t n) {
    if (headDone_ || n <= 0) return n;
    size_t from = head_.size() >= 3 ? head_.size() - 3 : 0;
    head_.append(data, static_cast<size_t>(n));
    auto end = head_.find("\r\n\r\n", from);
    auto bare = head_.find("\n\n", from);
    end = std::min(end == std::string::npos ? end : end + 4,
                   bare == std::string::npos ? bare : bare + 2);
    if (end != std::string::npos) {
      head_.resize(end);
      headDone_ = true;
    } else if (head_.size() > kHeadCap) {
      head_.resize(kHeadCap);
      headDone_ = true;
    }
    return n;
  }

  Clock::time_point readUntil() const {
    return reading_ ? deadline_ : Clock::now() + server_.limits_.requestReadTimeout;
  }

  bool stopping() const { return server_.svr_sock_ == INVALID_SOCKET; }

  // Waits until the socket is ready for `events` or `until` passes (false),
  // the server stops (false), or this connection turns slow past the
  // limits (false, the connection is to be closed).
  bool waitFor(short events, Clock::time_point until) {
    if ((events & POLLIN) && ssl_ && SSL_pending(ssl_) > 0) return true;
    while (true) {
      auto now = Clock::now();
      if (now >= until || stopping()) return false;
      if (reading_ && !slow_ && now - waitingSince_ >= server_.limits_.slowAfter) {
        if (!server_.slow_.admit(peer_)) {
          ++server_.slowClosed_;
          return false;
        }
        slow_ = true;
      }
      auto wait = std::min<Clock::duration>(until - now, kSlice);
      if (reading_ && !slow_)
        wait = std::min<Clock::duration>(wait, waitingSince_ + server_.limits_.slowAfter - now);
      int ms = static_cast<int>(std::chrono::ceil<milliseconds>(wait).count());
      pollfd p{fd_, events, 0};
      int rc = ::poll(&p, 1, std::max(ms, 0));
      if (rc > 0) return true;  // ready, or an error/hang-up the next call reports
      if (rc < 0 && errno != EINTR) return false;
    }
  }

  GuardedServer& server_;
  int fd_;
  SSL* ssl_ = nullptr;
  bool handshakeDone_ = false;
  std::string peer_, local_;
  int peerPort_ = 0, localPort_ = 0;
  bool reading_ = false;
  bool slow_ = false;
  std::string head_;
  bool headDone_ = false;
  std::array<char, kReadBuffer> buffer_;
  std::string pending_;                  // an answer's head, held until its body's first bytes
  size_t bufferAt_ = 0, bufferEnd_ = 0;  // unread bytes: [bufferAt_, bufferEnd_)
  Clock::time_point waitingSince_{};
  Clock::time_point deadline_{};
};

namespace {
thread_local GuardedStream* tCurrent = nullptr;
}  // namespace

GuardedServer::GuardedServer(ConnectionLimits limits, SSL_CTX* tls)
    : limits_(limits), tls_(tls), slow_(limits_) {}

GuardedServer::~GuardedServer() {
  if (tls_) SSL_CTX_free(tls_);
}

void GuardedServer::closeAfterReply() {
  if (tCurrent) tCurrent->closeRequested = true;
}

std::string_view GuardedServer::rawHead() {
  return tCurrent ? tCurrent->head() : std::string_view();
}

void GuardedServer::requestRead() {
  if (tCurrent) tCurrent->endReadPhase();
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  // An answer goes out at once: with Nagle's algorithm its body would wait
  // for the client's delayed ACK of the headers, 40 ms on every request of
  // a kept-alive connection.
  int one = 1;
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  GuardedStream stream(*this, sock);
  tCurrent = &stream;
  stream.beginReadPhase();
  bool ok = !tls_ || stream.handshake(tls_);
  for (int served = 0; ok && served < kMaxRequestsPerConnection; ++served) {
    if (served > 0) {
      stream.beginReadPhase();
      if (!stream.waitForRequest()) break;
    }
    bool closed = false;
    stream.closeRequested = false;
    bool last = served + 1 == kMaxRequestsPerConnection;
    ok = process_request(stream, last, closed, nullptr);
    if (!stream.flush()) ok = false;
    stream.endReadPhase();
    if (closed || stream.closeRequested || svr_sock_ == INVALID_SOCKET) break;
  }
  tCurrent = nullptr;
  return ok;
}

}  // namespace keel::api
