// File triggers: the file watcher (triggers/file_watcher.h) lists each
// watched directory on its own thread and hands over the files that
// settled; here, still on that thread, each arrival's key is looked up in
// the store (file_arrivals), then the loop reconciles a "not found" with
// the keys it is creating or made durable since, and starts one run per
// arrival, written in one batch with its arrival row. No directory is read
// on the loop.
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/engine.h"
#include "triggers/file_trigger.h"

namespace keel::engine {

using nlohmann::json;

namespace {

std::vector<triggers::FileWatch> watchesOf(const LoadedWorkflow& wf) {
  std::vector<triggers::FileWatch> out;
  const auto& list = wf.spec->triggers;
  for (size_t i = 0; i < list.size(); ++i)
    if (list[i].kind == spec::TriggerSpec::Kind::kFile) out.push_back({wf.row.name, i, list[i]});
  return out;
}

}  // namespace

void Engine::makeFileWatcher() {
  triggers::FileWatcher::Lister lister = options_.listDirectory;
  if (!lister) lister = triggers::listDirectory;
  fileWatcher_ = std::make_unique<triggers::FileWatcher>(
      clock_, std::move(lister),
      [this](const triggers::FileWatch& watch, std::vector<triggers::FileEntry> settled,
             std::vector<std::string> gone, const std::vector<triggers::FileEntry>* first) {
        return onFilesSettled(watch, std::move(settled), std::move(gone), first);
      });
}

void Engine::armFileWatches() {
  for (const auto& wf : workflows_.allLatest())
    fileWatcher_->setWatches(wf->row.name, watchesOf(*wf));
}

void Engine::rearmFileWatches(const LoadedWorkflow& wf) {
  fileWatcher_->setWatches(wf.row.name, watchesOf(wf));
}

void Engine::scanFiles() { fileWatcher_->scanNow(); }

std::vector<FileTriggerStatus> Engine::fileTriggers() const {
  std::vector<FileTriggerStatus> out;
  for (auto& s : fileWatcher_->status()) {
    FileTriggerStatus f;
    f.workflow = s.workflow;
    f.trigger = s.index;
    f.path = s.path;
    f.pattern = s.pattern;
    f.stableFor = s.stableFor;
    f.error = s.error;
    f.errorSince = s.errorSince;
    f.lastListed = s.lastListed;
    f.pending = s.tracked;
    f.lastPath = s.lastPath;
    f.lastArrivalAt = s.lastArrivalAt;
    f.lastRunId = s.lastRunId;
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<std::string> Engine::onFilesSettled(const triggers::FileWatch& watch,
                                                std::vector<triggers::FileEntry> settled,
                                                std::vector<std::string> gone,
                                                const std::vector<triggers::FileEntry>* first) {
  std::vector<std::string> again;
  if (stopping_.load()) {
    for (const auto& f : settled) again.push_back(f.path);
    return again;
  }
  // Arrivals recorded for files no longer in the directory are forgotten:
  // those gone since the last listing and, at the first listing, those the
  // store holds for files that went while nobody looked.
  if (first) {
    auto rows = store_.listFileArrivals(watch.workflow, static_cast<int>(watch.index));
    if (rows.ok()) {
      std::set<std::string> present;
      for (const auto& f : *first) present.insert(f.path);
      std::set<std::string> absent;
      for (const auto& r : *rows)
        if (!present.count(r.path)) absent.insert(r.path);
      gone.insert(gone.end(), absent.begin(), absent.end());
    }
  }
  uint64_t seen = beginKeyLookup();
  std::vector<PlannedArrival> plan;
  for (auto& f : settled) {
    std::string key = triggers::fileRunKey(watch.workflow, watch.index, f);
    auto found = store_.findFileArrival(watch.workflow, key);
    if (!found.ok()) {
      spdlog::warn("workflow {} file trigger {}: cannot look {} up: {}; trying again",
                   watch.workflow, watch.index + 1, f.path, found.error().message());
      again.push_back(f.path);
      continue;
    }
    if (found->has_value()) continue;  // fired before (this keel or an earlier one)
    plan.push_back({std::move(f), std::move(key)});
  }
  if (plan.empty() && gone.empty()) {
    endKeyLookup(seen);
    return again;
  }
  loop_.post([this, watch, plan = std::move(plan), gone = std::move(gone), seen]() mutable {
    onFileArrivals(watch, std::move(plan), std::move(gone), seen);
  });
  return again;
}

void Engine::onFileArrivals(const triggers::FileWatch& watch, std::vector<PlannedArrival> plan,
                            std::vector<std::string> gone, uint64_t seenSeq) {
  endKeyLookup(seenSeq);
  if (!gone.empty())
    pending_.mutations.emplace_back(
        store::PruneFileArrivals{watch.workflow, static_cast<int>(watch.index), std::move(gone)});
  // While stopping nothing new starts: the next start lists the directory
  // again and finds the file not recorded.
  if (plan.empty() || draining_ || stopping_.load()) return;
  auto wf = workflows_.latest(watch.workflow);
  if (!wf.ok()) return;
  const auto& list = (*wf)->spec->triggers;
  // The version that armed this watch was replaced by one without it: the
  // new watch decides.
  if (watch.index >= list.size() || list[watch.index].kind != spec::TriggerSpec::Kind::kFile ||
      list[watch.index].filePath != watch.trigger.filePath ||
      list[watch.index].filePattern != watch.trigger.filePattern)
    return;
  const spec::TriggerSpec& t = list[watch.index];
  for (auto& a : plan) {
    KeyId keyId{watch.workflow, a.key};
    if (uncommittedKeys_.count(keyId)) continue;
    if (auto d = durableKeys_.find(keyId); d != durableKeys_.end() && d->second.seq > seenSeq)
      continue;
    store::FileArrivalRow row{watch.workflow,
                              static_cast<int>(watch.index),
                              a.key,
                              a.file.path,
                              static_cast<int64_t>(a.file.size),
                              a.file.mtimeNs,
                              static_cast<int64_t>(a.file.inode),
                              "",
                              now(),
                              "started"};
    if (std::string why = disabledReason(watch.workflow); !why.empty()) {
      spdlog::warn("workflow {} file trigger {}: {} starts no run: {}", watch.workflow,
                   watch.index + 1, a.file.path, why);
      row.outcome = "skipped: workflow disabled";
      pending_.mutations.emplace_back(store::PutFileArrival{std::move(row)});
      continue;
    }
    auto rendered = triggers::renderFileParams(t, a.file);
    Result<json> params = rendered.ok() ? effectiveParams(**wf, *rendered) : rendered.error();
    if (!params.ok()) {
      std::string why = params.error().message();
      for (const auto& d : params.error().details()) why += "; " + d;
      spdlog::warn("workflow {} file trigger {}: {} starts no run: params: {}", watch.workflow,
                   watch.index + 1, a.file.path, why);
      row.outcome = "skipped: params: " + why;
      pending_.mutations.emplace_back(store::PutFileArrival{std::move(row)});
      continue;
    }
    RunRt& run = createRun(*wf, std::move(*params), a.key);
    event(run, "started_by_file", {}, 0,
          fmt::format("started by file {} ({} bytes, modified {}) (trigger {})", a.file.path,
                      a.file.size, triggers::formatMtime(a.file.mtimeNs), watch.index + 1));
    uncommittedKeys_[keyId] = run.row.id;
    replyWhenDurable(run, [this, keyId](const store::RunRow& r) { keyMadeDurable(keyId, r); });
    row.runId = run.row.id;
    // In the same batch as the run: flush() writes every dirty run and
    // everything pending together.
    pending_.mutations.emplace_back(store::PutFileArrival{std::move(row)});
    fileWatcher_->noteArrival(watch.workflow, watch.index, a.file.path, run.row.id, now());
    startRun(run);
  }
}

}  // namespace keel::engine
