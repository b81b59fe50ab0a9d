#include "testing/scripted_http_client.h"

namespace keel::testing {

using http::HttpResult;
using http::TransportFailureKind;

void ScriptedHttpClient::script(HttpResult result) {
  std::lock_guard lock(mu_);
  script_.push_back(std::move(result));
}

void ScriptedHttpClient::scriptStatus(int status, std::string body, http::Headers headers) {
  http::HttpResponse r;
  r.status = status;
  r.bodyBytes = body.size();
  r.body = std::move(body);
  r.headers = std::move(headers);
  script(HttpResult::of(std::move(r)));
}

void ScriptedHttpClient::scriptFailure(TransportFailureKind kind, std::string message) {
  script(HttpResult::failed(kind, std::move(message)));
}

ScriptedHttpClient::Handle ScriptedHttpClient::send(http::HttpRequest request, Done done) {
  std::lock_guard lock(mu_);
  Handle h = next_++;
  requests_.push_back(std::move(request));
  if (shutDown_) {
    due_.push_back({std::move(done), HttpResult::failed(TransportFailureKind::kCancelled,
                                                        "the HTTP client is shut down")});
    return h;
  }
  inFlight_.emplace(h, std::move(done));
  if (!script_.empty()) {
    HttpResult r = std::move(script_.front());
    script_.pop_front();
    endLocked(h, std::move(r));
  }
  return h;
}

void ScriptedHttpClient::cancel(Handle handle) {
  std::lock_guard lock(mu_);
  if (inFlight_.count(handle))
    endLocked(handle, HttpResult::failed(TransportFailureKind::kCancelled, "cancelled"));
}

void ScriptedHttpClient::shutdown() {
  std::lock_guard lock(mu_);
  shutDown_ = true;
  while (!inFlight_.empty())
    endLocked(inFlight_.begin()->first,
              HttpResult::failed(TransportFailureKind::kCancelled, "the HTTP client is shut down"));
}

bool ScriptedHttpClient::complete(Handle handle, HttpResult result) {
  std::lock_guard lock(mu_);
  if (!inFlight_.count(handle)) return false;
  endLocked(handle, std::move(result));
  return true;
}

void ScriptedHttpClient::endLocked(Handle handle, HttpResult result) {
  auto it = inFlight_.find(handle);
  due_.push_back({std::move(it->second), std::move(result)});
  inFlight_.erase(it);
}

std::size_t ScriptedHttpClient::deliver() {
  std::size_t n = 0;
  for (;;) {
    Due d;
    {
      std::lock_guard lock(mu_);
      if (due_.empty()) return n;
      d = std::move(due_.front());
      due_.pop_front();
    }
    d.done(std::move(d.result));
    ++n;
  }
}

std::vector<http::HttpRequest> ScriptedHttpClient::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::vector<ScriptedHttpClient::Handle> ScriptedHttpClient::inFlight() const {
  std::lock_guard lock(mu_);
  std::vector<Handle> out;
  for (const auto& [h, done] : inFlight_) out.push_back(h);
  return out;
}

}  // namespace keel::testing
