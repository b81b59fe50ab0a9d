#include "exec/proc.h"

#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <unordered_map>

#include "exec/attempt_files.h"

namespace keel::exec {
namespace {

// The whole of a small /proc file; empty when it cannot be read.
std::string readSmallFile(const std::string& path, size_t cap) {
  auto text = attempt_files::readFileCapped(path, cap);
  return text.ok() ? std::move(*text) : std::string();
}

}  // namespace

std::optional<ProcStat> readProcStat(pid_t pid) {
  std::string text = readSmallFile("/proc/" + std::to_string(pid) + "/stat", 4096);
  // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt
  // cmajflt utime stime cutime cstime priority nice threads itrealvalue
  // starttime ...": comm may hold spaces and parentheses, so fields are
  // counted from the last ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return std::nullopt;
  std::vector<std::string_view> fields;
  std::string_view rest(text);
  rest.remove_prefix(close + 2);
  while (!rest.empty() && fields.size() < 20) {
    auto space = rest.find(' ');
    fields.push_back(rest.substr(0, space));
    if (space == std::string_view::npos) break;
    rest.remove_prefix(space + 1);
  }
  if (fields.size() < 20) return std::nullopt;
  auto num = [](std::string_view s) { return std::strtoull(std::string(s).c_str(), nullptr, 10); };
  ProcStat st;
  st.pid = pid;
  st.state = fields[0].empty() ? '?' : fields[0][0];
  st.ppid = static_cast<pid_t>(num(fields[1]));
  st.pgrp = static_cast<pid_t>(num(fields[2]));
  st.startTime = num(fields[19]);
  return st;
}

std::vector<ProcStat> listProcesses() {
  std::vector<ProcStat> out;
  DIR* dir = ::opendir("/proc");
  if (!dir) return out;
  while (dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    if (auto st = readProcStat(static_cast<pid_t>(pid))) out.push_back(*st);
  }
  ::closedir(dir);
  return out;
}

std::vector<pid_t> descendantsOf(pid_t root, const std::vector<ProcStat>& all) {
  std::unordered_multimap<pid_t, const ProcStat*> children;
  for (const auto& p : all) children.emplace(p.ppid, &p);
  std::vector<pid_t> out;
  std::vector<pid_t> todo{root};
  while (!todo.empty()) {
    pid_t parent = todo.back();
    todo.pop_back();
    auto [begin, end] = children.equal_range(parent);
    for (auto it = begin; it != end; ++it) {
      if (it->second->pid == root) continue;
      todo.push_back(it->second->pid);
      if (it->second->state != 'Z' && it->second->state != 'X') out.push_back(it->second->pid);
    }
  }
  return out;
}

bool environHasAll(pid_t pid, const std::vector<std::string>& entries) {
  std::string env = readSmallFile("/proc/" + std::to_string(pid) + "/environ", 4 << 20);
  if (env.empty()) return false;
  size_t found = 0;
  std::string_view rest(env);
  while (!rest.empty()) {
    auto nul = rest.find('\0');
    std::string_view entry = rest.substr(0, nul);
    if (std::find(entries.begin(), entries.end(), entry) != entries.end()) ++found;
    if (nul == std::string_view::npos) break;
    rest.remove_prefix(nul + 1);
  }
  return found >= entries.size();
}

}  // namespace keel::exec
