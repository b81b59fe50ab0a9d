// examples/worker.py against a real `keel serve`: the example worker runs
// a `task:` step to the end, and a worker killed mid-task loses its lease,
// the attempt is `lost` and retried by a second worker, and the first
// worker's late completion changes nothing.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "e2e_support.h"
#include "observe/trace_context.h"

extern char** environ;

namespace keel::e2e {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// python3 on $PATH, or empty.
std::string findPython() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/python3";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// A child process started with posix_spawn, its stderr to a file; killed
// (SIGKILL) and reaped when dropped if it is still running.
class Child {
 public:
  Child(std::vector<std::string> argv, const std::string& stderrFile) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, stderrFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Child() { kill9(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  void kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    reap(0);
  }
  // Sends `sig` and waits up to `seconds` for the exit; its exit code, or
  // -1 when it did not exit by itself in time (it is then killed).
  int stop(int sig, int seconds) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int code = -1;
    if (!waitFor([&] { return reap(WNOHANG, &code); }, seconds)) kill9();
    return code;
  }

 private:
  bool reap(int flags, int* code = nullptr) {
    int status = 0;
    pid_t r;
    while ((r = ::waitpid(pid_, &status, flags)) < 0 && errno == EINTR) {
    }
    if (r != pid_) return false;
    if (code) *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    pid_ = -1;
    return true;
  }
  pid_t pid_ = -1;
};

// The --exec command's script: prints {worker, who, attempt, key} from
// its stdin and environment.
constexpr char kEchoScript[] = R"(import json, os, sys
task = json.load(sys.stdin)
print(json.dumps({"worker": sys.argv[1], "who": task.get("who"), "fixed": task.get("fixed"),
                  "attempt": os.environ["KEEL_TASK_ATTEMPT"],
                  "key": os.environ["KEEL_IDEMPOTENCY_KEY"]}))
print("done, traceparent=" + os.environ.get("TRACEPARENT", "unset"), file=sys.stderr)
)";

std::string workflowYaml(const std::string& name, const std::string& stepBody) {
  return "name: " + name +
         "\n"
         "owner: { team: ops, contact: ops@example.com }\n"
         "runbook: https://wiki.example.com/" +
         name +
         "\n"
         "params:\n"
         "  who: { default: nobody }\n"
         "steps:\n"
         "  - name: work\n" +
         stepBody;
}

class WorkerE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    python_ = findPython();
    ASSERT_FALSE(python_.empty())
        << "python3 is not on PATH: examples/worker.py and this test need it "
           "(scripts/install-deps.sh installs it)";
    keel_.start();
    std::ofstream(dir() + "/echo.py") << kEchoScript;
  }
  void TearDown() override {
    for (pid_t group : groups_) ::kill(-group, SIGKILL);
    workers_.clear();
    keel_.stop();
  }

  std::string dir() const { return keel_.dir().path(); }

  // examples/worker.py as `name`, for `queue`, running `exec` per task.
  Child& startWorker(const std::string& name, const std::string& queue, const std::string& exec) {
    std::ofstream(dir() + "/token") << keel_.token() << "\n";
    workers_.push_back(std::make_unique<Child>(
        std::vector<std::string>{python_, std::string(KEEL_SOURCE_DIR) + "/examples/worker.py",
                                 "--url", keel_.url(), "--token-file", dir() + "/token", "--queue",
                                 queue, "--worker", name, "--wait-ms", "1000", "--exec", exec},
        stderrOf(name)));
    EXPECT_GT(workers_.back()->pid(), 0) << "cannot start " << python_;
    return *workers_.back();
  }
  std::string stderrOf(const std::string& name) const { return dir() + "/" + name + ".stderr"; }
  std::string echoCommand(const std::string& worker) const {
    return "'" + python_ + "' '" + dir() + "/echo.py' " + worker;
  }

  json tasks() {
    auto res = keel_.client()->Get("/api/v1/tasks");
    if (!res || res->status != 200) return json::array();
    return json::parse(res->body, nullptr, false).value("tasks", json::array());
  }
  json step(const json& run) {
    if (!run.is_object()) return nullptr;
    for (const auto& s : run.value("steps", json::array()))
      if (s.value("name", "") == "work") return s;
    return nullptr;
  }

  KeelUnderTest keel_;
  std::string python_;
  std::vector<std::unique_ptr<Child>> workers_;
  std::vector<pid_t> groups_;  // process groups of --exec commands, killed in teardown
};

TEST_F(WorkerE2e, TheExampleWorkerCompletesARun) {
  keel_.apply(workflowYaml("greet",
                           "    task: { queue: greetings, input: { who: \"{{ params.who }}\", "
                           "fixed: 7 } }\n"
                           "    timeout: 1m\n"));
  Child& worker = startWorker("worker-a", "greetings", echoCommand("worker-a"));
  auto [status, created] = keel_.trigger("greet", {{"params", {{"who", "ops team"}}}});
  ASSERT_EQ(status, 201) << created.dump();
  const std::string id = created.value("id", "");

  json run = keel_.waitForRun(id, 60);
  ASSERT_EQ(run.value("state", ""), "succeeded") << run.dump() << "\n"
                                                 << testing::readFile(stderrOf("worker-a"));
  EXPECT_EQ(step(run)["output"], (json{{"worker", "worker-a"},
                                       {"who", "ops team"},
                                       {"fixed", 7},
                                       {"attempt", "1"},
                                       {"key", id + "/work"}}));

  // SIGTERM: it stops between tasks and says so, one line per task before.
  EXPECT_EQ(worker.stop(SIGTERM, 30), 0);
  std::string log = testing::readFile(stderrOf("worker-a"));
  EXPECT_TRUE(contains(log, id + ".work.1 (queue greetings, attempt 1): completed")) << log;
  EXPECT_TRUE(contains(log, "worker worker-a stopped")) << log;
  // The task's trace reached the command (TRACEPARENT, seen in its log) and
  // the worker's log line: the run's trace, the attempt's span.
  std::string traceparent =
      observe::formatTraceparent(run.value("trace_id", ""), observe::attemptSpanId(id, "work", 1));
  EXPECT_TRUE(contains(log, "traceparent=" + traceparent)) << log;
  auto logs = keel_.client()->Get("/api/v1/runs/" + id + "/steps/work/logs");
  ASSERT_TRUE(logs);
  EXPECT_TRUE(contains(logs->body, "done, traceparent=" + traceparent)) << logs->body;
}

TEST_F(WorkerE2e, AWorkerKilledMidTaskLosesItsLeaseAndAnotherFinishesTheStep) {
  keel_.apply(workflowYaml("slow",
                           "    task: { queue: slow, input: { who: \"{{ params.who }}\" } }\n"
                           "    heartbeat: 2s\n"
                           "    timeout: 5m\n"
                           "    retry: { max_attempts: 3, backoff: fixed, initial: 100ms, "
                           "jitter: none }\n"));
  // Worker #1's command writes its pid and waits for a file that never comes.
  const std::string pidFile = dir() + "/blocked.pid";
  Child& first = startWorker(
      "worker-one", "slow",
      "echo $$ > '" + pidFile + "'; while [ ! -e '" + dir() + "/never' ]; do sleep 0.1; done");
  auto [status, created] = keel_.trigger("slow", {{"params", {{"who", "ops"}}}});
  ASSERT_EQ(status, 201) << created.dump();
  const std::string id = created.value("id", "");
  const std::string firstTask = id + ".work.1";

  // The lease of a 2s heartbeat step, as GET /tasks shows it; empty while
  // the task is not leased to worker #1.
  auto leaseOfFirst = [&]() -> std::string {
    for (const auto& t : tasks())
      if (t.value("id", "") == firstTask && t.value("state", "") == "leased" &&
          t["worker"] == "worker-one" && t["lease_expires_at"].is_string())
        return t["lease_expires_at"].get<std::string>();
    return "";
  };
  std::string lease;
  ASSERT_TRUE(waitFor([&] { return !(lease = leaseOfFirst()).empty(); })) << tasks().dump();
  // Its heartbeats extend the lease while the command runs.
  ASSERT_TRUE(waitFor([&] {
    auto now = leaseOfFirst();
    return !now.empty() && now != lease;
  })) << tasks().dump();
  pid_t blocked = 0;
  ASSERT_TRUE(waitFor([&] {
    blocked = static_cast<pid_t>(std::atol(testing::readFile(pidFile).c_str()));
    return blocked > 1;
  })) << "the --exec command did not start";
  groups_.push_back(blocked);  // its own session: pgid = its pid

  // A crash: the worker and its command die at once, no report is sent.
  first.kill9();
  ::kill(-blocked, SIGKILL);

  json run;
  ASSERT_TRUE(waitFor([&] {
    run = keel_.getRun(id);
    auto s = step(run);
    if (!s.is_object()) return false;
    for (const auto& a : s.value("attempts", json::array()))
      if (a.value("n", 0) == 1 && a["failure_class"] == "lost") return true;
    return false;
  })) << run.dump();

  startWorker("worker-two", "slow", echoCommand("worker-two"));
  run = keel_.waitForRun(id, 60);
  ASSERT_EQ(run.value("state", ""), "succeeded") << run.dump() << "\n"
                                                 << testing::readFile(stderrOf("worker-two"));
  const json expected{{"worker", "worker-two"},
                      {"who", "ops"},
                      {"fixed", nullptr},
                      {"attempt", "2"},
                      {"key", id + "/work"}};
  EXPECT_EQ(step(run)["output"], expected);

  // Worker #1 comes back too late: its completion of attempt 1 is refused.
  auto late = keel_.client()->Post(
      "/api/v1/tasks/" + firstTask + "/complete",
      json{{"worker", "worker-one"}, {"output", {{"worker", "worker-one"}}}}.dump(),
      "application/json");
  ASSERT_TRUE(late) << "no answer from keel";
  EXPECT_EQ(late->status, 409) << late->body;
  EXPECT_EQ(json::parse(late->body, nullptr, false)["error"]["code"], "lease_lost") << late->body;
  run = keel_.getRun(id);
  EXPECT_EQ(run.value("state", ""), "succeeded");
  EXPECT_EQ(step(run)["output"], expected);
}

}  // namespace
}  // namespace keel::e2e
