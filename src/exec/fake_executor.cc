#include "exec/fake_executor.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace keel::exec {

ExecHandle FakeExecutor::start(StepRequest request, std::function<void(StepOutcome)> done) {
  std::unique_lock<std::mutex> lock(mu_);
  const ExecHandle handle = next_++;
  started_.push_back(Started{handle, std::move(request)});
  if (shutdown_) {
    lock.unlock();
    done(failure(FailureClass::kCancelled, "cancelled: the executor has shut down"));
    return handle;
  }
  pending_.push_back(Pending{handle, std::move(done)});
  return handle;
}

void FakeExecutor::stop(ExecHandle handle, FailureClass why) {
  std::unique_lock<std::mutex> lock(mu_);
  const bool isPending = std::any_of(pending_.begin(), pending_.end(),
                                     [&](const Pending& p) { return p.handle == handle; });
  stops_.push_back(Stopped{handle, why, isPending});
  if (!isPending || !completeOnStop_) return;
  auto done = takeLocked(handle);
  lock.unlock();
  (*done)(failure(why, fmt::format("{}: stopped by the engine", toString(why))));
}

void FakeExecutor::shutdown() {
  std::vector<Pending> ending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
    ending.swap(pending_);
  }
  for (auto& p : ending) p.done(failure(FailureClass::kCancelled, "cancelled: shutting down"));
}

void FakeExecutor::setCompleteOnStop(bool complete) {
  std::lock_guard<std::mutex> lock(mu_);
  completeOnStop_ = complete;
}

bool FakeExecutor::complete(ExecHandle handle, StepOutcome outcome) {
  std::unique_lock<std::mutex> lock(mu_);
  auto done = takeLocked(handle);
  lock.unlock();
  if (!done) return false;
  (*done)(std::move(outcome));
  return true;
}

std::optional<ExecHandle> FakeExecutor::finishNext(StepOutcome outcome) {
  std::unique_lock<std::mutex> lock(mu_);
  if (pending_.empty()) return std::nullopt;
  const ExecHandle handle = pending_.front().handle;
  auto done = takeLocked(handle);
  lock.unlock();
  (*done)(std::move(outcome));
  return handle;
}

std::vector<FakeExecutor::Started> FakeExecutor::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Started> out;
  for (const auto& p : pending_)
    for (const auto& s : started_)
      if (s.handle == p.handle) out.push_back(s);
  return out;
}

std::vector<FakeExecutor::Started> FakeExecutor::started() const {
  std::lock_guard<std::mutex> lock(mu_);
  return started_;
}

std::vector<FakeExecutor::Stopped> FakeExecutor::stops() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stops_;
}

bool FakeExecutor::isShutdown() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutdown_;
}

StepOutcome FakeExecutor::success(std::string outputJson) {
  StepOutcome o;
  o.succeeded = true;
  o.exitCode = 0;
  o.message = "exit code 0";
  o.outputJson = std::move(outputJson);
  return o;
}

StepOutcome FakeExecutor::failure(FailureClass cls, std::string message,
                                  std::optional<int> exitCode) {
  StepOutcome o;
  o.succeeded = false;
  o.failureClass = cls;
  o.exitCode = exitCode;
  o.message = message.empty() ? std::string(toString(cls)) : std::move(message);
  return o;
}

std::optional<std::function<void(StepOutcome)>> FakeExecutor::takeLocked(ExecHandle handle) {
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [&](const Pending& p) { return p.handle == handle; });
  if (it == pending_.end()) return std::nullopt;
  auto done = std::move(it->done);
  pending_.erase(it);
  return done;
}

}  // namespace keel::exec
