// SLOs (`slo:` of a workflow): a run unfinished at its finish_by, a cron
// fire whose run had not started by start_by after it (or no run of the
// workflow started since the previous start_by time of day), and a last
// success older than freshness are symptoms: each opens or joins an
// incident (step empty, class slo_finish_by|slo_start_by|slo_freshness)
// in the batch that records it, and escalates at once.
//
// Everything is derived from what is stored: runs' creation and first
// attempt, the schedule's fire times, the last success, and the misses
// recorded in the incidents themselves (an `slo_missed` timeline entry whose
// note starts with the deadline's key). So a restart recomputes every
// deadline, checks once the last one that passed while keel was down, and
// never counts a deadline twice. One loop timer wakes at the next deadline
// (and at least every minute, so a stepped wall clock is seen).
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/engine.h"
#include "incidents/fingerprint.h"
#include "incidents/lifecycle.h"
#include "observe/json_log.h"
#include "spec/fire_times.h"
#include "spec/parser.h"
#include "spec/slo.h"
#include "triggers/schedule.h"

namespace keel::engine {
namespace {

using incidents::Incident;
using incidents::IncidentState;

constexpr const char* kFinishBy = "slo_finish_by";
constexpr const char* kStartBy = "slo_start_by";
constexpr const char* kFreshness = "slo_freshness";
// The timeline entry that records one deadline missed: its note starts
// with the deadline's key.
constexpr const char* kMissEntry = "slo_missed";

constexpr auto kMaxSloWait = std::chrono::seconds(60);
// How far back a restart looks for the last deadline missed while down,
// and how long first-attempt times are kept.
constexpr auto kLookback = std::chrono::hours(24 * 8);
constexpr int kMaxRunsRead = 1000;

std::string deadlineText(const spec::SloDeadline& d, const char* name) {
  if (d.after) return fmt::format("{} {}", name, spec::formatDuration(*d.after));
  return fmt::format("{} {}", name, spec::formatTimeOfDay(d.minuteOfDay.value_or(0)));
}

std::string keyOfNote(const std::string& note) { return note.substr(0, note.find("; ")); }

std::vector<size_t> cronTriggers(const spec::WorkflowSpec& w) {
  std::vector<size_t> out;
  for (size_t i = 0; i < w.triggers.size(); ++i)
    if (w.triggers[i].kind == spec::TriggerSpec::Kind::kCron) out.push_back(i);
  return out;
}

std::optional<WallTime> nextFire(const spec::TriggerSpec& t, WallTime after) {
  auto next = triggers::nextInstants(t, after, 1);
  if (!next.ok() || next->empty()) return std::nullopt;
  return next->front();
}

// The last fire of `t` in (from, until], if any.
std::optional<WallTime> lastFire(const spec::TriggerSpec& t, WallTime from, WallTime until) {
  std::optional<WallTime> last;
  WallTime after = from;
  for (;;) {
    auto batch = triggers::nextInstants(t, after, 500);
    if (!batch.ok() || batch->empty()) return last;
    for (WallTime x : *batch) {
      if (x > until) return last;
      last = x;
    }
    after = batch->back();
  }
}

}  // namespace

struct Engine::SloState {
  struct Start {
    WallTime at;      // its first attempt began
    std::string key;  // the run's idempotency key (cron:... for a scheduled run)
  };
  struct Workflow {
    std::shared_ptr<const LoadedWorkflow> wf;
    WallTime firstApplied;
    std::optional<WallTime> lastSuccess;
    // start_by as a duration: per cron trigger index, the next fire whose
    // deadline is to be checked.
    std::map<size_t, WallTime> fireNext;
    // start_by as a time of day: the next deadline to check.
    std::optional<WallTime> dayNext;
  };
  std::map<std::string, Workflow> workflows;
  std::map<std::string, std::vector<Start>> starts;  // by workflow, in the order seen
  std::map<std::string, WallTime> finishDue;         // by run id
  std::set<std::string> checked;                     // keys of misses recorded
  std::optional<EventLoop::TimerId> timer;
  WallTime timerAt{};
};

Status Engine::loadSlos() {
  slo_ = std::make_shared<SloState>();
  for (const auto& [id, incident] : incidents_)
    for (const auto& e : incident.timeline)
      if (e.kind == kMissEntry) slo_->checked.insert(keyOfNote(e.note));
  const WallTime t = now();
  for (const auto& wf : workflows_.allLatest()) {
    const spec::SloSpec& slo = wf->spec->slo;
    if (!slo.tracked()) continue;
    SloState::Workflow& w = slo_->workflows[wf->row.name];
    w.wf = wf;
    w.firstApplied = wf->row.createdAt;
    auto versions = store_.workflowVersions(wf->row.name);
    if (!versions.ok()) return versions.error();
    for (const auto& v : *versions) w.firstApplied = std::min(w.firstApplied, v.createdAt);
    store::RunFilter filter;
    filter.workflow = wf->row.name;
    filter.states = {RunState::kSucceeded};
    filter.limit = 1;
    auto last = store_.listRuns(filter);
    if (!last.ok()) return last.error();
    if (!last->empty() && last->front().finishedAt) w.lastSuccess = last->front().finishedAt;
    if (!slo.startBy) continue;
    // Deadlines before this version was applied are not checked; the last
    // one passed since (while keel was down, or just before) is, once.
    const WallTime since = wf->row.createdAt;
    std::optional<WallTime> windowStart;
    if (slo.startBy->after) {
      const auto d = *slo.startBy->after;
      for (size_t i : cronTriggers(*wf->spec)) {
        const auto& trig = wf->spec->triggers[i];
        auto passed = lastFire(trig, std::max(since, t - d - kLookback), t - d);
        auto first = passed ? passed : nextFire(trig, std::max(since, t - d));
        if (!first) continue;
        w.fireNext[i] = *first;
        windowStart = std::min(windowStart.value_or(*first), *first);
      }
    } else {
      int minute = slo.startBy->minuteOfDay.value_or(0);
      auto passed = spec::previousTimeOfDay(minute, slo.days, slo.timezone, t + Millis(1));
      if (passed.ok() && *passed > since) {
        w.dayNext = *passed;
      } else {
        auto next = spec::nextTimeOfDay(minute, slo.days, slo.timezone, t);
        if (next.ok()) w.dayNext = *next;
      }
      if (w.dayNext) {
        auto prev = spec::previousTimeOfDay(minute, slo.days, slo.timezone, *w.dayNext);
        if (prev.ok()) windowStart = *prev;
      }
    }
    if (!windowStart) continue;
    // When each run that may count began its first attempt, from its events.
    store::RunFilter runs;
    runs.workflow = wf->row.name;
    runs.since = *windowStart - std::chrono::hours(24);
    runs.limit = kMaxRunsRead;
    auto list = store_.listRuns(runs);
    if (!list.ok()) return list.error();
    auto& starts = slo_->starts[wf->row.name];
    for (auto it = list->rbegin(); it != list->rend(); ++it) {
      auto events = store_.runEvents(it->id);
      if (!events.ok()) return events.error();
      for (const auto& e : *events)
        if (e.kind == "attempt_started") {
          starts.push_back({e.at, it->idempotencyKey});
          break;
        }
    }
  }
  // Checked once the loop runs, like the escalation levels due while down.
  slo_->timer = loop_.runAt(clock_.monoNow(), [this] {
    slo_->timer.reset();
    sloTick();
  });
  return okStatus();
}

void Engine::postSloRearm(std::shared_ptr<const LoadedWorkflow> wf) {
  WallTime first = wf->row.createdAt;
  const spec::SloSpec& slo = wf->spec->slo;
  if (wf->row.version > 1 && (slo.startBy || slo.freshness)) {
    auto versions = store_.workflowVersions(wf->row.name);
    if (versions.ok())
      for (const auto& v : *versions) first = std::min(first, v.createdAt);
  }
  loop_.post([this, wf = std::move(wf), first] { rearmSlo(wf, first); });
}

void Engine::rearmSlo(std::shared_ptr<const LoadedWorkflow> wf, WallTime firstApplied) {
  if (!slo_) return;
  const std::string& name = wf->row.name;
  const spec::SloSpec& slo = wf->spec->slo;
  if (!slo.tracked()) {
    slo_->workflows.erase(name);
  } else {
    SloState::Workflow& w = slo_->workflows[name];
    const bool known = w.wf != nullptr;
    const spec::SloSpec* before = known ? &w.wf->spec->slo : nullptr;
    if (!known) w.firstApplied = firstApplied;
    const WallTime t = now();
    std::map<size_t, WallTime> fires;
    if (slo.startBy && slo.startBy->after) {
      for (size_t i : cronTriggers(*wf->spec)) {
        const auto& trig = wf->spec->triggers[i];
        // The same trigger keeps the fires whose deadline is still ahead.
        auto it = w.fireNext.find(i);
        bool same = it != w.fireNext.end() && before && before->startBy == slo.startBy &&
                    i < w.wf->spec->triggers.size() && w.wf->spec->triggers[i].cron == trig.cron &&
                    w.wf->spec->triggers[i].timezone == trig.timezone;
        if (same) {
          fires[i] = it->second;
        } else if (auto next = nextFire(trig, t)) {
          fires[i] = *next;
        }
      }
    }
    w.fireNext = std::move(fires);
    const bool sameDay = before && before->startBy && slo.startBy &&
                         before->startBy->minuteOfDay == slo.startBy->minuteOfDay &&
                         before->days == slo.days && before->timezone == slo.timezone;
    if (!sameDay) w.dayNext.reset();
    if (slo.startBy && slo.startBy->minuteOfDay && !w.dayNext) {
      auto next = spec::nextTimeOfDay(*slo.startBy->minuteOfDay, slo.days, slo.timezone, t);
      if (next.ok()) w.dayNext = *next;
    }
    w.wf = std::move(wf);
  }
  sloTick();
}

void Engine::sloAttemptStarted(const RunRt& run) {
  if (!slo_ || !slo_->workflows.count(run.row.workflow)) return;
  int attempts = 0;
  for (const auto& s : run.steps) attempts += s.row.attempts;
  if (attempts != 1) return;
  slo_->starts[run.row.workflow].push_back({now(), run.row.idempotencyKey});
}

void Engine::sloRunSucceeded(RunRt& run) {
  if (!slo_) return;
  auto it = slo_->workflows.find(run.row.workflow);
  if (it == slo_->workflows.end()) return;
  it->second.lastSuccess = run.row.finishedAt.value_or(now());
  for (auto& [id, incident] : incidents_) {
    if (incident.workflow != run.row.workflow) continue;
    if (incident.symptom != kStartBy && incident.symptom != kFreshness) continue;
    if (incident.state != IncidentState::kOpen && incident.state != IncidentState::kAcknowledged)
      continue;
    if (!incidents::mitigate(incident, "", fmt::format("run {} succeeded", run.row.id), now()).ok())
      continue;
    writeIncident(incident);
    event(run, "incident_mitigated", {}, 0,
          fmt::format("{} mitigated: the workflow succeeded again", id));
  }
  if (it->second.wf->spec->slo.freshness) sloTick();  // freshness counts from this success now
}

void Engine::sloTick() {
  if (!slo_) return;
  if (slo_->timer) {
    loop_.cancel(*slo_->timer);
    slo_->timer.reset();
  }
  // While stopping nothing new is recorded: the next start checks again.
  if (draining_ || stopping_.load()) return;
  const WallTime t = now();
  std::optional<WallTime> next;
  auto consider = [&next](WallTime due) {
    if (!next || due < *next) next = due;
  };

  // finish_by (or max_duration): each run in memory, from its creation.
  for (auto it = slo_->finishDue.begin(); it != slo_->finishDue.end();)
    it = runs_.count(it->first) ? std::next(it) : slo_->finishDue.erase(it);
  for (auto& [id, owned] : runs_) {
    RunRt& run = *owned;
    if (isTerminal(run.row.state)) continue;
    const spec::SloSpec& slo = run.wf->spec->slo;
    auto deadline = slo.finishDeadline();
    if (!deadline) continue;
    auto due = slo_->finishDue.find(id);
    if (due == slo_->finishDue.end()) {
      auto at = spec::finishDeadline(*deadline, slo.timezone, run.row.createdAt);
      if (!at.ok()) continue;
      due = slo_->finishDue.emplace(id, *at).first;
    }
    if (due->second > t) {
      consider(due->second);
      continue;
    }
    std::string key = fmt::format("finish_by run {}", id);
    if (slo_->checked.count(key)) continue;
    const char* name = slo.finishBy ? "finish_by" : "max_duration";
    sloMiss(*run.wf, kFinishBy,
            fmt::format("run not finished by its deadline {} ({})",
                        spec::formatInstant(due->second), deadlineText(*deadline, name)),
            key,
            fmt::format("run {} created {}, {}: {}", id, spec::formatInstant(run.row.createdAt),
                        toString(run.row.state), run.row.reason),
            &run);
  }

  for (auto& [name, w] : slo_->workflows) {
    const spec::SloSpec& slo = w.wf->spec->slo;
    auto& starts = slo_->starts[name];
    std::erase_if(starts, [&](const SloState::Start& s) { return s.at < t - kLookback; });
    if (slo.startBy && slo.startBy->after) {
      const auto d = *slo.startBy->after;
      for (auto& [index, fire] : w.fireNext) {
        const auto& trig = w.wf->spec->triggers[index];
        for (;;) {
          const WallTime deadline = fire + d;
          if (deadline > t) {
            consider(deadline);
            break;
          }
          std::string runKey = triggers::scheduleRunKey(name, index, fire);
          bool started = std::any_of(starts.begin(), starts.end(), [&](const auto& s) {
            return s.key == runKey && s.at <= deadline;
          });
          std::string key = fmt::format("start_by {} trigger {} fire {}", name, index + 1,
                                        spec::formatInstant(fire));
          if (!started && !slo_->checked.count(key)) {
            RunRt* waiting = nullptr;
            for (auto& [id, r] : runs_)
              if (r->row.workflow == name && r->row.idempotencyKey == runKey) waiting = r.get();
            std::string detail =
                waiting
                    ? fmt::format("run {} {}: {}", waiting->row.id, toString(waiting->row.state),
                                  waiting->row.waitReason.empty() ? waiting->row.reason
                                                                  : waiting->row.waitReason)
                    : "no run was created for this fire";
            sloMiss(*w.wf, kStartBy,
                    fmt::format("the run of the cron fire at {} had not started by {} ({})",
                                spec::formatInstant(fire), spec::formatInstant(deadline),
                                deadlineText(*slo.startBy, "start_by")),
                    key, detail, waiting);
          }
          auto following = nextFire(trig, fire);
          if (!following) break;
          fire = *following;
        }
      }
    } else if (slo.startBy) {
      const int minute = slo.startBy->minuteOfDay.value_or(0);
      while (w.dayNext) {
        const WallTime deadline = *w.dayNext;
        if (deadline > t) {
          consider(deadline);
          break;
        }
        auto prev = spec::previousTimeOfDay(minute, slo.days, slo.timezone, deadline);
        const WallTime from = prev.ok() ? *prev : deadline - std::chrono::hours(24);
        bool started = std::any_of(starts.begin(), starts.end(),
                                   [&](const auto& s) { return s.at > from && s.at <= deadline; });
        std::string key = fmt::format("start_by {} {}", name, spec::formatInstant(deadline));
        if (!started && !slo_->checked.count(key)) {
          RunRt* waiting = nullptr;
          for (auto& [id, r] : runs_)
            if (r->row.workflow == name && !isTerminal(r->row.state)) {
              int attempts = 0;
              for (const auto& s : r->steps) attempts += s.row.attempts;
              if (attempts == 0) waiting = r.get();
            }
          std::string detail =
              waiting ? fmt::format("run {} {}: {}", waiting->row.id, toString(waiting->row.state),
                                    waiting->row.waitReason.empty() ? waiting->row.reason
                                                                    : waiting->row.waitReason)
                      : "no run of the workflow was created";
          sloMiss(*w.wf, kStartBy,
                  fmt::format("no run started between {} and {} ({} {})", spec::formatInstant(from),
                              spec::formatInstant(deadline), deadlineText(*slo.startBy, "start_by"),
                              slo.timezone),
                  key, detail, waiting);
        }
        auto following = spec::nextTimeOfDay(minute, slo.days, slo.timezone, deadline);
        if (following.ok())
          w.dayNext = *following;
        else
          w.dayNext.reset();
      }
    }
    if (slo.freshness) {
      const WallTime ref = w.lastSuccess.value_or(w.firstApplied);
      const WallTime due = ref + *slo.freshness;
      std::string key = fmt::format("freshness {} since {}", name, spec::formatInstant(ref));
      if (due > t) {
        consider(due);
      } else if (!slo_->checked.count(key)) {
        sloMiss(*w.wf, kFreshness,
                fmt::format("no success since {} (freshness {})", spec::formatInstant(ref),
                            spec::formatDuration(*slo.freshness)),
                key,
                w.lastSuccess ? "the last run that succeeded ended then"
                              : "no run has succeeded since the workflow was first applied",
                nullptr);
      }
    }
  }

  bool tracking = !slo_->workflows.empty() || !slo_->finishDue.empty();
  for (const auto& [id, r] : runs_)
    tracking = tracking || (!isTerminal(r->row.state) && r->wf->spec->slo.finishDeadline());
  if (!tracking) return;
  WallTime at = std::min(next.value_or(t + kMaxSloWait), t + kMaxSloWait);
  slo_->timerAt = at;
  slo_->timer = loop_.runAt(clock_.monoNow() + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                   std::max(WallTime::duration(0), at - t)),
                            [this] {
                              slo_->timer.reset();
                              sloTick();
                            });
}

void Engine::sloMiss(const LoadedWorkflow& wf, const char* kind, const std::string& message,
                     const std::string& key, const std::string& detail, RunRt* run) {
  const spec::WorkflowSpec& spec = *wf.spec;
  incidents::Symptom s;
  s.kind = kind;
  s.runId = run ? run->row.id : "";
  s.workflow = spec.name;
  s.failureClass = kind;
  s.message = message;
  s.severity = spec.severity;
  s.ownerTeam = spec.owner.team;
  s.ownerContact = spec.owner.contact;
  s.runbook = spec.runbook;
  s.downstream = workflowsAfter(spec.name);

  auto fp = incidents::fingerprintOf(s.workflow, "", s.failureClass, s.message);
  auto& ids = incidentsByFingerprint_[fp.hash];
  std::vector<const Incident*> same;
  Incident* open = nullptr;
  for (const auto& id : ids) {
    Incident& i = incidents_.at(id);
    same.push_back(&i);
    if (!open && i.state != IncidentState::kResolved) open = &i;
  }
  Incident* touched = open;
  if (open) {
    incidents::joinIncident(*open, s, now());
  } else {
    std::string id = fmt::format("inc-{:06d}", ++lastIncidentNumber_);
    Incident opened = incidents::openIncident(s, id, fp.hash, fp.normalized, same, now());
    ids.push_back(id);
    touched = &(incidents_[id] = std::move(opened));
  }
  incidents::addEntry(*touched, kMissEntry, "", "", "", detail.empty() ? key : key + "; " + detail,
                      now());
  slo_->checked.insert(key);
  writeIncident(*touched);
  // An SLO miss is not a retry within policy: its first level is due now.
  if (touched->count == 1) escalate(*touched);
  if (run)
    event(*run, touched->count == 1 ? "incident_opened" : "incident_joined", {}, 0,
          fmt::format("{} {} ({}): {}", touched->id, incidents::severityName(touched->severity),
                      kind, message));
  // Counted once the miss is durable, as every workflow metric is.
  afterCommit([this, workflow = spec.name, kindLabel = std::string(kind).substr(4)] {
    auto& metrics = options_.metrics ? *options_.metrics : *ownMetrics_;
    metrics
        .counter("keel_slo_misses_total",
                 "SLO deadlines missed (finish_by, start_by, freshness), by workflow and kind, "
                 "since keel started.",
                 {{"workflow", workflow}, {"kind", kindLabel}})
        .inc();
  });
  observe::logFields(spdlog::level::warn,
                     fmt::format("incident {} {}: {}", touched->id,
                                 touched->count == 1 ? "opened" : "joined", message),
                     {{"incident", touched->id},
                      {"workflow", spec.name},
                      {"slo", std::string(kind)},
                      {"run_id", s.runId},
                      {"count", touched->count}});
}

}  // namespace keel::engine
