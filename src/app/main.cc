// keel: the single binary. Every command is parsed by the CLI; `serve`,
// `bench` and the offline database commands are composed here.
#include "app/bench.h"
#include "app/maintenance.h"
#include "app/serve.h"
#include "cli/cli.h"

int main(int argc, char** argv) {
  keel::cli::Commands commands;
  commands.serve = keel::app::runServe;
  commands.bench = keel::app::runBench;
  commands.check = keel::app::runCheck;
  commands.gc = keel::app::runGc;
  return keel::cli::runCli(argc, argv, commands);
}
