// keel: the single binary. Every command is parsed by the CLI; `serve`
// and `bench` are composed here.
#include "app/bench.h"
#include "app/serve.h"
#include "cli/cli.h"

int main(int argc, char** argv) {
  keel::cli::Commands commands;
  commands.serve = keel::app::runServe;
  commands.bench = keel::app::runBench;
  return keel::cli::runCli(argc, argv, commands);
}
