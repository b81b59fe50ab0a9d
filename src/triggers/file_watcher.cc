#include "triggers/file_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace keel::triggers {

namespace {

// The longest the thread sleeps without looking at its watches.
constexpr Millis kMaxWait{2000};
// How soon after an inotify hint a directory is listed (several changes in
// a burst make one listing).
constexpr Millis kHintDelay{100};

bool sameWatch(const spec::TriggerSpec& a, const spec::TriggerSpec& b) {
  return a.filePath == b.filePath && a.filePattern == b.filePattern && stableFor(a) == stableFor(b);
}

}  // namespace

FileWatcher::FileWatcher(const Clock& clock, Lister lister, OnSettled onSettled)
    : clock_(clock), lister_(std::move(lister)), onSettled_(std::move(onSettled)) {}

FileWatcher::~FileWatcher() { stop(); }

void FileWatcher::setWatches(const std::string& workflow, std::vector<FileWatch> watches) {
  std::lock_guard lock(mu_);
  std::map<size_t, Watched> previous;
  for (auto it = watches_.lower_bound({workflow, 0});
       it != watches_.end() && it->first.first == workflow;) {
    previous.emplace(it->first.second, std::move(it->second));
    it = watches_.erase(it);
  }
  for (auto& w : watches) {
    Key key{workflow, w.index};
    auto old = previous.find(w.index);
    if (old != previous.end() && sameWatch(old->second.watch.trigger, w.trigger)) {
      old->second.watch = std::move(w);
      watches_.emplace(key, std::move(old->second));
      continue;
    }
    Watched fresh{w, StabilityTracker(stableFor(w.trigger)), false, MonoTime{}, {}, -1};
    fresh.status.workflow = workflow;
    fresh.status.index = w.index;
    fresh.status.path = w.trigger.filePath;
    fresh.status.pattern = w.trigger.filePattern.empty() ? "*" : w.trigger.filePattern;
    fresh.status.stableFor = stableFor(w.trigger);
    watches_.emplace(key, std::move(fresh));
  }
  changed_ = true;
  cv_.notify_all();
  if (wakeFd_ >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wakeFd_, &one, sizeof one);
  }
}

void FileWatcher::start() {
  inotifyFd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotifyFd_ < 0)
    spdlog::info("file triggers: inotify unavailable ({}); directories are polled only",
                 std::strerror(errno));
  wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  thread_ = std::thread([this] { run(); });
}

void FileWatcher::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (wakeFd_ >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wakeFd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  if (inotifyFd_ >= 0) ::close(inotifyFd_);
  if (wakeFd_ >= 0) ::close(wakeFd_);
  inotifyFd_ = wakeFd_ = -1;
}

void FileWatcher::scanNow() {
  std::vector<Key> keys;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, w] : watches_) keys.push_back(key);
  }
  MonoTime now = clock_.monoNow();
  for (const auto& key : keys) scanOne(key, now);
}

void FileWatcher::addInotify(Watched& w) {
  if (inotifyFd_ < 0 || w.inotifyWd >= 0) return;
  w.inotifyWd =
      inotify_add_watch(inotifyFd_, w.watch.trigger.filePath.c_str(),
                        IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                            IN_ATTRIB | IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
}

void FileWatcher::scanOne(const Key& key, MonoTime now) {
  std::lock_guard scanning(scanMu_);
  FileWatch watch;
  {
    std::lock_guard lock(mu_);
    auto it = watches_.find(key);
    if (it == watches_.end()) return;
    watch = it->second.watch;
    it->second.nextScan = now + pollInterval(watch.trigger);
  }
  auto listing = lister_(watch.trigger.filePath, watch.trigger.filePattern);
  std::vector<FileEntry> settled;
  std::vector<std::string> gone;
  bool first = false;
  {
    std::lock_guard lock(mu_);
    auto it = watches_.find(key);
    // Replaced meanwhile by another trigger: this listing is not its.
    if (it == watches_.end() || !sameWatch(it->second.watch.trigger, watch.trigger)) return;
    Watched& w = it->second;
    FileWatchStatus& st = w.status;
    if (!listing.ok()) {
      const std::string& why = listing.error().message();
      if (st.error != why)
        spdlog::warn("workflow {} file trigger {}: {}; trying again every {} ms", key.first,
                     key.second + 1, why, pollInterval(watch.trigger).count());
      if (st.error.empty()) st.errorSince = clock_.wallNow();
      st.error = why;
      w.inotifyWd = -1;
      return;
    }
    if (!st.error.empty())
      spdlog::info("workflow {} file trigger {}: directory {} readable again", key.first,
                   key.second + 1, watch.trigger.filePath);
    st.error.clear();
    st.errorSince.reset();
    st.lastListed = clock_.wallNow();
    settled = w.tracker.observe(*listing, now, &gone);
    st.tracked = w.tracker.tracked();
    first = !w.listedOnce;
    w.listedOnce = true;
    if (auto settle = w.tracker.nextSettle(); settle && *settle < w.nextScan)
      w.nextScan = std::max(*settle, now + kHintDelay);
    addInotify(w);
  }
  if (settled.empty() && gone.empty() && !first) return;
  auto again = onSettled_(watch, std::move(settled), std::move(gone), first ? &*listing : nullptr);
  if (again.empty()) return;
  std::lock_guard lock(mu_);
  auto it = watches_.find(key);
  if (it == watches_.end()) return;
  for (const auto& path : again) it->second.tracker.retry(path);
}

void FileWatcher::run() {
  for (;;) {
    std::vector<Key> due;
    MonoTime now = clock_.monoNow();
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      changed_ = false;
      for (const auto& [key, w] : watches_)
        if (w.nextScan <= now) due.push_back(key);
    }
    for (const auto& key : due) {
      {
        std::lock_guard lock(mu_);
        if (stop_) return;
      }
      scanOne(key, now);
    }
    Millis wait = kMaxWait;
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      if (changed_) continue;
      MonoTime at = clock_.monoNow();
      for (const auto& [key, w] : watches_)
        wait = std::min(wait, std::chrono::duration_cast<Millis>(w.nextScan - at));
    }
    wait = std::max(wait, Millis(0));
    pollfd fds[2] = {{wakeFd_, POLLIN, 0}, {inotifyFd_, POLLIN, 0}};
    int n = ::poll(fds, inotifyFd_ >= 0 ? 2 : 1, static_cast<int>(wait.count()));
    if (n <= 0) continue;
    if (fds[0].revents & POLLIN) {
      uint64_t count;
      [[maybe_unused]] auto r = ::read(wakeFd_, &count, sizeof count);
    }
    if (inotifyFd_ >= 0 && (fds[1].revents & POLLIN)) {
      alignas(inotify_event) char buf[16 * 1024];
      std::vector<std::pair<int, bool>> hinted;  // wd, the directory itself went
      for (;;) {
        ssize_t len = ::read(inotifyFd_, buf, sizeof buf);
        if (len <= 0) break;
        for (char* p = buf; p < buf + len;) {
          auto* e = reinterpret_cast<inotify_event*>(p);
          hinted.emplace_back(e->wd, (e->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) != 0);
          p += sizeof(inotify_event) + e->len;
        }
      }
      std::lock_guard lock(mu_);
      MonoTime soon = clock_.monoNow() + kHintDelay;
      for (auto& [key, w] : watches_)
        for (const auto& [wd, self] : hinted)
          if (w.inotifyWd == wd) {
            w.nextScan = std::min(w.nextScan, soon);
            if (self) w.inotifyWd = -1;
          }
    }
  }
}

void FileWatcher::noteArrival(const std::string& workflow, size_t index, const std::string& path,
                              const std::string& runId, WallTime at) {
  std::lock_guard lock(mu_);
  auto it = watches_.find({workflow, index});
  if (it == watches_.end()) return;
  it->second.status.lastPath = path;
  it->second.status.lastRunId = runId;
  it->second.status.lastArrivalAt = at;
}

std::vector<FileWatchStatus> FileWatcher::status() const {
  std::lock_guard lock(mu_);
  std::vector<FileWatchStatus> out;
  for (const auto& [key, w] : watches_) out.push_back(w.status);
  return out;
}

}  // namespace keel::triggers
