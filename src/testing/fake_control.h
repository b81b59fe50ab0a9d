// FakeControl: a scripted engine::Control for API and CLI tests.
//
// Each call is recorded, then answered by the matching on* function (set by
// the test; a default answers something plausible). With hang = true every
// future stays unresolved, to exercise the server's engine timeout. Test
// only; thread-safe (the server calls it from its worker threads).
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/control.h"

namespace keel::testing {

class FakeControl final : public engine::Control {
 public:
  std::function<Result<engine::TriggerResult>(const engine::TriggerRequest&)> onTrigger;
  std::function<Result<store::RunRow>(const std::string&)> onCancel;
  std::function<Result<store::RunRow>(const std::string&)> onRetry;
  std::function<Result<engine::ApplyResult>(const std::string& yaml, const std::string& source)>
      onApply;
  std::function<Result<engine::EventResult>(const engine::EventRequest&)> onEmit;
  // Answers skipStep, rerunFrom and cancelStep: (action, run id, step) with
  // action "skip", "rerun" or "cancel_step". Default: kNotFound.
  std::function<Result<store::RunRow>(const std::string& action, const std::string& runId,
                                      const std::string& step)>
      onStepAction;
  // Answers liveLog() when set (any thread); otherwise kUnimplemented.
  std::function<Result<engine::LiveLog>(const engine::LiveLogRequest&)> onLiveLog;
  // Pause, resume, disable, enable: called with (action, target), where
  // action is "pause", "resume", "disable" or "enable"; defaults answer
  // a changed control (workflows) or kNotFound (runs).
  std::function<Result<engine::WorkflowControlResult>(const std::string& action,
                                                      const std::string& name)>
      onWorkflowControl;
  std::function<Result<store::RunRow>(const std::string& action, const std::string& runId)>
      onRunControl;
  // Answers decideApproval() (run id, step, approve); default kNotFound.
  std::function<Result<store::RunRow>(const std::string&, const std::string&, bool)>
      onDecideApproval;
  // Answers incidentAction() with the request; default kNotFound.
  std::function<Result<incidents::Incident>(const engine::IncidentRequest&)> onIncidentAction;
  bool hang = false;

  std::future<Result<engine::TriggerResult>> trigger(engine::TriggerRequest request) override;
  std::future<Result<store::RunRow>> cancel(const std::string& runId, RequestContext who) override;
  // Recorded in cancels() and compensatedCancels(), answered by onCancel.
  std::future<Result<store::RunRow>> cancelAndCompensate(const std::string& runId,
                                                         RequestContext who) override;
  std::future<Result<store::RunRow>> retry(const std::string& runId, RequestContext who) override;
  std::future<Result<store::RunRow>> skipStep(const std::string& runId, const std::string& step,
                                              RequestContext who) override;
  std::future<Result<store::RunRow>> rerunFrom(const std::string& runId, const std::string& step,
                                               RequestContext who) override;
  std::future<Result<store::RunRow>> cancelStep(const std::string& runId, const std::string& step,
                                                RequestContext who) override;
  // Each step action as "ACTION RUN STEP", in call order (callers() has who).
  std::vector<std::string> stepActions() const;
  std::future<Result<store::RunRow>> decideApproval(const std::string& runId,
                                                    const std::string& step, bool approve,
                                                    RequestContext who) override;
  // Recorded in callers(), answered by onIncidentAction.
  std::future<Result<incidents::Incident>> incidentAction(engine::IncidentRequest request,
                                                          RequestContext who) override;
  std::future<Result<engine::ApplyResult>> applyWorkflow(std::string yaml, std::string sourceName,
                                                         RequestContext who = {}) override;
  // The whole text as one apply (recorded in applies(), answered by
  // onApply; who asked is in callers()).
  std::future<Result<std::vector<engine::ApplyResult>>> applyWorkflows(
      std::string text, std::string sourceName, RequestContext who = {}) override;
  std::future<Result<engine::EventResult>> emitEvent(engine::EventRequest request) override;
  std::vector<engine::EventRequest> emits() const;
  std::future<Result<engine::WorkflowControlResult>> pauseWorkflow(const std::string& name,
                                                                   RequestContext who) override;
  std::future<Result<engine::WorkflowControlResult>> resumeWorkflow(const std::string& name,
                                                                    RequestContext who) override;
  std::future<Result<engine::WorkflowControlResult>> disableWorkflow(const std::string& name,
                                                                     RequestContext who) override;
  std::future<Result<engine::WorkflowControlResult>> enableWorkflow(const std::string& name,
                                                                    RequestContext who) override;
  std::future<Result<store::RunRow>> pauseRun(const std::string& runId,
                                              RequestContext who) override;
  std::future<Result<store::RunRow>> resumeRun(const std::string& runId,
                                               RequestContext who) override;
  // Every pause/resume/disable/enable call as "ACTION TARGET", in order
  // (who asked is in callers()).
  std::vector<std::string> controls() const;
  Result<engine::LiveLog> liveLog(const engine::LiveLogRequest& request) const override {
    if (onLiveLog) return onLiveLog(request);
    return Control::liveLog(request);
  }

  std::vector<engine::TriggerRequest> triggers() const;
  std::vector<std::pair<std::string, std::string>> applies() const;  // (yaml, source)
  std::vector<std::string> cancels() const;
  std::vector<std::string> compensatedCancels() const;  // those with compensation
  std::vector<std::string> retries() const;
  // Each decideApproval() call: (run id, step, approve).
  std::vector<std::tuple<std::string, std::string, bool>> decisions() const;
  // Who asked for each cancel, retry and decision, in call order.
  std::vector<RequestContext> callers() const;

 private:
  template <typename T>
  std::future<Result<T>> answer(std::function<Result<T>()> make);
  std::future<Result<store::RunRow>> stepAction(std::string action, const std::string& runId,
                                                const std::string& step, RequestContext who);

  mutable std::mutex mu_;
  std::vector<engine::TriggerRequest> triggers_;
  std::vector<std::pair<std::string, std::string>> applies_;
  std::vector<std::string> cancels_;
  std::vector<std::string> compensatedCancels_;
  std::vector<std::string> retries_;
  std::vector<std::tuple<std::string, std::string, bool>> decisions_;
  std::vector<RequestContext> callers_;
  std::vector<std::string> controls_;
  std::future<Result<engine::WorkflowControlResult>> workflowControl(const std::string& action,
                                                                     const std::string& name,
                                                                     RequestContext who);
  std::future<Result<store::RunRow>> runControl(const std::string& action, const std::string& runId,
                                                RequestContext who);
  std::vector<engine::EventRequest> emits_;
  std::vector<std::string> stepActions_;
  std::vector<std::shared_ptr<void>> hanging_;  // promises kept unresolved
};

}  // namespace keel::testing
