// StopLatch: how stop() reaches the thread that watches a running process.
// Internal to exec.
//
// The executor's stop() (any thread) calls request(); the attempt's thread
// polls fd(), which becomes readable on a request, and reads the request
// with get(). Once the attempt's thread has seen the process end it calls
// markEnded(), after which requests are refused: stopping an attempt that
// already ended has no effect. Thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>

#include "core/states.h"
#include "exec/unique_fd.h"

namespace keel::exec {

class StopLatch {
 public:
  struct Request {
    FailureClass why;
    std::chrono::steady_clock::time_point at;
  };

  // If the kernel gives no eventfd (out of descriptors), valid() is false
  // and the attempt fails before it starts a process.
  StopLatch();
  bool valid() const { return fd_.valid(); }

  // False if a stop was already requested or the attempt has ended.
  bool request(FailureClass why);
  std::optional<Request> get() const;
  void markEnded();
  // Asks the watcher to stop watching and leave the process running (keel
  // is stopping; the next start re-attaches it). Also makes fd() readable.
  void requestDetach();
  bool detachRequested() const;
  // Readable once a stop has been requested. Reading it is the caller's job
  // (drain() clears it).
  int fd() const { return fd_.get(); }
  void drain() const;

 private:
  mutable std::mutex mu_;
  std::optional<Request> request_;
  bool ended_ = false;
  bool detach_ = false;
  UniqueFd fd_;
};

}  // namespace keel::exec
