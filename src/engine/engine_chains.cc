// After (chain) triggers: when a run ends, every workflow whose latest
// version has a matching `after:` trigger gets a run, created in the batch
// that holds the upstream run's end, so that a crash keeps both or neither.
//
// Idempotency without reading the store on the loop: each run started this
// way is recorded in the upstream run's timeline (event
// kAfterStartedEvent, in the same batch), and RunRt::afterFired holds the
// triggers an upstream run has fired. A run can end again only after a
// manual retry or, once retried, after a restart; both paths already load
// the run off the loop (the StoreReader for retry, start() for recovery),
// and they read its timeline there too. So a trigger fires at most once per
// upstream run, and a trigger that did not match the first end (state:
// succeeded, the run failed) fires when a retry makes it succeed.
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/engine.h"
#include "observe/json_log.h"
#include "observe/trace_context.h"
#include "triggers/after_trigger.h"

namespace keel::engine {

using nlohmann::json;

void Engine::startAfterTriggers(RunRt& upstream) {
  const std::string ended(toString(upstream.row.state));
  std::optional<triggers::UpstreamEnd> end;  // built once, for the first match
  auto latest = workflows_.allLatest();
  std::vector<const spec::WorkflowSpec*> specs;  // filled for the first match
  for (const auto& wf : latest) {
    const auto& list = wf->spec->triggers;
    for (size_t i = 0; i < list.size(); ++i) {
      const spec::TriggerSpec& t = list[i];
      if (t.kind != spec::TriggerSpec::Kind::kAfter || t.afterWorkflow != upstream.row.workflow ||
          !triggers::afterStateMatches(t.afterState, ended))
        continue;
      if (upstream.afterFired.count({wf->row.name, i})) continue;  // an earlier end started it
      if (upstream.afterFiredUnknown) {
        event(upstream, kAfterFailedEvent, {}, 0,
              fmt::format("after-trigger {} of workflow {} not fired: the run's timeline could "
                          "not be read when it was loaded, so an earlier end may have fired it",
                          i + 1, wf->row.name));
        continue;
      }
      // Apply refuses cycles; versions stored by a keel that did not check
      // them (before after triggers fired) are not started in a loop.
      if (specs.empty())
        for (const auto& other : latest) specs.push_back(other->spec.get());
      if (auto cycle = triggers::findAfterCycle(*wf->spec, specs)) {
        std::string text;
        for (const auto& n : *cycle) text += (text.empty() ? "" : " -> ") + n;
        event(upstream, kAfterFailedEvent, {}, 0,
              fmt::format("after-trigger {} of workflow {} did not start a run: after-trigger "
                          "cycle: {}; apply a version that breaks it",
                          i + 1, wf->row.name, text));
        continue;
      }
      if (!end) {
        end.emplace();
        end->runId = upstream.row.id;
        end->workflow = upstream.row.workflow;
        end->state = ended;
        for (auto& s : upstream.steps) {
          if (s.row.state != StepState::kSucceeded || s.row.outputJson.empty()) continue;
          if (!s.output) {
            s.output = json::parse(s.row.outputJson, nullptr, false);
            if (s.output->is_discarded()) s.output = json();
          }
          end->outputs[s.row.name] = *s.output;
        }
      }
      if (std::string why = disabledReason(wf->row.name); !why.empty()) {
        // Not recorded as fired: a retry that ends the run again tries again.
        event(upstream, kAfterFailedEvent, {}, 0,
              fmt::format("after-trigger {} of workflow {} did not start a run: {}", i + 1,
                          wf->row.name, why));
        continue;
      }
      auto rendered = triggers::renderAfterParams(t, *end);
      Result<json> params = rendered.ok() ? effectiveParams(*wf, *rendered) : rendered.error();
      if (!params.ok()) {
        std::string why = params.error().message();
        for (const auto& d : params.error().details()) why += "; " + d;
        // Not recorded as fired: a retry that ends the run again tries again.
        event(upstream, kAfterFailedEvent, {}, 0,
              fmt::format("after-trigger {} of workflow {} did not start a run: {}", i + 1,
                          wf->row.name, why));
        observe::logFields(
            spdlog::level::warn, "after-trigger did not start a run",
            {{"run_id", upstream.row.id},
             {"trace_id", observe::runTraceId(upstream.row.traceId, upstream.row.id)},
             {"workflow", wf->row.name},
             {"trigger", i + 1},
             {"error", why}});
        continue;
      }
      std::string key = triggers::afterRunKey(upstream.row.id, wf->row.name, i);
      // A chained run continues the upstream run's trace, its run span a
      // child of the upstream run's.
      RunRt& run = createRun(wf, std::move(*params), key, nullptr,
                             observe::runTraceId(upstream.row.traceId, upstream.row.id));
      run.row.parentSpanId = SpanRecorder::runSpanId(upstream.row.id);
      event(run, "started_after_run", {}, 0,
            fmt::format("started after run {} (workflow {}) ended {}", upstream.row.id,
                        upstream.row.workflow, ended));
      event(upstream, kAfterStartedEvent, {}, 0,
            triggers::afterStartedMessage(run.row.id, wf->row.name, i));
      upstream.afterFired.insert({wf->row.name, i});
      KeyId keyId{wf->row.name, key};
      uncommittedKeys_[keyId] = run.row.id;
      replyWhenDurable(run, [this, keyId](const store::RunRow& r) { keyMadeDurable(keyId, r); });
      startRun(run);
    }
  }
}

void Engine::collectAfterFired(RunRt& run, const std::vector<store::EventRow>& events) {
  for (const auto& e : events) {
    if (e.kind != kAfterStartedEvent) continue;
    if (auto fired = triggers::parseAfterStarted(e.message)) run.afterFired.insert(*fired);
  }
}

Status Engine::checkAfterTriggers(const spec::WorkflowSpec& spec, const std::string& file,
                                  std::vector<std::string>& warnings,
                                  const std::vector<const spec::WorkflowSpec*>& pending) {
  auto latest = workflows_.allLatest();
  std::vector<const spec::WorkflowSpec*> others;
  std::set<std::string> names;
  for (const auto* p : pending) {
    others.push_back(p);
    names.insert(p->name);
  }
  for (const auto& wf : latest) {
    if (names.count(wf->row.name)) continue;  // replaced by a pending version
    others.push_back(wf->spec.get());
    names.insert(wf->row.name);
  }
  if (auto cycle = triggers::findAfterCycle(spec, others)) {
    std::string text;
    for (const auto& n : *cycle) text += (text.empty() ? "" : " -> ") + n;
    return Error(ErrorCode::kInvalidArgument,
                 fmt::format("workflow {} cannot go live: after-trigger cycle: {} (each run's end "
                             "would start the next one forever); remove one of these after: "
                             "triggers",
                             spec.name, text));
  }
  for (const auto& t : spec.triggers)
    if (t.kind == spec::TriggerSpec::Kind::kAfter && t.afterWorkflow != spec.name &&
        !names.count(t.afterWorkflow))
      warnings.push_back(fmt::format(
          "{}:{}:{}: after trigger names workflow '{}', which does not exist yet; it fires once "
          "that workflow is applied and one of its runs ends",
          file, t.pos.line, t.pos.column, t.afterWorkflow));
  return okStatus();
}

}  // namespace keel::engine
