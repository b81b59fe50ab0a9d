#include "exec/stop_latch.h"

#include <sys/eventfd.h>

#include <cstdint>

namespace keel::exec {

StopLatch::StopLatch() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

namespace {

void wake(const UniqueFd& fd) {
  if (!fd.valid()) return;
  const uint64_t one = 1;
  // Cannot fail short of a counter overflow: at most two writes per latch.
  [[maybe_unused]] ssize_t n = ::write(fd.get(), &one, sizeof one);
}

}  // namespace

bool StopLatch::request(FailureClass why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ended_ || request_) return false;
  request_ = Request{why, std::chrono::steady_clock::now()};
  wake(fd_);
  return true;
}

void StopLatch::requestDetach() {
  std::lock_guard<std::mutex> lock(mu_);
  if (ended_ || detach_) return;
  detach_ = true;
  wake(fd_);
}

bool StopLatch::detachRequested() const {
  std::lock_guard<std::mutex> lock(mu_);
  return detach_;
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
