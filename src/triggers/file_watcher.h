// The file watcher: one thread that lists the directories of every file
// trigger, follows each with a StabilityTracker and hands the files that
// settled to its owner (the engine), off the engine loop. It polls each
// directory every pollInterval() of its trigger and, where inotify is
// available, lists a directory sooner when something in it changed (a
// hint only: the listing decides). A directory that cannot be read is not
// fatal: the error is logged once per change (warn), kept for status(),
// and the directory is listed again at the next interval.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "spec/workflow.h"
#include "triggers/file_trigger.h"

namespace keel::triggers {

// One file trigger of a workflow's latest version.
struct FileWatch {
  std::string workflow;
  size_t index = 0;  // in the workflow's triggers
  spec::TriggerSpec trigger;
};

// Where one watched trigger stands, for operators.
struct FileWatchStatus {
  std::string workflow;
  size_t index = 0;
  std::string path;
  std::string pattern;
  Millis stableFor{0};
  std::string error;  // the last listing's error; empty when it succeeded
  std::optional<WallTime> errorSince;
  std::optional<WallTime> lastListed;  // the last successful listing
  size_t tracked = 0;                  // files seen, not yet settled or reported
  // The last arrival handed over (since keel started).
  std::string lastPath;
  std::optional<WallTime> lastArrivalAt;
  std::string lastRunId;
};

class FileWatcher {
 public:
  using Lister = std::function<Result<std::vector<FileEntry>>(const std::string& dir,
                                                              const std::string& pattern)>;
  // Called on the watcher thread (or scanNow's caller) with the files of a
  // watch that settled, the paths gone from its directory since the last
  // listing and, at the first successful listing of the watch, the whole
  // listing. Returns the paths it could not handle (e.g. a store read
  // failed): they are reported again at the next listing.
  using OnSettled = std::function<std::vector<std::string>(
      const FileWatch& watch, std::vector<FileEntry> settled, std::vector<std::string> gone,
      const std::vector<FileEntry>* firstListing)>;

  FileWatcher(const Clock& clock, Lister lister, OnSettled onSettled);
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  // Replaces the watches of `workflow` (its latest version's file
  // triggers; empty for none). A watch whose trigger keeps the same path,
  // pattern and stable_for keeps what it knows. Any thread.
  void setWatches(const std::string& workflow, std::vector<FileWatch> watches);
  // Starts the thread (not in manual mode: tests call scanNow()).
  void start();
  // Stops and joins the thread; no callback runs after it returns.
  void stop();
  // Lists every watched directory once, on the caller's thread (tests).
  void scanNow();
  // The last arrival of a watch, for status().
  void noteArrival(const std::string& workflow, size_t index, const std::string& path,
                   const std::string& runId, WallTime at);
  std::vector<FileWatchStatus> status() const;

 private:
  struct Watched {
    FileWatch watch;
    StabilityTracker tracker;
    bool listedOnce = false;
    MonoTime nextScan{};
    FileWatchStatus status;
    int inotifyWd = -1;
  };
  using Key = std::pair<std::string, size_t>;
  void run();
  // Lists one watch; called without mu_ held for the I/O and the callback.
  void scanOne(const Key& key, MonoTime now);
  void addInotify(Watched& w);

  const Clock& clock_;
  Lister lister_;
  OnSettled onSettled_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<Key, Watched> watches_;  // guarded by mu_
  bool stop_ = false;               // guarded by mu_
  bool changed_ = false;            // guarded by mu_: watches replaced, look again
  std::mutex scanMu_;               // one listing pass at a time
  int inotifyFd_ = -1;
  int wakeFd_ = -1;  // an eventfd that interrupts the thread's wait
  std::thread thread_;
};

}  // namespace keel::triggers
