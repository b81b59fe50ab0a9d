#include "testing/fake_control.h"

#include <memory>

namespace keel::testing {

template <typename T>
std::future<Result<T>> FakeControl::answer(std::function<Result<T>()> make) {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  auto future = promise->get_future();
  if (hang) {
    std::lock_guard lock(mu_);
    hanging_.push_back(promise);
  } else {
    promise->set_value(make());
  }
  return future;
}

std::future<Result<engine::TriggerResult>> FakeControl::trigger(engine::TriggerRequest request) {
  {
    std::lock_guard lock(mu_);
    triggers_.push_back(request);
  }
  return answer<engine::TriggerResult>([this, request]() -> Result<engine::TriggerResult> {
    if (onTrigger) return onTrigger(request);
    engine::TriggerResult result;
    result.run.id = "01KAAAAAAAAAAAAAAAAAAAAAAA";
    result.run.workflow = request.workflow;
    result.run.version = 1;
    result.run.paramsJson = request.params.dump();
    result.run.idempotencyKey = request.idempotencyKey;
    result.created = true;
    return result;
  });
}

std::future<Result<engine::EventResult>> FakeControl::emitEvent(engine::EventRequest request) {
  {
    std::lock_guard lock(mu_);
    emits_.push_back(request);
  }
  return answer<engine::EventResult>([this, request]() -> Result<engine::EventResult> {
    if (onEmit) return onEmit(request);
    engine::EventResult result;
    result.topic = request.topic;
    result.id = request.id;
    result.created = true;
    return result;
  });
}

std::vector<engine::EventRequest> FakeControl::emits() const {
  std::lock_guard lock(mu_);
  return emits_;
}

std::future<Result<store::RunRow>> FakeControl::cancel(const std::string& runId,
                                                       RequestContext who) {
  {
    std::lock_guard lock(mu_);
    cancels_.push_back(runId);
    callers_.push_back(std::move(who));
  }
  return answer<store::RunRow>([this, runId]() -> Result<store::RunRow> {
    if (onCancel) return onCancel(runId);
    return Error(ErrorCode::kNotFound, "no run '" + runId + "'");
  });
}

std::future<Result<store::RunRow>> FakeControl::cancelAndCompensate(const std::string& runId,
                                                                    RequestContext who) {
  {
    std::lock_guard lock(mu_);
    compensatedCancels_.push_back(runId);
  }
  return cancel(runId, std::move(who));
}

std::vector<std::string> FakeControl::compensatedCancels() const {
  std::lock_guard lock(mu_);
  return compensatedCancels_;
}

std::future<Result<store::RunRow>> FakeControl::retry(const std::string& runId,
                                                      RequestContext who) {
  {
    std::lock_guard lock(mu_);
    retries_.push_back(runId);
    callers_.push_back(std::move(who));
  }
  return answer<store::RunRow>([this, runId]() -> Result<store::RunRow> {
    if (onRetry) return onRetry(runId);
    return Error(ErrorCode::kNotFound, "no run '" + runId + "'");
  });
}

std::future<Result<engine::ApplyResult>> FakeControl::applyWorkflow(std::string yaml,
                                                                    std::string sourceName) {
  {
    std::lock_guard lock(mu_);
    applies_.emplace_back(yaml, sourceName);
  }
  return answer<engine::ApplyResult>([this, yaml, sourceName]() -> Result<engine::ApplyResult> {
    if (onApply) return onApply(yaml, sourceName);
    engine::ApplyResult result;
    result.workflow.name = "fake";
    result.workflow.version = 1;
    result.changed = true;
    return result;
  });
}

std::future<Result<std::vector<engine::ApplyResult>>> FakeControl::applyWorkflows(
    std::string text, std::string sourceName) {
  {
    std::lock_guard lock(mu_);
    applies_.emplace_back(text, sourceName);
  }
  using Results = std::vector<engine::ApplyResult>;
  return answer<Results>([this, text, sourceName]() -> Result<Results> {
    if (onApply) {
      auto r = onApply(text, sourceName);
      if (!r.ok()) return r.error();
      return Results{std::move(*r)};
    }
    engine::ApplyResult result;
    result.workflow.name = "fake";
    result.workflow.version = 1;
    result.changed = true;
    return Results{std::move(result)};
  });
}

std::vector<engine::TriggerRequest> FakeControl::triggers() const {
  std::lock_guard lock(mu_);
  return triggers_;
}

std::vector<std::pair<std::string, std::string>> FakeControl::applies() const {
  std::lock_guard lock(mu_);
  return applies_;
}

std::vector<std::string> FakeControl::cancels() const {
  std::lock_guard lock(mu_);
  return cancels_;
}

std::vector<std::string> FakeControl::retries() const {
  std::lock_guard lock(mu_);
  return retries_;
}

std::vector<RequestContext> FakeControl::callers() const {
  std::lock_guard lock(mu_);
  return callers_;
}

}  // namespace keel::testing
