// StoreReader: the thread that makes the store reads the engine loop needs
// (a finished run for cancel or retry), so that the loop never waits on a
// read while the store's read pool is busy. A job reads, then posts what it
// found back to the loop.
//
// post() is thread-safe. In manual mode (tests) no thread is started: jobs
// wait until the test's pump() calls runPending().
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace keel::engine {

class StoreReader {
 public:
  using Job = std::function<void()>;

  explicit StoreReader(bool threaded);
  ~StoreReader();

  void post(Job job);
  // Manual mode: runs the queued jobs on the caller; returns how many ran.
  int runPending();
  // Runs the jobs already queued, then stops the thread.
  void stop();

 private:
  void main();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;   // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace keel::engine
