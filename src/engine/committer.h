// Committer: the store's single writer, and group commit.
//
// The engine loop accumulates every transition into a Batch while a commit
// is in flight; when the committer is idle the loop hands it the whole
// batch, which becomes one transaction and one fsync. The `done` callback
// runs on the loop thread once the batch is durable (or has failed), so
// everything that depends on a transition happens after it is durable.
//
// commit() and busy() are for the loop thread only.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "engine/event_loop.h"
#include "store/store.h"

namespace keel::engine {

class Committer {
 public:
  // Receives the batch back, so a failed commit can be retried.
  using Done = std::function<void(Status, store::Batch)>;

  // threaded = false commits synchronously inside commit() (manual-mode
  // tests); `done` is still posted to the loop, as in production.
  Committer(store::Store& store, EventLoop& loop, bool threaded);
  ~Committer();

  bool busy() const { return busy_; }
  void commit(store::Batch batch, Done done);
  void stop();

  uint64_t commits() const { return commits_; }

 private:
  void writerMain();
  void applyAndReport(store::Batch& batch, Done& done);

  store::Store& store_;
  EventLoop& loop_;
  bool threaded_;
  bool busy_ = false;  // loop thread only
  std::atomic<uint64_t> commits_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<std::pair<store::Batch, Done>> job_;  // guarded by mu_
  bool stopping_ = false;                             // guarded by mu_
  std::thread thread_;
};

}  // namespace keel::engine
