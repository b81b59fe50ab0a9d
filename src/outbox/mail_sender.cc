#include "outbox/mail_sender.h"

#include <algorithm>
#include <cstring>

#include <curl/curl.h>

namespace keel::outbox {
namespace {

struct Upload {
  const std::string* data;
  size_t offset = 0;
};

size_t readMessage(char* buffer, size_t size, size_t count, void* user) {
  auto* up = static_cast<Upload*>(user);
  size_t room = size * count;
  size_t left = up->data->size() - up->offset;
  size_t n = std::min(room, left);
  std::memcpy(buffer, up->data->data() + up->offset, n);
  up->offset += n;
  return n;
}

}  // namespace

MailResult CurlMailSender::send(const MailRequest& request) {
  MailResult out;
  CURL* curl = curl_easy_init();
  if (!curl) {
    out.error = "cannot start libcurl";
    return out;
  }
  curl_slist* rcpt = nullptr;
  for (const auto& address : request.to)
    rcpt = curl_slist_append(rcpt, ("<" + address + ">").c_str());
  Upload upload{&request.message};
  const std::string from = "<" + request.from + ">";
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, readMessage);
  curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.message.size()));
  // smtp://: STARTTLS when the server offers it; smtps:// is TLS throughout.
  curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<int64_t>(request.timeout.count(), 10'000)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  if (!request.username.empty()) curl_easy_setopt(curl, CURLOPT_USERNAME, request.username.c_str());
  if (!request.password.empty()) curl_easy_setopt(curl, CURLOPT_PASSWORD, request.password.c_str());
  CURLcode rc = curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  out.code = static_cast<int>(code);
  if (rc == CURLE_OK) {
    out.ok = true;
  } else {
    out.error = std::string(curl_easy_strerror(rc)) + (errbuf[0] ? std::string(": ") + errbuf : "");
    if (code != 0) out.error += " (SMTP " + std::to_string(code) + ")";
  }
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(curl);
  return out;
}

}  // namespace keel::outbox
