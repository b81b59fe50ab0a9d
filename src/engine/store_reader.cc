#include "engine/store_reader.h"

namespace keel::engine {

StoreReader::StoreReader(bool threaded) {
  if (threaded) thread_ = std::thread([this] { main(); });
}

StoreReader::~StoreReader() { stop(); }

void StoreReader::post(Job job) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

int StoreReader::runPending() {
  std::deque<Job> jobs;
  {
    std::lock_guard lock(mu_);
    jobs.swap(jobs_);
  }
  for (auto& job : jobs) job();
  return static_cast<int>(jobs.size());
}

void StoreReader::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void StoreReader::main() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping with nothing queued
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace keel::engine
