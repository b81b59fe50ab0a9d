// What the benchmarks that drive a `keel serve` child over HTTP share (W4,
// W6): a fresh folder with one workflow, the server started on it, a
// kept-alive API client, and counts read from the database afterwards.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <httplib.h>

#include "app/child_server.h"
#include "cli/cli.h"
#include "core/result.h"

namespace keel::app {

class BenchServer {
 public:
  // A folder keel-TAG-PID in the temporary directory, `yaml` as its one
  // workflow file, and `keel serve` started on it (on --db if given, else
  // a new database in the folder). The folder goes with the object,
  // however the bench ends, after the server is stopped.
  static Result<std::unique_ptr<BenchServer>> start(const cli::BenchOptions& options,
                                                    const std::string& tag,
                                                    const std::string& yaml);
  ~BenchServer();

  const std::string& url() const { return url_; }
  const std::string& token() const { return token_; }  // the admin token it wrote
  const std::string& db() const { return db_; }
  pid_t pid() const { return child_->pid(); }
  void stop() { child_->terminate(); }

 private:
  BenchServer() = default;
  std::filesystem::path dir_;
  std::unique_ptr<ChildServer> child_;
  std::string url_, token_, db_;
};

// A client of `url` with keep-alive and TCP_NODELAY (a request goes out in
// two writes, head and body: without it the body waits for the ACK of the
// head), sending `token`.
std::unique_ptr<httplib::Client> benchClient(const std::string& url, const std::string& token);

// The integer a one-value query of `db` answers, or -1.
int64_t countRows(const std::string& db, const std::string& sql);

// The resident memory of process `pid` (VmRSS), in KiB; 0 if unknown.
long processRssKb(pid_t pid);

}  // namespace keel::app
