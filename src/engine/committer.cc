#include "engine/committer.h"

namespace keel::engine {

Committer::Committer(store::Store& store, EventLoop& loop, bool threaded)
    : store_(store), loop_(loop), threaded_(threaded) {
  if (threaded_) thread_ = std::thread([this] { writerMain(); });
}

Committer::~Committer() { stop(); }

void Committer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Committer::commit(store::Batch batch, Done done) {
  busy_ = true;
  ++commits_;
  if (!threaded_) {
    applyAndReport(batch, done);
    return;
  }
  {
    std::lock_guard lock(mu_);
    job_.emplace(std::move(batch), std::move(done));
  }
  cv_.notify_one();
}

void Committer::applyAndReport(store::Batch& batch, Done& done) {
  Status status = store_.apply(batch);
  loop_.post([this, status, done = std::move(done), batch = std::move(batch)]() mutable {
    busy_ = false;
    done(status, std::move(batch));
  });
}

void Committer::writerMain() {
  for (;;) {
    std::pair<store::Batch, Done> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || job_.has_value(); });
      if (!job_) return;  // stopping with nothing queued
      job = std::move(*job_);
      job_.reset();
    }
    applyAndReport(job.first, job.second);
  }
}

}  // namespace keel::engine
