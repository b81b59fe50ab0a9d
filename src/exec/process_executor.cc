#include "exec/process_executor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>
#include <utility>

#include "exec/attempt_files.h"
#include "exec/classify.h"
#include "exec/stop_latch.h"
#include "exec/unique_fd.h"

namespace keel::exec {

using SteadyClock = std::chrono::steady_clock;

struct ProcessExecutor::Job {
  ExecHandle handle = 0;
  StepRequest request;
  std::optional<AttemptRef> reattach;  // set for attach()
  std::function<void(StepOutcome)> done;
  SteadyClock::time_point acceptedAt;
  bool started = false;
  // Created when a worker takes the job: a queued job holds no descriptor.
  std::optional<StopLatch> latch;
  // Set when stopped while still queued.
  FailureClass stoppedAs = FailureClass::kNone;
  SteadyClock::time_point stoppedAt;
};

namespace {

// A write to a closed pipe or socket must give EPIPE, not kill the server.
// A handler the server installed itself is left alone.
void ignoreSigpipe() {
  struct sigaction current {};
  if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGPIPE, &ignore, nullptr);
  }
}

}  // namespace

ProcessExecutor::ProcessExecutor(ProcessExecutorOptions options)
    : maxParallel_(std::max<size_t>(1, options.maxParallel)),
      shim_{std::move(options.shimPath), std::move(options.attemptsDir)} {
  ignoreSigpipe();
}

ProcessExecutor::~ProcessExecutor() { shutdown(); }

ExecHandle ProcessExecutor::start(StepRequest request, std::function<void(StepOutcome)> done) {
  std::unique_lock<std::mutex> lock(mu_);
  const ExecHandle handle = nextHandle_++;
  if (shuttingDown_) {
    lock.unlock();
    StepOutcome o = stoppedBeforeStart(FailureClass::kCancelled, std::chrono::milliseconds(0));
    o.message = "cancelled: the executor has shut down";
    done(std::move(o));
    return handle;
  }
  auto job = std::make_shared<Job>();
  job->handle = handle;
  job->request = std::move(request);
  job->done = std::move(done);
  job->acceptedAt = SteadyClock::now();
  jobs_.emplace(handle, job);
  queue_.push_back(std::move(job));
  addWorkerIfNeededLocked();
  workCv_.notify_one();
  return handle;
}

// A worker per queued job that no idle worker will take, up to maxParallel_:
// since a worker runs one attempt at a time, this is the parallelism bound.
void ProcessExecutor::addWorkerIfNeededLocked() {
  if (queue_.size() > idleWorkers_ && workers_.size() < maxParallel_)
    workers_.emplace_back([this] { workerLoop(); });
}

void ProcessExecutor::stop(ExecHandle handle, FailureClass why) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(handle);
  if (it == jobs_.end()) return;  // already ended: no effect
  std::shared_ptr<Job> job = it->second;
  if (job->started) {
    job->latch->request(why);  // refused if it has just ended, or was already stopped
    return;
  }
  queue_.erase(std::find(queue_.begin(), queue_.end(), job));
  jobs_.erase(it);
  handOverUnstartedLocked(std::move(job), why);
}

// A job stopped before it started is reported by the notifier thread rather
// than a worker: the workers may all be busy with long attempts, and a
// cancel must not wait for one of them to finish.
void ProcessExecutor::handOverUnstartedLocked(std::shared_ptr<Job> job, FailureClass why) {
  job->stoppedAs = why;
  job->stoppedAt = SteadyClock::now();
  unstarted_.push_back(std::move(job));
  if (!notifier_.joinable()) notifier_ = std::thread([this] { notifierLoop(); });
  notifyCv_.notify_one();
}

void ProcessExecutor::workerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    ++idleWorkers_;
    workCv_.wait(lock, [this] { return !queue_.empty() || shuttingDown_; });
    --idleWorkers_;
    if (queue_.empty()) return;  // shutting down, nothing left to run
    std::shared_ptr<Job> job = std::move(queue_.front());
    queue_.pop_front();
    job->started = true;
    job->latch.emplace();
    lock.unlock();

    StepOutcome outcome = runUnderShim(job->request, *job->latch, job->acceptedAt, shim_);
    lock.lock();
    jobs_.erase(job->handle);
    lock.unlock();
    job->done(std::move(outcome));
    lock.lock();
  }
}

void ProcessExecutor::notifierLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    notifyCv_.wait(lock,
                   [this] { return !unstarted_.empty() || !toRemove_.empty() || shuttingDown_; });
    if (!toRemove_.empty()) {
      auto [dir, ended] = std::move(toRemove_.front());
      toRemove_.pop_front();
      lock.unlock();
      removeDir(dir, ended);
      lock.lock();
      continue;
    }
    if (unstarted_.empty()) return;
    std::shared_ptr<Job> job = std::move(unstarted_.front());
    unstarted_.pop_front();
    lock.unlock();
    job->done(stoppedBeforeStart(
        job->stoppedAs,
        std::chrono::duration_cast<std::chrono::milliseconds>(job->stoppedAt - job->acceptedAt)));
    lock.lock();
  }
}

void ProcessExecutor::shutdown() { stopAll(false); }

void ProcessExecutor::detach() { stopAll(true); }

void ProcessExecutor::stopAll(bool leaveRunning) {
  std::call_once(shutdownOnce_, [this, leaveRunning] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      shuttingDown_ = true;
      while (!queue_.empty()) {
        std::shared_ptr<Job> job = std::move(queue_.front());
        queue_.pop_front();
        jobs_.erase(job->handle);
        handOverUnstartedLocked(std::move(job), FailureClass::kCancelled);
      }
      for (auto& [handle, job] : jobs_) {
        if (leaveRunning)
          job->latch->requestDetach();
        else
          job->latch->request(FailureClass::kCancelled);
      }
      workCv_.notify_all();
      notifyCv_.notify_all();
    }
    // No thread is added once shuttingDown_ is set, so these are stable.
    for (auto& w : workers_) w.join();
    for (auto& t : attached_) t.join();
    if (notifier_.joinable()) notifier_.join();
    // Folders still queued: the next start's sweep would find them too, but
    // there is no reason to leave them.
    for (const auto& [dir, ended] : toRemove_) removeDir(dir, ended);
    toRemove_.clear();
  });
}

ExecHandle ProcessExecutor::attach(AttemptRef ref, std::function<void(StepOutcome)> done) {
  std::unique_lock<std::mutex> lock(mu_);
  const ExecHandle handle = nextHandle_++;
  if (shuttingDown_) {
    lock.unlock();
    StepOutcome o;
    o.detached = true;
    o.message = "keel is stopping; the attempt was not re-attached";
    done(std::move(o));
    return handle;
  }
  auto job = std::make_shared<Job>();
  job->handle = handle;
  job->reattach = std::move(ref);
  job->done = std::move(done);
  job->acceptedAt = SteadyClock::now();
  job->started = true;
  job->latch.emplace();
  jobs_.emplace(handle, job);
  attached_.emplace_back([this, job] {
    StepOutcome outcome = reattachShim(*job->reattach, *job->latch, shim_);
    {
      std::lock_guard<std::mutex> l(mu_);
      jobs_.erase(job->handle);
    }
    job->done(std::move(outcome));
  });
  return handle;
}

void ProcessExecutor::queueRemoval(std::string dir, bool ended) {
  std::lock_guard<std::mutex> lock(mu_);
  toRemove_.emplace_back(std::move(dir), ended);
  if (!notifier_.joinable()) notifier_ = std::thread([this] { notifierLoop(); });
  notifyCv_.notify_one();
}

void ProcessExecutor::removeDir(const std::string& dir, bool ended) {
  if (!ended) {
    clearStaleAttemptDir(dir);
    return;
  }
  keepLiveIfFollowed(dir);
  std::error_code ec;  // a folder left behind is swept at the next start
  std::filesystem::remove_all(dir, ec);
}

void ProcessExecutor::discard(const AttemptRef& ref) {
  queueRemoval(
      shim_.attemptsDir + "/" + attempt_files::attemptDirName(ref.runId, ref.step, ref.attempt),
      true);
}

// The listing is taken now, before any new attempt can make a folder; the
// removals happen in the background, so a large backlog never delays a start.
void ProcessExecutor::sweep(const std::vector<AttemptRef>& keep) {
  std::set<std::string> names;
  for (const auto& r : keep)
    names.insert(attempt_files::attemptDirName(r.runId, r.step, r.attempt));
  for (auto& dir : staleAttemptDirs(shim_, names)) queueRemoval(std::move(dir), false);
}

namespace {

// The live copy is at most twice the log cap plus a line; a bigger file is
// not one a supervisor wrote.
constexpr size_t kLiveReadLimit = 64 << 20;

std::string baseName(const std::string& dir) {
  return std::filesystem::path(dir).filename().string();
}

}  // namespace

// Runs on the notifier thread, before the folder goes: the whole live copy
// of an attempt someone follows moves into memory.
void ProcessExecutor::keepLiveIfFollowed(const std::string& dir) {
  const std::string name = baseName(dir);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (followed_.erase(name) == 0) return;
  }
  auto text = attempt_files::readFileCapped(dir + "/" + attempt_files::kLive, kLiveReadLimit);
  if (!text.ok()) return;
  std::lock_guard<std::mutex> lock(mu_);
  endedLive_.emplace_back(name, std::move(*text));
  while (endedLive_.size() > kLiveKeptAfterEnd) endedLive_.pop_front();
}

Result<LiveOutput> ProcessExecutor::readLive(const AttemptRef& ref, int64_t offset,
                                             size_t maxBytes) {
  if (offset < 0) return Error(ErrorCode::kInvalidArgument, "a live offset cannot be negative");
  const std::string name = attempt_files::attemptDirName(ref.runId, ref.step, ref.attempt);
  const std::string dir = shim_.attemptsDir + "/" + name;
  auto slice = [&](std::string_view all) {
    LiveOutput out;
    const size_t from = std::min(all.size(), static_cast<size_t>(offset));
    out.data = std::string(all.substr(from, maxBytes));
    out.offset = static_cast<int64_t>(from + out.data.size());
    out.ended = static_cast<size_t>(out.offset) >= all.size();
    return out;
  };
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [kept, text] : endedLive_)
      if (kept == name) return slice(text);
    if (!std::filesystem::is_directory(dir)) {
      for (const auto& [handle, job] : jobs_)
        if (!job->reattach && job->request.runId == ref.runId && job->request.step == ref.step &&
            job->request.attempt == ref.attempt)
          return LiveOutput{"", offset, false};  // queued: nothing written yet
      return Error(ErrorCode::kNotFound, "no live output of attempt " + name);
    }
    if (followed_.size() >= 4096) followed_.clear();  // only ever swept attempts
    followed_.insert(name);
  }
  // The status first: once it exists, the live copy is complete, so a read
  // that then reaches its end has everything.
  const bool ended = std::filesystem::exists(dir + "/" + attempt_files::kStatus);
  LiveOutput out;
  out.offset = offset;
  UniqueFd fd(::open((dir + "/" + attempt_files::kLive).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [kept, text] : endedLive_)  // discarded meanwhile
      if (kept == name) return slice(text);
    out.ended = ended;  // not made yet, or the supervisor could not make it
    return out;
  }
  std::string buf(std::min<size_t>(maxBytes, 1 << 20), '\0');
  ssize_t n;
  do {
    n = ::pread(fd.get(), buf.data(), buf.size(), offset);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Error(ErrorCode::kIo, "cannot read the live output of attempt " + name);
  buf.resize(static_cast<size_t>(n));
  out.data = std::move(buf);
  out.offset = offset + n;
  struct stat st {};
  out.ended = ended && ::fstat(fd.get(), &st) == 0 && st.st_size <= out.offset;
  return out;
}

size_t ProcessExecutor::inFlight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return jobs_.size();
}

}  // namespace keel::exec
