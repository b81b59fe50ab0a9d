#include "app/bench_server.h"

#include <unistd.h>

#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "app/db_peek.h"

namespace keel::app {

Result<std::unique_ptr<BenchServer>> BenchServer::start(const cli::BenchOptions& options,
                                                        const std::string& tag,
                                                        const std::string& yaml) {
  std::unique_ptr<BenchServer> s(new BenchServer());
  s->dir_ = std::filesystem::temp_directory_path() / fmt::format("keel-{}-{}", tag, getpid());
  std::filesystem::remove_all(s->dir_);
  std::filesystem::create_directories(s->dir_ / "workflows");
  s->db_ = options.db.empty() ? (s->dir_ / "keel.db").string() : options.db;
  std::ofstream(s->dir_ / "workflows" / "bench.yaml") << yaml;
  s->child_ = std::make_unique<ChildServer>(
      selfExecutable(),
      std::vector<std::string>{"--db", s->db_, "--listen", "127.0.0.1:0", "--workflows",
                               (s->dir_ / "workflows").string(), "--log-level", "warn"});
  auto url = s->child_->start();
  if (!url.ok()) return url.error();
  s->url_ = *url;
  std::getline(std::ifstream(s->db_ + ".token"), s->token_);
  return s;
}

BenchServer::~BenchServer() {
  child_.reset();  // stopped before its folder goes
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::unique_ptr<httplib::Client> benchClient(const std::string& url, const std::string& token) {
  auto c = std::make_unique<httplib::Client>(url);
  c->set_connection_timeout(5);
  c->set_read_timeout(70);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);
  c->set_bearer_token_auth(token);
  return c;
}

int64_t countRows(const std::string& db, const std::string& sql) {
  auto text = queryText(db, sql);
  return text == "<error>" ? -1 : std::atoll(text.c_str());
}

long processRssKb(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

}  // namespace keel::app
