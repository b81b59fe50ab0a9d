// Events in: an event received on a topic starts one run per matching
// event trigger; the event and its runs become durable in one batch, and a
// second delivery of the same (topic, id) answers the same runs.
#include <fmt/format.h>

#include "engine/engine.h"
#include "observe/trace_context.h"
#include "triggers/event_trigger.h"

namespace keel::engine {

using nlohmann::json;

namespace {

EventResult resultOf(const store::InboundEventRow& row, bool created) {
  EventResult r;
  r.topic = row.topic;
  r.id = row.id;
  r.runIds = row.runIds;
  r.created = created;
  json errors = json::parse(row.errorsJson, nullptr, false);
  if (errors.is_array())
    for (const auto& e : errors)
      if (e.is_object()) r.errors.push_back({e.value("workflow", ""), e.value("message", "")});
  return r;
}

std::string describe(const Error& e) {
  std::string text = e.message();
  for (const auto& d : e.details()) text += "; " + d;
  return text;
}

}  // namespace

std::future<Result<EventResult>> Engine::emitEvent(EventRequest request) {
  auto reply = std::make_shared<std::promise<Result<EventResult>>>();
  auto future = reply->get_future();
  if (Status h = health(); !h.ok()) {
    reply->set_value(h.error());
    return future;
  }
  if (Status ok = triggers::checkEvent(request.topic, request.id, request.payload); !ok.ok()) {
    reply->set_value(ok.error());
    return future;
  }
  // Looked up here, on the caller's thread, like a trigger's idempotency
  // key; the loop reconciles "not found" with what became durable since.
  uint64_t seen = beginKeyLookup();
  auto answer = [&](Result<EventResult> result) {
    endKeyLookup(seen);
    reply->set_value(std::move(result));
    return std::move(future);
  };
  auto found = store_.findInboundEvent(request.topic, request.id);
  if (!found.ok()) return answer(found.error());
  if (found->has_value()) {
    if (!request.fromOutbox) return answer(replayEvent(**found, request.payload));
    // Received already (another delivery of it, or the same id sent to the
    // API): the outbox event is marked delivered before the answer.
    endKeyLookup(seen);
    loop_.post([this, id = request.id, result = replayEvent(**found, request.payload),
                reply]() mutable { markOutboxThenReply(id, std::move(result), reply); });
    return future;
  }
  std::vector<PlannedRun> plan;
  std::vector<EventError> errors;
  for (const auto& wf : workflows_.allLatest()) {
    const auto& list = wf->spec->triggers;
    for (size_t i = 0; i < list.size(); ++i) {
      const spec::TriggerSpec& t = list[i];
      if (t.kind != spec::TriggerSpec::Kind::kEvent || t.event != request.topic ||
          !triggers::matches(t, request.payload))
        continue;
      auto rendered = triggers::renderParams(t, request.topic, request.id, request.payload);
      Result<json> params = rendered.ok() ? effectiveParams(*wf, *rendered) : rendered.error();
      if (!params.ok()) {
        errors.push_back({wf->row.name, describe(params.error())});
        continue;
      }
      PlannedRun run{wf, std::move(*params), triggers::runKey(request.topic, request.id, i), i, {}};
      // A run kept under this key (the event itself was deleted by
      // retention while the run stayed) is the event's run again.
      auto existing = store_.findRunByIdempotencyKey(wf->row.name, run.key);
      if (!existing.ok()) return answer(existing.error());
      run.existing = std::move(*existing);
      plan.push_back(std::move(run));
    }
  }
  loop_.post([this, request = std::move(request), plan = std::move(plan),
              errors = std::move(errors), seen, reply]() mutable {
    onEvent(std::move(request), std::move(plan), std::move(errors), seen, reply);
  });
  return future;
}

void Engine::onEvent(EventRequest request, std::vector<PlannedRun> plan,
                     std::vector<EventError> errors, uint64_t seenSeq,
                     std::shared_ptr<std::promise<Result<EventResult>>> reply) {
  EventKey eventKey{request.topic, request.id};
  if (uncommittedEvents_.count(eventKey)) {
    // Another delivery of it is being written: answer once it is durable.
    afterCommit([this, request = std::move(request), plan = std::move(plan),
                 errors = std::move(errors), seenSeq, reply]() mutable {
      onEvent(std::move(request), std::move(plan), std::move(errors), seenSeq, reply);
    });
    return;
  }
  endKeyLookup(seenSeq);
  auto durable = durableEvents_.find(eventKey);
  if (durable != durableEvents_.end() && durable->second.seq > seenSeq) {
    auto result = replayEvent(durable->second.row, request.payload);
    if (request.fromOutbox)
      markOutboxThenReply(request.id, std::move(result), reply);
    else
      reply->set_value(std::move(result));
    return;
  }
  store::InboundEventRow row;
  row.topic = request.topic;
  row.id = request.id;
  row.payloadJson = request.payload.dump(-1, ' ', false, json::error_handler_t::replace);
  row.receivedAt = now();
  // A disabled workflow's event triggers start no run: said in the errors.
  std::erase_if(plan, [&](const PlannedRun& p) {
    if (p.existing) return false;
    std::string why = disabledReason(p.wf->row.name);
    if (why.empty()) return false;
    errors.push_back(EventError{p.wf->row.name, why});
    return true;
  });
  json errorsJson = json::array();
  for (const auto& e : errors)
    errorsJson.push_back({{"workflow", e.workflow}, {"message", e.message}});
  row.errorsJson = errorsJson.dump();
  std::vector<RunRt*> created;
  for (auto& p : plan) {
    if (p.existing) {
      row.runIds.push_back(p.existing->id);
      continue;
    }
    KeyId keyId{p.wf->row.name, p.key};
    if (auto u = uncommittedKeys_.find(keyId); u != uncommittedKeys_.end()) {
      row.runIds.push_back(u->second);
      continue;
    }
    if (auto d = durableKeys_.find(keyId); d != durableKeys_.end() && d->second.seq > seenSeq) {
      row.runIds.push_back(d->second.run.id);
      continue;
    }
    RunRt& run = createRun(std::move(p.wf), std::move(p.params), p.key, nullptr, request.traceId);
    // Its run span hangs under the span of the request that posted the event.
    run.row.requestId = request.who.requestId;
    if (observe::isSpanId(request.who.spanId)) run.row.parentSpanId = request.who.spanId;
    event(run, "started_by_event", {}, 0,
          fmt::format("started by event {}/{} (trigger {})", request.topic, request.id,
                      p.trigger + 1));
    uncommittedKeys_[keyId] = run.row.id;
    replyWhenDurable(run, [this, keyId](const store::RunRow& r) { keyMadeDurable(keyId, r); });
    row.runIds.push_back(run.row.id);
    created.push_back(&run);
  }
  // In the same batch as the runs: flush() writes every dirty run and
  // everything pending together, and the reply waits for that commit.
  pending_.mutations.emplace_back(store::PutInboundEvent{row});
  if (!request.fromOutbox) {
    audit(request.who, "event.receive", request.topic + "/" + request.id,
          {{"topic", request.topic}, {"id", request.id}, {"run_ids", row.runIds}});
  }
  if (request.fromOutbox)
    pending_.mutations.emplace_back(store::MarkOutboxDelivered{request.id, row.receivedAt});
  uncommittedEvents_.insert(eventKey);
  afterCommit([this, eventKey, row, reply, fromOutbox = request.fromOutbox] {
    if (fromOutbox) ++outboxDelivered_;
    uncommittedEvents_.erase(eventKey);
    uint64_t seq;
    {
      std::lock_guard lock(keysMu_);
      seq = durableSeq_;
    }
    durableEvents_[eventKey] = DurableEvent{seq, row};
    durableEventOrder_.emplace_back(seq, eventKey);
    reply->set_value(resultOf(row, true));
  });
  for (RunRt* run : created) startRun(*run);
}

Result<EventResult> Engine::replayEvent(const store::InboundEventRow& row, const json& payload) {
  json stored = json::parse(row.payloadJson, nullptr, false);
  if (stored == payload) return resultOf(row, false);
  return Error(ErrorCode::kIdempotencyConflict,
               fmt::format("event '{}' on topic '{}' was already received at {} with another "
                           "payload (it started {} run(s)); send a different event with a new id",
                           row.id, row.topic, formatRfc3339(row.receivedAt), row.runIds.size()));
}

}  // namespace keel::engine
