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

std::future<Result<store::RunRow>> FakeControl::stepAction(std::string action,
                                                           const std::string& runId,
                                                           const std::string& step,
                                                           RequestContext who) {
  {
    std::lock_guard lock(mu_);
    stepActions_.push_back(action + " " + runId + " " + step);
    callers_.push_back(std::move(who));
  }
  return answer<store::RunRow>([this, action, runId, step]() -> Result<store::RunRow> {
    if (onStepAction) return onStepAction(action, runId, step);
    return Error(ErrorCode::kNotFound, "no run '" + runId + "'");
  });
}

std::future<Result<store::RunRow>> FakeControl::decideApproval(const std::string& runId,
                                                               const std::string& step,
                                                               bool approve, RequestContext who) {
  {
    std::lock_guard lock(mu_);
    decisions_.emplace_back(runId, step, approve);
    callers_.push_back(std::move(who));
  }
  return answer<store::RunRow>([this, runId, step, approve]() -> Result<store::RunRow> {
    if (onDecideApproval) return onDecideApproval(runId, step, approve);
    return Error(ErrorCode::kNotFound, "no run '" + runId + "'");
  });
}

std::future<Result<incidents::Incident>> FakeControl::incidentAction(
    engine::IncidentRequest request, RequestContext who) {
  {
    std::lock_guard lock(mu_);
    callers_.push_back(std::move(who));
  }
  return answer<incidents::Incident>([this, request]() -> Result<incidents::Incident> {
    if (onIncidentAction) return onIncidentAction(request);
    return Error(ErrorCode::kNotFound, "no incident " + request.id);
  });
}

std::future<Result<store::RunRow>> FakeControl::skipStep(const std::string& runId,
                                                         const std::string& step,
                                                         RequestContext who) {
  return stepAction("skip", runId, step, std::move(who));
}

std::future<Result<store::RunRow>> FakeControl::rerunFrom(const std::string& runId,
                                                          const std::string& step,
                                                          RequestContext who) {
  return stepAction("rerun", runId, step, std::move(who));
}

std::future<Result<store::RunRow>> FakeControl::cancelStep(const std::string& runId,
                                                           const std::string& step,
                                                           RequestContext who) {
  return stepAction("cancel_step", runId, step, std::move(who));
}

std::vector<std::string> FakeControl::stepActions() const {
  std::lock_guard lock(mu_);
  return stepActions_;
}

std::vector<std::tuple<std::string, std::string, bool>> FakeControl::decisions() const {
  std::lock_guard lock(mu_);
  return decisions_;
}

std::future<Result<engine::ApplyResult>> FakeControl::applyWorkflow(std::string yaml,
                                                                    std::string sourceName,
                                                                    RequestContext who) {
  {
    std::lock_guard lock(mu_);
    applies_.emplace_back(yaml, sourceName);
    callers_.push_back(std::move(who));
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
    std::string text, std::string sourceName, RequestContext who) {
  {
    std::lock_guard lock(mu_);
    applies_.emplace_back(text, sourceName);
    callers_.push_back(std::move(who));
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

std::future<Result<engine::WorkflowControlResult>> FakeControl::workflowControl(
    const std::string& action, const std::string& name, RequestContext who) {
  {
    std::lock_guard lock(mu_);
    controls_.push_back(action + " " + name);
    callers_.push_back(who);
  }
  return answer<engine::WorkflowControlResult>(
      [this, action, name, who]() -> Result<engine::WorkflowControlResult> {
        if (onWorkflowControl) return onWorkflowControl(action, name);
        engine::WorkflowControlResult r;
        r.control.name = name;
        r.changed = true;
        const bool on = action == "pause" || action == "disable";
        if (action == "pause" || action == "resume") {
          r.control.paused = on;
          if (on) {
            r.control.pausedBy = who.actor();
            r.control.pausedReason = who.reason;
            r.control.pausedAt = WallTime{};
          }
        } else {
          r.control.disabled = on;
          if (on) {
            r.control.disabledBy = who.actor();
            r.control.disabledReason = who.reason;
            r.control.disabledAt = WallTime{};
          }
        }
        return r;
      });
}

std::future<Result<store::RunRow>> FakeControl::runControl(const std::string& action,
                                                           const std::string& runId,
                                                           RequestContext who) {
  {
    std::lock_guard lock(mu_);
    controls_.push_back(action + " " + runId);
    callers_.push_back(std::move(who));
  }
  return answer<store::RunRow>([this, action, runId]() -> Result<store::RunRow> {
    if (onRunControl) return onRunControl(action, runId);
    return Error(ErrorCode::kNotFound, "no run '" + runId + "'");
  });
}

std::future<Result<engine::WorkflowControlResult>> FakeControl::pauseWorkflow(
    const std::string& name, RequestContext who) {
  return workflowControl("pause", name, std::move(who));
}
std::future<Result<engine::WorkflowControlResult>> FakeControl::resumeWorkflow(
    const std::string& name, RequestContext who) {
  return workflowControl("resume", name, std::move(who));
}
std::future<Result<engine::WorkflowControlResult>> FakeControl::disableWorkflow(
    const std::string& name, RequestContext who) {
  return workflowControl("disable", name, std::move(who));
}
std::future<Result<engine::WorkflowControlResult>> FakeControl::enableWorkflow(
    const std::string& name, RequestContext who) {
  return workflowControl("enable", name, std::move(who));
}
std::future<Result<store::RunRow>> FakeControl::pauseRun(const std::string& runId,
                                                         RequestContext who) {
  return runControl("pause", runId, std::move(who));
}
std::future<Result<store::RunRow>> FakeControl::resumeRun(const std::string& runId,
                                                          RequestContext who) {
  return runControl("resume", runId, std::move(who));
}

std::vector<std::string> FakeControl::controls() const {
  std::lock_guard lock(mu_);
  return controls_;
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
