// Events out: a step's `emit:` and a workflow's `on_end:` become outbox
// events in the batch that holds the step's success or the run's end, so a
// crash keeps both or neither. Their ids are deterministic
// ("RUN_ID.STEP.emit", "RUN_ID.end.N"), and the store keeps the first row
// of an id: an end written again (a manual retry ending the run again)
// emits nothing new. Delivery (outbox/) feeds them back through emitEvent()
// with fromOutbox, which marks each delivered in the batch of its runs.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/engine.h"
#include "observe/json_log.h"
#include "observe/trace_context.h"
#include "spec/template.h"
#include "triggers/event_trigger.h"

namespace keel::engine {

using nlohmann::json;

namespace {

// The parsed output of a step that succeeded with one, else nothing.
const json* outputOf(StepRt& s) {
  if (s.row.state != StepState::kSucceeded || s.row.outputJson.empty()) return nullptr;
  if (!s.output) {
    s.output = json::parse(s.row.outputJson, nullptr, false);
    if (s.output->is_discarded()) s.output = json();
  }
  return &*s.output;
}

bool endMatches(const std::string& wanted, RunState ended) {
  return wanted == "finished" || wanted == toString(ended);
}

}  // namespace

void Engine::emitStepEvent(RunRt& run, int idx) {
  const auto& spec = run.wf->step(idx);
  if (!spec.emit) return;
  queueOutboxEvent(run, *spec.emit, fmt::format("{}.{}.emit", run.row.id, spec.name),
                   "step " + spec.name, spec.name);
}

void Engine::emitEndEvents(RunRt& run) {
  const auto& list = run.wf->spec->onEnd;
  for (size_t i = 0; i < list.size(); ++i) {
    if (!endMatches(list[i].state, run.row.state)) continue;
    queueOutboxEvent(run, list[i].emit, fmt::format("{}.end.{}", run.row.id, i + 1),
                     fmt::format("on_end {}", i + 1), {});
  }
}

void Engine::queueOutboxEvent(RunRt& run, const spec::EmitSpec& emit, std::string id,
                              std::string source, const std::string& step) {
  // A step's event sees the outputs of the steps it needs and its own; the
  // run's end sees every step that succeeded.
  std::map<std::string, json> outputs;
  if (!step.empty()) {
    int self = -1;
    for (size_t i = 0; i < run.steps.size(); ++i)
      if (run.steps[i].row.name == step) self = static_cast<int>(i);
    std::vector<int> todo{self};
    std::vector<char> seen(run.steps.size(), 0);
    while (!todo.empty()) {
      int at = todo.back();
      todo.pop_back();
      if (at < 0 || seen[at]) continue;
      seen[at] = 1;
      todo.insert(todo.end(), run.wf->needs[at].begin(), run.wf->needs[at].end());
      if (const json* out = outputOf(run.steps[at])) outputs[run.steps[at].row.name] = *out;
    }
  } else {
    for (auto& s : run.steps)
      if (const json* out = outputOf(s)) outputs[s.row.name] = *out;
  }
  spec::TemplateContext ctx;
  ctx.params = &run.params;
  ctx.stepOutputs = &outputs;
  ctx.runId = run.row.id;
  ctx.workflow = run.row.workflow;
  store::OutboxEventRow row;
  row.id = std::move(id);
  row.topic = emit.topic;
  row.runId = run.row.id;
  row.source = std::move(source);
  row.emittedAt = now();
  Status made = okStatus();
  auto payload = spec::renderJsonTemplate(emit.payload, ctx, "emit.payload");
  if (payload.ok())
    made = triggers::checkEvent(row.topic, row.id, *payload);
  else
    made = payload.error();
  if (made.ok()) {
    row.payloadJson = payload->dump(-1, ' ', false, json::error_handler_t::replace);
    event(run, "event_emitted", step, 0, fmt::format("event {} on topic {}", row.id, row.topic));
  } else {
    row.state = "failed";
    row.error = made.error().message();
    for (const auto& d : made.error().details()) row.error += "; " + d;
    event(run, "emit_failed", step, 0,
          fmt::format("event {} on topic {} not sent: {}", row.id, row.topic, row.error));
    observe::logFields(spdlog::level::warn, "event not emitted: " + row.error,
                       {{"run_id", run.row.id},
                        {"trace_id", observe::runTraceId(run.row.traceId, run.row.id)},
                        {"workflow", run.row.workflow},
                        {"event_id", row.id},
                        {"topic", row.topic}});
  }
  bool deliver = row.state == "pending";
  pending_.mutations.emplace_back(store::PutOutboxEvent{std::move(row)});
  afterCommit([this, deliver] {
    if (!deliver) {
      ++outboxFailed_;
      return;
    }
    ++outboxEmitted_;
    if (options_.onOutboxWritten) options_.onOutboxWritten();
  });
}

void Engine::markOutboxThenReply(const std::string& id, Result<EventResult> result,
                                 std::shared_ptr<std::promise<Result<EventResult>>> reply) {
  pending_.mutations.emplace_back(store::MarkOutboxDelivered{id, now()});
  afterCommit([this, result = std::move(result), reply]() mutable {
    ++outboxDelivered_;
    reply->set_value(std::move(result));
  });
}

}  // namespace keel::engine
