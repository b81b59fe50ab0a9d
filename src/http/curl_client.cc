#include "http/curl_client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <unordered_map>
#include <utility>

namespace keel::http {

struct CurlHttpClient::Transfer {
  Handle handle = 0;
  HttpRequest request;
  Done done;
  MonoTime sentAt;
  CURL* easy = nullptr;
  curl_slist* headerList = nullptr;
  HttpResponse response;
  char error[CURL_ERROR_SIZE] = {};

  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    curl_slist_free_all(headerList);
  }
};

namespace {

using Transfer = CurlHttpClient::Transfer;

void globalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool isTchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool isToken(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), isTchar); }
bool hasControl(std::string_view s, bool allowTab) {
  return std::any_of(s.begin(), s.end(), [&](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && !(allowTab && c == '\t')) || u == 0x7f;
  });
}
bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// Why the request cannot be sent as given, or empty. Values are not quoted
// back: a header may carry a secret.
std::string invalidReason(const HttpRequest& r) {
  if (!isToken(r.method)) return "the method is not an HTTP token";
  if (!startsWithNoCase(r.url, "http://") && !startsWithNoCase(r.url, "https://"))
    return "the URL is not http:// or https://";
  if (hasControl(r.url, false) || r.url.find(' ') != std::string::npos)
    return "the URL contains a space or a control character";
  for (const auto& h : r.headers) {
    if (!isToken(h.name)) return "a header name is not an HTTP token";
    if (hasControl(h.value, true))
      return fmt::format("header {}: control character in value", h.name);
  }
  if (r.totalTimeout.count() <= 0 || r.connectTimeout.count() <= 0)
    return "the timeouts must be positive";
  return {};
}

std::size_t onBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t len = size * n;
  HttpResponse& r = t->response;
  r.bodyBytes += len;
  std::size_t cap = t->request.maxResponseBytes;
  std::size_t room = cap > r.body.size() ? cap - r.body.size() : 0;
  std::size_t keep = std::min(room, len);
  r.body.append(data, keep);
  if (keep < len) r.truncated = true;
  return len;
}

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// One header line of any response; a status line starts the headers afresh,
// so only the final response's (after redirects or a 100) are kept.
std::size_t onHeader(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t len = size * n;
  std::string_view line(data, len);
  Headers& hs = t->response.headers;
  if (line.rfind("HTTP/", 0) == 0) {
    hs.clear();
  } else if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
    std::string_view more = trimOws(line);
    if (!hs.empty() && !more.empty()) hs.back().value += " " + std::string(more);
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    hs.push_back(
        {std::string(line.substr(0, colon)), std::string(trimOws(line.substr(colon + 1)))});
  }
  return len;
}

TransportFailureKind kindOf(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
      return TransportFailureKind::kConnectionRefused;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return TransportFailureKind::kDns;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return TransportFailureKind::kTls;
    case CURLE_OPERATION_TIMEDOUT:
      return TransportFailureKind::kTimeout;
    case CURLE_TOO_MANY_REDIRECTS:
      return TransportFailureKind::kTooManyRedirects;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return TransportFailureKind::kInvalidRequest;
    default:
      return TransportFailureKind::kOther;
  }
}

// Configures t->easy from t->request; an error message when curl refuses.
std::string configure(Transfer& t) {
  CURL* e = t.easy;
  const HttpRequest& r = t.request;
  CURLcode c = CURLE_OK;
  auto set = [&](CURLoption o, auto v) {
    if (c == CURLE_OK) c = curl_easy_setopt(e, o, v);
  };
  set(CURLOPT_URL, r.url.c_str());
  set(CURLOPT_PRIVATE, static_cast<void*>(&t));
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_ERRORBUFFER, t.error);
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set(CURLOPT_PROXY, "");  // an empty proxy disables the environment's
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connectTimeout.count()));
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(r.totalTimeout.count()));
  set(CURLOPT_FOLLOWLOCATION, r.followRedirects ? 1L : 0L);
  set(CURLOPT_MAXREDIRS, 10L);
  set(CURLOPT_SSL_VERIFYPEER, 1L);
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  if (!r.caFile.empty()) set(CURLOPT_CAINFO, r.caFile.c_str());
  set(CURLOPT_USERAGENT, "keel");
  set(CURLOPT_WRITEFUNCTION, onBody);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&t));
  set(CURLOPT_HEADERFUNCTION, onHeader);
  set(CURLOPT_HEADERDATA, static_cast<void*>(&t));
  if (r.method == "HEAD") {
    set(CURLOPT_NOBODY, 1L);
  } else if (r.method == "POST" || !r.body.empty()) {
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    set(CURLOPT_POSTFIELDS, r.body.data());
    if (r.method != "POST") set(CURLOPT_CUSTOMREQUEST, r.method.c_str());
  } else if (r.method != "GET") {
    set(CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
  // "Name:" removes a header curl would add; "Name;" sends one with no value.
  t.headerList = curl_slist_append(t.headerList, "Expect:");
  if (!findHeader(r.headers, "Content-Type"))
    t.headerList = curl_slist_append(t.headerList, "Content-Type:");
  for (const auto& h : r.headers) {
    std::string line = h.value.empty() ? h.name + ";" : h.name + ": " + h.value;
    t.headerList = curl_slist_append(t.headerList, line.c_str());
  }
  set(CURLOPT_HTTPHEADER, t.headerList);
  return c == CURLE_OK ? std::string() : curl_easy_strerror(c);
}

HttpResult resultOf(Transfer& t, CURLcode code) {
  Millis elapsed = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t.sentAt);
  if (code != CURLE_OK) {
    std::string message = curl_easy_strerror(code);
    if (t.error[0] != '\0') message += std::string(": ") + t.error;
    HttpResult r = HttpResult::failed(kindOf(code), std::move(message));
    r.response.elapsed = elapsed;
    return r;
  }
  long status = 0;
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
  t.response.status = static_cast<int>(status);
  t.response.elapsed = elapsed;
  return HttpResult::of(std::move(t.response));
}

HttpResult cancelled(const char* why) {
  return HttpResult::failed(TransportFailureKind::kCancelled, why);
}

}  // namespace

CurlHttpClient::CurlHttpClient() {
  globalInit();
  multi_ = curl_multi_init();
  thread_ = std::thread([this] { run(); });
}

CurlHttpClient::~CurlHttpClient() {
  shutdown();
  curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

HttpClient::Handle CurlHttpClient::send(HttpRequest request, Done done) {
  std::unique_lock lock(mu_);
  Handle handle = nextHandle_++;
  if (stopping_) {
    lock.unlock();
    done(cancelled("the HTTP client is shut down"));
    return handle;
  }
  toAdd_.push_back({handle, std::move(request), std::move(done), std::chrono::steady_clock::now()});
  lock.unlock();
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
  return handle;
}

void CurlHttpClient::cancel(Handle handle) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;  // shutdown() cancels everything anyway
    toCancel_.push_back(handle);
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

void CurlHttpClient::shutdown() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
  if (std::this_thread::get_id() == thread_.get_id()) return;  // from a `done`: run() ends after it
  std::call_once(joined_, [this] { thread_.join(); });
}

// The client's thread: starts queued requests, applies cancels, lets curl
// work, and hands finished results to their `done` with no lock held.
void CurlHttpClient::run() {
  auto* multi = static_cast<CURLM*>(multi_);
  std::unordered_map<Handle, std::unique_ptr<Transfer>> inFlight;
  std::vector<std::pair<Done, HttpResult>> finished;
  auto finish = [&](Handle h, HttpResult result) {
    auto it = inFlight.find(h);
    curl_multi_remove_handle(multi, it->second->easy);
    finished.emplace_back(std::move(it->second->done), std::move(result));
    inFlight.erase(it);
  };
  for (;;) {
    std::vector<Queued> adds;
    std::vector<Handle> cancels;
    bool stop;
    {
      std::lock_guard lock(mu_);
      adds.swap(toAdd_);
      cancels.swap(toCancel_);
      stop = stopping_;
    }
    for (auto& q : adds) {
      if (stop) {
        finished.emplace_back(std::move(q.done), cancelled("the HTTP client is shut down"));
        continue;
      }
      auto t = std::make_unique<Transfer>();
      t->handle = q.handle;
      t->request = std::move(q.request);
      t->done = std::move(q.done);
      t->sentAt = q.sentAt;
      std::string bad = invalidReason(t->request);
      if (bad.empty()) {
        t->easy = curl_easy_init();
        bad = t->easy == nullptr ? "curl could not make a handle" : configure(*t);
      }
      if (bad.empty() && curl_multi_add_handle(multi, t->easy) != CURLM_OK)
        bad = "curl could not start the request";
      if (!bad.empty()) {
        finished.emplace_back(std::move(t->done),
                              HttpResult::failed(TransportFailureKind::kInvalidRequest, bad));
        continue;
      }
      inFlight.emplace(q.handle, std::move(t));
    }
    for (Handle h : cancels)
      if (inFlight.count(h)) finish(h, cancelled("cancelled"));
    if (stop) {
      while (!inFlight.empty())
        finish(inFlight.begin()->first, cancelled("the HTTP client is shut down"));
    } else {
      int running = 0;
      curl_multi_perform(multi, &running);
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
        if (m->msg != CURLMSG_DONE) continue;
        Transfer* t = nullptr;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
        CURLcode code = m->data.result;
        finish(t->handle, resultOf(*t, code));
      }
    }
    for (auto& [done, result] : finished) done(std::move(result));
    finished.clear();
    if (stop) return;
    curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
  }
}

}  // namespace keel::http
