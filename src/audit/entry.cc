#include "audit/entry.h"

#include <chrono>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>

#include "core/sha256.h"

namespace keel::audit {

namespace {

void field(std::string& out, std::string_view v) {
  out += std::to_string(v.size());
  out += ':';
  out += v;
  out += '\n';
}

int64_t unixMillis(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string canonical(const Entry& e) {
  std::string out = "keel-audit-1\n";
  field(out, std::to_string(e.seq));
  field(out, std::to_string(unixMillis(e.at)));
  field(out, e.actor);
  field(out, e.action);
  field(out, e.target);
  field(out, e.reason);
  field(out, e.requestId);
  field(out, e.detailJson);
  return out;
}

std::string computeHash(const Entry& e) { return sha256Hex(canonical(e) + e.prevHash); }

Head seal(Entry& e, const Head& head) {
  e.at = WallTime(
      std::chrono::duration_cast<WallTime::duration>(std::chrono::milliseconds(unixMillis(e.at))));
  e.seq = head.seq + 1;
  e.prevHash = head.hash;
  e.hash = computeHash(e);
  return Head{e.seq, e.hash};
}

}  // namespace keel::audit
