// The `keel` command line. runCli() parses argv with CLI11 and runs one
// command. `serve`, `bench`, `check` and `gc` are handed to the composition root
// through Commands (they build the engine or open the database); every
// other command is an HTTP client
// of a running `keel serve` (--server / KEEL_SERVER, default
// http://127.0.0.1:7070), except `validate` and `cron next`, which work
// offline.
// Exit codes: 0 ok, 1 failure (run failed, server error), 2 usage or invalid
// input, 3 server unreachable.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace keel::cli {

struct ServeOptions {
  std::string db = "./keel.db";
  std::string listen = "127.0.0.1:7070";  // port 0 picks a free port
  std::string workflowsDir;               // applied at start-up when set
  int maxParallelSteps = 32;              // process steps running at once
  std::string logLevel = "info";
  // Allows creating the database although traces of an earlier one remain
  // (see docs/operations.md); an existing database is opened as usual.
  bool init = false;
  std::string tokenFile;        // where the first admin token is written; "" = DB + ".token"
  std::string auth = "token";   // "token" or "none" (loopback only)
  bool insecureListen = false;  // allow plain HTTP on a non-loopback address
  std::string tlsCert, tlsKey;  // both, or neither
  std::vector<std::string> allowOrigins;
  // On SIGTERM/SIGINT: stop the running steps too (their attempts are
  // retried by policy at the next start) instead of leaving them running
  // under their supervisors for the next start to re-attach.
  bool stopSteps = false;
  // Finished runs older than this are deleted while serving (--retain,
  // e.g. 30d); 0 = off. A workflow's own `retention:` overrides it.
  int64_t retainMs = 0;
  // An OpenTelemetry collector (http:// or https://): spans are exported
  // to OTLP_ENDPOINT/v1/traces over OTLP/HTTP JSON; "" = no export.
  std::string otlpEndpoint;
};

struct BenchOptions {
  std::string workload;  // W1, W2, W3, W3K, W4, W5, L1 or S1
  std::string db;        // empty = a temporary file
  int runs = 0;          // 0 = the workload's default
};

// `keel check`: the full check of a database, offline.
struct CheckOptions {
  std::string db = "./keel.db";
};

// `keel gc`: deletes finished runs older than an age, offline.
struct GcOptions {
  std::string db;           // required
  int64_t olderThanMs = 0;  // parsed from --older-than (e.g. 7d)
  int runsPerTransaction = 500;
};

struct Commands {
  std::function<int(const ServeOptions&)> serve;
  std::function<int(const BenchOptions&)> bench;
  std::function<int(const CheckOptions&)> check;
  std::function<int(const GcOptions&)> gc;
};

int runCli(int argc, char** argv, const Commands& commands);
// The same, writing normal output to `out` and diagnostics to `err` instead
// of stdout and stderr (tests). `serve` and `bench` write where they like.
int runCli(int argc, char** argv, const Commands& commands, std::ostream& out, std::ostream& err);

}  // namespace keel::cli
