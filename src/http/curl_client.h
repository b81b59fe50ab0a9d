// CurlHttpClient: HttpClient over libcurl.
//
// One curl multi handle, driven by one thread of its own (created by the
// constructor, joined by shutdown() or the destructor), carries every request:
// a thousand calls in flight cost a thousand sockets, not a thousand threads.
// send() and cancel() only queue work and wake that thread. Every `done` runs
// on it, so a slow `done` delays other completions: hand the result over and
// return. The destructor must not run on the client's thread (inside `done`);
// shutdown() may.
//
// Each request: TLS verified (peer and host name) against the system's CA
// store or HttpRequest::caFile; http and https only, for redirects too;
// redirects not followed unless asked; no proxy, whatever http_proxy /
// https_proxy / ALL_PROXY say (a step reaches its service directly); no
// `Expect: 100-continue`; no signals.
#pragma once

#include <mutex>
#include <thread>
#include <vector>

#include "http/client.h"

namespace keel::http {

class CurlHttpClient final : public HttpClient {
 public:
  CurlHttpClient();
  ~CurlHttpClient() override;
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  Handle send(HttpRequest request, Done done) override;
  void cancel(Handle handle) override;
  void shutdown() override;

  struct Transfer;  // one request in flight (curl_client.cc)

 private:
  struct Queued {
    Handle handle;
    HttpRequest request;
    Done done;
    MonoTime sentAt;
  };
  void run();

  void* multi_ = nullptr;  // CURLM*
  std::mutex mu_;
  std::vector<Queued> toAdd_;     // guarded by mu_
  std::vector<Handle> toCancel_;  // guarded by mu_
  bool stopping_ = false;         // guarded by mu_
  Handle nextHandle_ = 1;         // guarded by mu_
  std::thread thread_;
  std::once_flag joined_;
};

}  // namespace keel::http
