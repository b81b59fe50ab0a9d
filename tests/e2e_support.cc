#include "e2e_support.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

namespace keel::e2e {

KeelUnderTest::KeelUnderTest(std::vector<std::string> extraArgs)
    : extraArgs_(std::move(extraArgs)) {
  child_ = std::make_unique<app::ChildServer>(KEEL_BINARY, serveArgs(extraArgs_));
}

std::vector<std::string> KeelUnderTest::serveArgs(const std::vector<std::string>& extraArgs) const {
  std::vector<std::string> args{"--db", db(), "--listen", listen_, "--log-level", "warn"};
  args.insert(args.end(), extraArgs.begin(), extraArgs.end());
  return args;
}

void KeelUnderTest::setExtraArgs(std::vector<std::string> extraArgs) {
  ASSERT_FALSE(child_->running());
  extraArgs_ = std::move(extraArgs);
  child_ = std::make_unique<app::ChildServer>(KEEL_BINARY, serveArgs(extraArgs_));
}

void KeelUnderTest::keepPort() {
  ASSERT_FALSE(child_->running());
  ASSERT_FALSE(url_.empty()) << "keepPort() needs a first start()";
  listen_ = "127.0.0.1:" + url_.substr(url_.rfind(':') + 1);
  child_ = std::make_unique<app::ChildServer>(KEEL_BINARY, serveArgs(extraArgs_));
}

KeelUnderTest::~KeelUnderTest() {
  if (child_->running()) child_->terminate();
  // keel leaves running steps to their supervisors when it stops; a test
  // leaves nothing behind, so each supervisor is told to stop its step.
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(db() + ".steps", ec)) {
    pid_t shim = static_cast<pid_t>(std::atol(testing::readFile(e.path() / "shim").c_str()));
    if (shim > 1) ::kill(shim, SIGTERM);
  }
}

void KeelUnderTest::start() {
  auto url = child_->start();
  ASSERT_TRUE(url.ok()) << url.error().toString();
  url_ = *url;
}

void KeelUnderTest::kill9() { child_->kill(); }
void KeelUnderTest::stop() { child_->terminate(); }

std::string KeelUnderTest::token() const {
  std::string t = testing::readFile(db() + ".token");
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  return t;
}

std::unique_ptr<httplib::Client> KeelUnderTest::client() const {
  auto c = std::make_unique<httplib::Client>(url_);
  c->set_bearer_token_auth(token());
  c->set_connection_timeout(5);
  c->set_read_timeout(60);
  return c;
}

void KeelUnderTest::apply(const std::string& yaml) {
  auto res = client()->Post("/api/v1/workflows", yaml, "application/yaml");
  ASSERT_TRUE(res) << "no answer from keel";
  ASSERT_TRUE(res->status == 200 || res->status == 201) << res->status << " " << res->body;
}

std::pair<int, nlohmann::json> KeelUnderTest::trigger(const std::string& workflow,
                                                      nlohmann::json body) {
  auto res =
      client()->Post("/api/v1/workflows/" + workflow + "/runs", body.dump(), "application/json");
  if (!res) return {0, nullptr};
  return {res->status, nlohmann::json::parse(res->body, nullptr, false)};
}

nlohmann::json KeelUnderTest::getRun(const std::string& id) {
  auto res = client()->Get("/api/v1/runs/" + id);
  if (!res || res->status != 200) return nullptr;
  return nlohmann::json::parse(res->body, nullptr, false);
}

nlohmann::json KeelUnderTest::waitForRun(const std::string& id, int seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  nlohmann::json run;
  while (std::chrono::steady_clock::now() < deadline) {
    run = getRun(id);
    if (run.is_object()) {
      auto state = run.value("state", "");
      if (state == "succeeded" || state == "failed" || state == "cancelled") return run;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return run;
}

ServeOutcome serveUntilExit(const std::vector<std::string>& args) {
  ServeOutcome outcome;
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return outcome;
  std::vector<std::string> argv{KEEL_BINARY, "serve"};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(out[1], 2);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    execv(KEEL_BINARY, cargv.data());
    _exit(127);
  }
  close(out[1]);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    if (outcome.output.find("keel serving http") != std::string::npos) {
      outcome.served = true;
      kill(pid, SIGTERM);
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    pollfd p{out[0], POLLIN, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) {
      kill(pid, SIGKILL);  // hung: neither exited nor served
      break;
    }
    char buf[512];
    ssize_t n = read(out[0], buf, sizeof(buf));
    if (n <= 0) break;  // it exited
    outcome.output.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!outcome.served && WIFEXITED(status)) outcome.exitCode = WEXITSTATUS(status);
  return outcome;
}

pid_t startKeelCli(const std::vector<std::string>& args, const std::string& token,
                   const std::string& out, const std::string& err) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("KEEL_TOKEN", token.c_str(), 1);
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(o, 1);
    ::dup2(e, 2);
    std::vector<char*> argv{const_cast<char*>(KEEL_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(KEEL_BINARY, argv.data());
    ::_exit(127);
  }
  return pid;
}

int exitCodeOf(pid_t pid, int seconds) {
  int status = 0;
  bool ended = waitFor([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, seconds);
  if (!ended) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

CliResult runKeelCli(const KeelUnderTest& keel, const std::vector<std::string>& args) {
  const std::string out = keel.dir().file("cli.out"), err = keel.dir().file("cli.err");
  std::vector<std::string> all{"--server", keel.url()};
  all.insert(all.end(), args.begin(), args.end());
  CliResult r;
  r.code = exitCodeOf(startKeelCli(all, keel.token(), out, err), 60);
  r.out = testing::readFile(out);
  r.err = testing::readFile(err);
  return r;
}

}  // namespace keel::e2e
