// Reading /proc: a process's parent, group and start time, the processes
// descended from one, and whether a process carries given environment
// entries. Internal to exec; used by the step supervisor (keel-shim) to
// find everything a step started, and by keel to find what is left of an
// attempt whose supervisor is gone. Linux only. Any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace keel::exec {

struct ProcStat {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t pgrp = 0;
  char state = '?';        // R, S, D, Z, ...
  uint64_t startTime = 0;  // clock ticks after boot: with pid, names one process
};

// Nullopt when the process does not exist (or its stat cannot be read).
std::optional<ProcStat> readProcStat(pid_t pid);

// Every process visible in /proc.
std::vector<ProcStat> listProcesses();

// The pids of every live (not zombie) process below `root` in the parent
// tree of `all`, children first.
std::vector<pid_t> descendantsOf(pid_t root, const std::vector<ProcStat>& all);

// True when the process's environment (as it was at its last exec) holds
// every one of `entries` ("NAME=value"), compared whole.
bool environHasAll(pid_t pid, const std::vector<std::string>& entries);

}  // namespace keel::exec
