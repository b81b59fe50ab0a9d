#include "outbox/pass_loop.h"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

#include "observe/json_log.h"

namespace keel::outbox {

PassLoop::PassLoop(std::string what, const Clock& clock, std::chrono::milliseconds pollEvery)
    : what_(std::move(what)), clock_(clock), pollEvery_(pollEvery) {}

PassLoop::~PassLoop() { stop(); }

void PassLoop::start(Pass pass) {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  pass_ = std::move(pass);
  stopping_ = false;
  woken_ = true;
  thread_ = std::thread([this] { run(); });
}

void PassLoop::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PassLoop::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

bool PassLoop::stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

void PassLoop::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    auto next = pass_();
    lock.lock();
    auto wait = pollEvery_;
    if (!next.ok()) {
      observe::logFields(spdlog::level::warn, what_ + " pass failed: " + next.error().message(),
                         {{"retry_in_ms", wait.count()}});
    } else if (*next) {
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(**next - clock_.wallNow());
      wait = std::clamp(until, std::chrono::milliseconds(0), wait);
    }
    cv_.wait_for(lock, wait, [this] { return woken_ || stopping_; });
  }
}

}  // namespace keel::outbox
