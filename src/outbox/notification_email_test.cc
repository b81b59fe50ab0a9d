// Email notifications through libcurl against a tiny SMTP receiver written
// here (a loopback socket speaking EHLO/MAIL/RCPT/DATA/QUIT): the envelope,
// the headers, and that a line break in a subject cannot add a header.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "outbox/mail_sender.h"
#include "outbox/notification_message.h"

namespace keel::outbox {
namespace {

// Accepts one connection on 127.0.0.1 (port 0) and records the session.
class SmtpReceiver {
 public:
  SmtpReceiver() {
    listen_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(listen_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_, 1), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listen_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~SmtpReceiver() {
    ::shutdown(listen_, SHUT_RDWR);
    ::close(listen_);
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return port_; }
  // Waits for the session to end (the client's QUIT); then the members
  // below may be read.
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  // After the session: the commands received, and the message (DATA).
  std::vector<std::string> commands;
  std::string data;

 private:
  void reply(int fd, const std::string& line) {
    std::string out = line + "\r\n";
    (void)!::write(fd, out.data(), out.size());
  }
  bool readLine(int fd, std::string& buffer, std::string& line) {
    while (true) {
      size_t end = buffer.find("\r\n");
      if (end != std::string::npos) {
        line = buffer.substr(0, end);
        buffer.erase(0, end + 2);
        return true;
      }
      char chunk[4096];
      ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n <= 0) return false;
      buffer.append(chunk, static_cast<size_t>(n));
    }
  }
  void serve() {
    int fd = ::accept(listen_, nullptr, nullptr);
    if (fd < 0) return;
    std::string buffer, line;
    reply(fd, "220 receiver.test ESMTP");
    while (readLine(fd, buffer, line)) {
      commands.push_back(line);
      std::string verb = line.substr(0, 4);
      if (verb == "EHLO" || verb == "HELO") {
        reply(fd, "250 receiver.test");
      } else if (verb == "DATA") {
        reply(fd, "354 go ahead");
        while (readLine(fd, buffer, line) && line != ".") data += line + "\r\n";
        reply(fd, "250 queued");
      } else if (verb == "QUIT") {
        reply(fd, "221 bye");
        break;
      } else {
        reply(fd, "250 ok");
      }
    }
    ::close(fd);
  }

  int listen_ = -1;
  int port_ = 0;
  std::thread thread_;
};

std::vector<std::string> headerLines(const std::string& message) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    size_t end = message.find("\r\n", pos);
    if (end == std::string::npos || end == pos) break;  // the blank line ends the headers
    out.push_back(message.substr(pos, end - pos));
    pos = end + 2;
  }
  return out;
}

TEST(NotificationEmail, IsSentOverSmtpWithItsHeadersAndNoInjectedOne) {
  SmtpReceiver receiver;
  spec::ChannelSpec channel;
  channel.name = "mail";
  channel.type = spec::ChannelType::kEmail;
  channel.from = "keel@example.com";
  channel.to = {"oncall@example.com", "lead@example.com"};
  store::NotificationRow n;
  n.id = "inc-7.level.1";
  n.kind = "escalated";
  n.payloadJson =
      R"({"id":"inc-7","title":"feed failed\r\nBcc: attacker@evil.test","severity":"SEV2",)"
      R"("runbook":"https://wiki.example.com/rb"})";
  WallTime now = WallTime(std::chrono::seconds(1'767'225'600));  // 2026-01-01
  MailRequest req;
  req.url = "smtp://127.0.0.1:" + std::to_string(receiver.port());
  req.from = channel.from;
  req.to = channel.to;
  req.message = emailMessage(channel, n, now);
  req.timeout = Millis(10'000);
  CurlMailSender sender;
  MailResult sent = sender.send(req);
  ASSERT_TRUE(sent.ok) << sent.error;
  EXPECT_EQ(sent.code, 250);
  receiver.join();

  bool from = false, rcpt1 = false, rcpt2 = false;
  for (const auto& c : receiver.commands) {
    from = from || c == "MAIL FROM:<keel@example.com>";
    rcpt1 = rcpt1 || c == "RCPT TO:<oncall@example.com>";
    rcpt2 = rcpt2 || c == "RCPT TO:<lead@example.com>";
  }
  EXPECT_TRUE(from && rcpt1 && rcpt2);
  auto headers = headerLines(receiver.data);
  std::map<std::string, std::string> byName;
  for (const auto& h : headers) byName[h.substr(0, h.find(':'))] = h.substr(h.find(':') + 2);
  EXPECT_EQ(byName["From"], "keel@example.com");
  EXPECT_EQ(byName["To"], "oncall@example.com, lead@example.com");
  EXPECT_EQ(byName["Date"], "Thu, 01 Jan 2026 00:00:00 +0000");
  EXPECT_EQ(byName["Message-ID"], "<inc-7.level.1@keel>");
  // The line break became spaces: still one Subject, and no Bcc header.
  EXPECT_EQ(byName["Subject"], "[keel] SEV2 escalated: feed failed  Bcc: attacker@evil.test");
  EXPECT_EQ(byName.count("Bcc"), 0u);
  EXPECT_EQ(headers.size(), 7u);
  EXPECT_NE(receiver.data.find("Runbook:   https://wiki.example.com/rb"), std::string::npos);
}

TEST(NotificationEmail, ARefusedConnectionIsAFailureWithItsReason) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);  // nothing listens there now
  MailRequest req;
  req.url = "smtp://127.0.0.1:" + std::to_string(port);
  req.from = "keel@example.com";
  req.to = {"oncall@example.com"};
  req.message = "Subject: x\r\n\r\nbody\r\n";
  MailResult sent = CurlMailSender().send(req);
  EXPECT_FALSE(sent.ok);
  EXPECT_FALSE(sent.error.empty());
}

}  // namespace
}  // namespace keel::outbox
