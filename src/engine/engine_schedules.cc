// Schedules: each cron trigger of a workflow's latest version has a loop
// timer for its next instant; at that instant a run starts, written in one
// batch with the trigger's new schedule state, so no instant at or before
// the durable last one ever fires again (a restart, a clock step or a
// stale timer included). The store is read once, at start. With overlap:
// queue, a fire due while the trigger's last run runs waits for its end: the
// schedule state row says so ("queued: ..." for the queued instant, naming
// the run it waits for), so a restart finds it.
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/engine.h"
#include "triggers/schedule.h"

namespace keel::engine {

using nlohmann::json;

namespace {

// The longest a schedule timer waits before looking at the wall clock again.
constexpr auto kMaxScheduleWait = std::chrono::seconds(60);

std::string describeTrigger(const spec::TriggerSpec& t, size_t index) {
  return fmt::format("trigger {}: cron \"{}\" {}", index + 1, t.cron, t.timezone);
}

bool isQueued(const store::ScheduleStateRow& row) { return row.outcome.rfind("queued:", 0) == 0; }

}  // namespace

Status Engine::loadSchedules() {
  auto states = store_.listScheduleStates();
  if (!states.ok()) return states.error();
  std::map<ScheduleKey, store::ScheduleStateRow> byKey;
  for (auto& row : *states)
    byKey[{row.workflow, static_cast<size_t>(row.trigger)}] = std::move(row);
  for (const auto& wf : workflows_.allLatest()) {
    const auto& list = wf->spec->triggers;
    for (size_t i = 0; i < list.size(); ++i) {
      if (list[i].kind != spec::TriggerSpec::Kind::kCron) continue;
      ScheduleKey key{wf->row.name, i};
      ScheduleRt& s = schedules_[key];
      s.wf = wf;
      s.index = i;
      // Never an instant before this version was applied: a first apply
      // misses nothing, and a changed cron does not reach back.
      s.after = wf->row.createdAt;
      if (auto it = byKey.find(key); it != byKey.end()) {
        s.after = std::max(s.after, it->second.lastInstant);
        s.lastRunId = it->second.lastRunId;
        if (isQueued(it->second)) s.queued = it->second.lastInstant;
      }
      if (s.queued && list[i].overlap != "queue") {
        recordSkip(s, *s.queued, "the trigger's overlap is no longer queue");
        s.queued.reset();
      }
      // The run it waited for may have ended while keel was down.
      startQueuedFire(s);
      fireDue(s, true);
      armSchedule(s);
    }
  }
  return okStatus();
}

void Engine::rearmSchedules(std::shared_ptr<const LoadedWorkflow> wf) {
  const std::string& name = wf->row.name;
  std::map<size_t, ScheduleRt> previous;
  for (auto it = schedules_.lower_bound({name, 0});
       it != schedules_.end() && it->first.first == name;) {
    if (it->second.timer) loop_.cancel(*it->second.timer);
    previous.emplace(it->first.second, std::move(it->second));
    it = schedules_.erase(it);
  }
  const auto& list = wf->spec->triggers;
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].kind != spec::TriggerSpec::Kind::kCron) continue;
    ScheduleRt& s = schedules_[{name, i}];
    s.wf = wf;
    s.index = i;
    s.after = now();
    if (auto it = previous.find(i); it != previous.end()) {
      s.lastRunId = it->second.lastRunId;
      const auto& before = it->second.wf->spec->triggers[i];
      // The same schedule keeps its place (an instant due now still fires)
      // and its queued fire, while it still queues.
      bool same = before.cron == list[i].cron && before.timezone == list[i].timezone;
      if (same) s.after = std::min(s.after, it->second.after);
      if (auto q = it->second.queued; q && (!same || list[i].overlap != "queue"))
        recordSkip(s, *q, fmt::format("version {} changed the trigger", wf->row.version));
      else
        s.queued = q;
    }
    fireDue(s, false);
    armSchedule(s);
  }
}

void Engine::armSchedule(ScheduleRt& s) {
  const spec::TriggerSpec& t = s.wf->spec->triggers[s.index];
  WallTime wall = now();
  auto next = triggers::nextInstants(t, std::max(s.after, wall), 1);
  if (!next.ok() || next->empty()) {
    if (!next.ok())
      spdlog::error("workflow {} {}: cannot compute the next fire: {}", s.wf->row.name,
                    describeTrigger(t, s.index), next.error().message());
    s.timer.reset();
    return;
  }
  auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(next->front() - wall);
  wait = std::clamp<std::chrono::nanoseconds>(wait, std::chrono::nanoseconds(0), kMaxScheduleWait);
  s.generation = ++scheduleGeneration_;
  ScheduleKey key{s.wf->row.name, s.index};
  s.timer = loop_.runAt(clock_.monoNow() + wait,
                        [this, key, gen = s.generation] { onScheduleTimer(key, gen); });
}

void Engine::onScheduleTimer(const ScheduleKey& key, uint64_t generation) {
  auto it = schedules_.find(key);
  if (it == schedules_.end() || it->second.generation != generation) return;  // re-armed
  ScheduleRt& s = it->second;
  s.timer.reset();
  // While stopping nothing new starts: the next start sees the instant as
  // missed and follows the trigger's misfire policy.
  if (draining_ || stopping_.load()) return;
  fireDue(s, false);
  armSchedule(s);
}

void Engine::recordSkip(ScheduleRt& s, WallTime instant, const std::string& reason) {
  const spec::TriggerSpec& t = s.wf->spec->triggers[s.index];
  spdlog::warn("workflow {} {}: fire for {} skipped: {}", s.wf->row.name,
               describeTrigger(t, s.index), triggers::formatInstant(instant), reason);
  store::ScheduleStateRow row{s.wf->row.name, static_cast<int>(s.index), instant, s.lastRunId,
                              "skipped: " + reason};
  pending_.mutations.emplace_back(store::PutScheduleState{std::move(row)});
}

void Engine::fireDue(ScheduleRt& s, bool atStart) {
  const spec::TriggerSpec& t = s.wf->spec->triggers[s.index];
  auto plan = triggers::planDue(t, s.after, now(), atStart);
  if (!plan.ok()) {
    spdlog::error("workflow {} {}: cannot plan its fires: {}", s.wf->row.name,
                  describeTrigger(t, s.index), plan.error().message());
    return;
  }
  if (!plan->latest) return;
  const WallTime since = s.after;
  s.after = *plan->latest;
  if (plan->fire.empty()) {
    if (s.queued) {
      // The state row keeps naming the queued fire; a restart plans these
      // instants again, and skips them again.
      spdlog::warn("workflow {} {}: fire for {} skipped: {}", s.wf->row.name,
                   describeTrigger(t, s.index), triggers::formatInstant(*plan->latest),
                   plan->skipReason);
      return;
    }
    recordSkip(s, *plan->latest, plan->skipReason);
    return;
  }
  if (plan->skipped > 0)
    spdlog::warn("workflow {} {}: {} earlier instant(s) up to {} start no run (misfire: {})",
                 s.wf->row.name, describeTrigger(t, s.index), plan->skipped,
                 triggers::formatInstant(plan->fire.front()), t.misfire);
  // Overlap compares with the run started before this plan: the runs one
  // catch-up starts all start.
  const RunRt* previous = s.lastRunId.empty() ? nullptr : findRun(s.lastRunId);
  bool previousRunning = previous && !isTerminal(previous->row.state);
  for (WallTime instant : plan->fire) {
    if (previousRunning && t.overlap == "skip") {
      recordSkip(s, instant, fmt::format("previous run {} still running", s.lastRunId));
      continue;
    }
    if (previousRunning && t.overlap == "queue") {
      queueFire(s, instant);
      continue;
    }
    std::string passedOver;
    if (plan->skipped > 0 && instant == plan->fire.front())
      passedOver = fmt::format("; {} earlier instant(s) since {} start no run (misfire: {})",
                               plan->skipped, triggers::formatInstant(since), t.misfire);
    startScheduledRun(s, instant, passedOver);
  }
}

bool Engine::startScheduledRun(ScheduleRt& s, WallTime instant, const std::string& note) {
  const spec::TriggerSpec& t = s.wf->spec->triggers[s.index];
  if (!disabledReason(s.wf->row.name).empty()) {
    recordSkip(s, instant, "workflow disabled");
    return false;
  }
  auto rendered = triggers::renderScheduleParams(t, instant);
  Result<json> params = rendered.ok() ? effectiveParams(*s.wf, *rendered) : rendered.error();
  if (!params.ok()) {
    std::string why = params.error().message();
    for (const auto& d : params.error().details()) why += "; " + d;
    recordSkip(s, instant, "params: " + why);
    return false;
  }
  RunRt& run = createRun(s.wf, std::move(*params),
                         triggers::scheduleRunKey(s.wf->row.name, s.index, instant));
  event(run, "started_by_schedule", {}, 0,
        fmt::format("started by schedule ({}) for {}{}", describeTrigger(t, s.index),
                    triggers::formatInstant(instant), note));
  s.lastRunId = run.row.id;
  // In the same batch as the run: flush() writes every dirty run and
  // everything pending together.
  pending_.mutations.emplace_back(store::PutScheduleState{
      {s.wf->row.name, static_cast<int>(s.index), instant, run.row.id, "started"}});
  startRun(run);
  return true;
}

void Engine::queueFire(ScheduleRt& s, WallTime instant) {
  const spec::TriggerSpec& t = s.wf->spec->triggers[s.index];
  std::string outcome = fmt::format("queued: previous run {} still running", s.lastRunId);
  if (s.queued) {
    spdlog::warn("workflow {} {}: queued fire for {} skipped: the fire for {} replaces it",
                 s.wf->row.name, describeTrigger(t, s.index), triggers::formatInstant(*s.queued),
                 triggers::formatInstant(instant));
    outcome += fmt::format("; replaces the queued fire for {}, now skipped",
                           triggers::formatInstant(*s.queued));
  } else {
    spdlog::info("workflow {} {}: fire for {} queued until run {} ends", s.wf->row.name,
                 describeTrigger(t, s.index), triggers::formatInstant(instant), s.lastRunId);
  }
  s.queued = instant;
  pending_.mutations.emplace_back(store::PutScheduleState{
      {s.wf->row.name, static_cast<int>(s.index), instant, s.lastRunId, std::move(outcome)}});
}

void Engine::startQueuedFire(ScheduleRt& s) {
  if (!s.queued || draining_ || stopping_.load()) return;
  const RunRt* previous = s.lastRunId.empty() ? nullptr : findRun(s.lastRunId);
  if (previous && !isTerminal(previous->row.state)) return;
  WallTime instant = *s.queued;
  s.queued.reset();
  startScheduledRun(s, instant, fmt::format(" (queued while run {} ran)", s.lastRunId));
}

void Engine::startQueuedFires(const RunRt& run) {
  for (auto it = schedules_.lower_bound({run.row.workflow, 0});
       it != schedules_.end() && it->first.first == run.row.workflow; ++it)
    if (it->second.queued && it->second.lastRunId == run.row.id) startQueuedFire(it->second);
}

}  // namespace keel::engine
