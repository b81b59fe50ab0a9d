// MailSender: the seam through which keel sends an email (the email
// channels). send() blocks until the SMTP server accepted or refused the
// message, or `timeout` passed; callers run it off any loop (the
// notification delivery's own thread). CurlMailSender speaks SMTP through
// libcurl (smtp:// with STARTTLS when the server offers it, smtps://
// with TLS from the start; certificates always verified). Thread-safe: no
// shared state.
#pragma once

#include <string>
#include <vector>

#include "core/clock.h"

namespace keel::outbox {

struct MailRequest {
  std::string url;  // smtp://host[:port] or smtps://host[:port]
  std::string username;
  std::string password;         // empty: no authentication
  std::string from;             // envelope sender (MAIL FROM)
  std::vector<std::string> to;  // envelope recipients (RCPT TO)
  std::string message;          // RFC 5322, CRLF line ends
  Millis timeout{10'000};
};

struct MailResult {
  bool ok = false;
  int code = 0;       // the server's last reply code; 0: none came
  std::string error;  // for humans, when !ok
};

class MailSender {
 public:
  virtual ~MailSender() = default;
  virtual MailResult send(const MailRequest& request) = 0;
};

class CurlMailSender final : public MailSender {
 public:
  MailResult send(const MailRequest& request) override;
};

}  // namespace keel::outbox
