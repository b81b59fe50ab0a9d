#include "exec/stop_latch.h"

#include <sys/eventfd.h>

#include <cstdint>

namespace keel::exec {

StopLatch::StopLatch() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

bool StopLatch::request(FailureClass why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ended_ || request_) return false;
  request_ = Request{why, std::chrono::steady_clock::now()};
  if (fd_.valid()) {
    const uint64_t one = 1;
    // Cannot fail short of a counter overflow: one write per latch.
    [[maybe_unused]] ssize_t n = ::write(fd_.get(), &one, sizeof one);
  }
  return true;
}

std::optional<StopLatch::Request> StopLatch::get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return request_;
}

void StopLatch::markEnded() {
  std::lock_guard<std::mutex> lock(mu_);
  ended_ = true;
}

void StopLatch::drain() const {
  if (!fd_.valid()) return;
  uint64_t value = 0;
  [[maybe_unused]] ssize_t n = ::read(fd_.get(), &value, sizeof value);
}

}  // namespace keel::exec
