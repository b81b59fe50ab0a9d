// ScriptedHttpClient: an HttpClient for tests, with no network and no thread.
//
// Results are scripted in advance (script*), handed to sends in order; a send
// with nothing scripted stays in flight until complete() or cancel(). No
// `done` runs inside send(), cancel(), complete() or shutdown(): each due
// result waits until the test calls deliver(), which runs them in order on
// the calling thread (it plays the client's thread) with no lock held.
// Every request sent is kept for inspection. Thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <vector>

#include "http/client.h"

namespace keel::testing {

class ScriptedHttpClient final : public http::HttpClient {
 public:
  void script(http::HttpResult result);
  void scriptStatus(int status, std::string body = "", http::Headers headers = {});
  void scriptFailure(http::TransportFailureKind kind, std::string message = "scripted");

  Handle send(http::HttpRequest request, Done done) override;
  void cancel(Handle handle) override;
  void shutdown() override;

  // Ends a request in flight with `result` (due at the next deliver()); false
  // when `handle` is not in flight.
  bool complete(Handle handle, http::HttpResult result);
  // Runs every due `done`, oldest first; returns how many ran.
  std::size_t deliver();

  std::vector<http::HttpRequest> requests() const;  // every request sent, in order
  std::vector<Handle> inFlight() const;             // sent, not yet ended, oldest first

 private:
  struct Due {
    Done done;
    http::HttpResult result;
  };
  void endLocked(Handle handle, http::HttpResult result);

  mutable std::mutex mu_;
  std::deque<http::HttpResult> script_;
  std::map<Handle, Done> inFlight_;
  std::deque<Due> due_;
  std::vector<http::HttpRequest> requests_;
  Handle next_ = 1;
  bool shutDown_ = false;
};

}  // namespace keel::testing
