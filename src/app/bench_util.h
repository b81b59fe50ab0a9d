// Small helpers shared by the benchmark workloads.
#pragma once

#include <string>
#include <vector>

#include "cli/cli.h"

namespace keel::app {

long rssKb();
double percentileMs(std::vector<double> v, double p);
std::string benchDbPath(const cli::BenchOptions& o, const std::string& tag);
void removeDb(const std::string& path);
void printResult(const std::string& workload, size_t runs, double seconds,
                 const std::vector<double>& latencies, const std::string& extra);

}  // namespace keel::app
